"""Shared test fixtures."""

import pytest

from genlab import paths


@pytest.fixture(scope="session")
def shared_data():
    """Returns ../shared/data, or skips the test where that folder is missing."""
    folder = paths.shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} is missing")
    return folder


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Points genlab's dataset cache at a per-test folder so tests never share state."""
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def one_torch_thread():
    """Runs a test on one torch thread: tiny models run fastest so, above all on a shared CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def damage_checkpoint():
    """Returns damage(path, change): rewrites a safetensors checkpoint after change(tensors) edits its tensors in place,
    metadata kept."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    def damage(path, change) -> None:
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata()
        tensors = load_file(str(path))
        change(tensors)
        save_file(tensors, str(path), metadata=metadata)

    return damage
