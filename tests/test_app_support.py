"""Package-side helpers of the app: checkpoint catalogue, uploads, latent tools (plain pytest)."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.app import catalogue, explore, files
from genlab.data import rotate
from genlab.models import build_model, save_model


class ToyDecoder:
    """A stand-in model whose voxels depend strongly on z[2], weakly on z[0], not on z[1]."""

    kind = "vae"
    latent_dim = 3
    code_density = None

    def decode(self, z):
        weights = torch.tensor([0.2, 0.0, 3.0])
        level = torch.sigmoid((z * weights).sum(dim=1))
        return level[:, None, None, None].expand(-1, 16, 16, 16)

    def generate(self, z):  # no output curve: grids shown as decoded
        return self.decode(z)

    def prior(self, n, generator=None):
        return torch.randn(n, self.latent_dim, generator=generator)


def png(size=(28, 28)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 0).save(buffer, format="PNG")
    return buffer.getvalue()


def test_trained_checkpoints_are_listed_and_broken_ones_come_last():
    runs = files.runs_dir()
    runs.mkdir(parents=True)
    save_model(build_model("ae", "fcn", latent_dim=4), runs / "mine.safetensors",
               {"dataset": {"source": "synthetic"}})
    (runs / "junk.safetensors").write_bytes(b"not a checkpoint")
    trained = [c for c in catalogue.list_checkpoints() if c["origin"] == "trained"]
    assert [c["name"] for c in trained] == ["mine", "junk"]
    assert (trained[0]["kind"], trained[0]["backbone"], trained[0]["latent_dim"]) == ("ae", "fcn", 4)
    assert trained[0]["dataset"] == "synthetic"
    assert "junk.safetensors is not a readable safetensors checkpoint" in trained[1]["error"]
    assert catalogue.checkpoint_label(trained[1]) == "junk (unreadable)"


def test_foreign_safetensors_file_is_not_a_genlab_checkpoint(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match="foreign.safetensors is not a genlab checkpoint"):
        catalogue.read_checkpoint_info(path)


def test_uploaded_image_checks():
    assert files.read_image_upload("ok.png", png()).size == (28, 28)
    with pytest.raises(ValueError, match="notes.png is not an image"):
        files.read_image_upload("notes.png", b"hello, not pixels")
    with pytest.raises(ValueError, match="big.png is 41.0 MB; images up to 40 MB are accepted"):
        files.read_image_upload("big.png", b"\0" * (41 * 2**20))
    with pytest.raises(ValueError, match="cut.png is a corrupt or truncated image"):
        files.read_image_upload("cut.png", png((200, 200))[:60])


def test_uploads_are_kept_inside_the_uploads_folder():
    path = files.save_upload("../../etc/evil name.h5", b"data")
    assert path.parent == files.uploads_dir()
    assert path.name.endswith("-evil_name.h5") and path.read_bytes() == b"data"
    assert files.save_upload("other.h5", b"data").read_bytes() == b"data"


def test_the_app_starts_on_real_mnist_and_checks_folders_for_both_splits(monkeypatch, tmp_path):
    monkeypatch.delenv("GENLAB_MNIST_DIR", raising=False)
    monkeypatch.delenv("GENLAB_APP_DATASET", raising=False)
    choice = catalogue.default_dataset_choice()
    assert choice == {"source": "mnist", "params": {}}
    assert catalogue.dataset_title(choice) == "Real MNIST digits (embedded in genlab)"
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")
    assert not catalogue.mnist_available(folder)        # no training digits
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    assert catalogue.mnist_available(folder) and not catalogue.mnist_available(tmp_path / "nowhere")
    monkeypatch.setenv("GENLAB_MNIST_DIR", str(folder))
    assert catalogue.dataset_title(catalogue.default_dataset_choice()) == f"Real MNIST digits from {folder}"
    monkeypatch.setenv("GENLAB_APP_DATASET", "synthetic")
    assert catalogue.default_dataset_choice() == {"source": "synthetic", "params": {}}


def test_rotate_grid_keeps_shape_and_range_and_zero_degrees_is_identity():
    grid = np.zeros((16, 16, 16), np.float32)
    grid[4:12, 7:9, 6:10] = 1.0
    assert np.allclose(rotate.rotate_grid(grid, 0.0), grid)
    turned = rotate.rotate_grid(grid, 45.0, seed=3)
    assert turned.shape == grid.shape and 0.0 <= turned.min() and turned.max() <= 1.0
    assert not np.allclose(turned, grid)


def test_rank_dimensions_puts_the_most_influential_first():
    assert explore.rank_dimensions(ToyDecoder(), np.zeros(3, np.float32)).tolist() == [2, 0, 1]


def test_interpolation_paths():
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    linear = explore.interpolate_latents(a, b, 5, "linear")
    assert linear.shape == (5, 2)
    assert np.allclose(linear[0], a) and np.allclose(linear[-1], b) and np.allclose(linear[2], [0.5, 0.5])
    spherical = explore.interpolate_latents(a, b, 5, "spherical")
    assert np.allclose(np.linalg.norm(spherical, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="interpolation mode"):
        explore.interpolate_latents(a, b, 5, "cubic")
    with pytest.raises(ValueError, match="at least 2 steps"):
        explore.interpolate_latents(a, b, 1)


def test_slider_ranges_cover_the_latents_seen():
    low, high = explore.slider_ranges(np.array([[0.5, -7.0], [1.0, 2.0]]))
    assert high.tolist() == [3.0, 9.0] and low.tolist() == [-3.0, -9.0]


def test_ae_samples_follow_the_encoded_digits():
    model = ToyDecoder()
    model.kind = "ae"
    reference = np.random.default_rng(0).normal([5.0, -2.0, 0.0], [0.1, 2.0, 1.0], size=(4000, 3))
    z = explore.sample_latents(model, 4000, seed=1, reference=reference)
    assert np.allclose(z.mean(axis=0), [5.0, -2.0, 0.0], atol=0.1)
    assert np.allclose(z.std(axis=0), [0.1, 2.0, 1.0], rtol=0.1)
    assert np.array_equal(explore.sample_latents(model, 4000, seed=1, reference=reference), z)


def test_decode_and_encode_round_shapes():
    model = build_model("vae", "fcn", latent_dim=4).eval()
    grids = np.random.default_rng(0).random((2, 16, 16, 16), dtype=np.float32)
    z = explore.encode(model, grids)
    assert z.shape == (2, 4) and explore.encode(model, grids[0]).shape == (4,)
    decoded = explore.decode(model, z)
    assert decoded.shape == (2, 16, 16, 16) and explore.decode(model, z[0]).shape == (16, 16, 16)
    assert 0.0 <= decoded.min() and decoded.max() <= 1.0


def test_parse_latent_round_trip_and_errors():
    assert explore.parse_latent("[0.5, -1, 2.25]", 3).tolist() == [0.5, -1.0, 2.25]
    with pytest.raises(ValueError, match="has 3 latent dimensions; the list has 2"):
        explore.parse_latent("[1, 2]", 3)
    with pytest.raises(ValueError, match="JSON list of numbers"):
        explore.parse_latent("hello", 3)
    with pytest.raises(ValueError, match="JSON list of numbers"):
        explore.parse_latent('[1, "a", 2]', 3)
    with pytest.raises(ValueError, match="non-finite"):
        explore.parse_latent("[1, 2, 1e999]", 3)


def test_shipped_checkpoints_come_first_with_their_test_metrics(monkeypatch, tmp_path):
    from genlab import paths
    from genlab.train.shipping import write_manifest

    save_model(build_model("vae", "gru", latent_dim=4, hidden=8), tmp_path / "vae_gru.safetensors",
               {"dataset": {"source": "mnist"}, "metrics": {"canonical": {"bce": 0.11, "mse": 0.007}},
                "training": {"best_val_loss": 0.12}})
    write_manifest(tmp_path)
    monkeypatch.setattr(paths, "WEIGHTS_DIR", tmp_path)
    files.runs_dir().mkdir(parents=True)
    save_model(build_model("ae", "fcn", latent_dim=4), files.runs_dir() / "mine.safetensors", {})
    entries = catalogue.list_checkpoints()
    assert [(e["name"], e["origin"]) for e in entries] == [("vae_gru", "shipped"), ("mine", "trained")]
    rows = catalogue.checkpoint_rows(entries)
    assert rows[0] == {"name": "vae_gru", "origin": "shipped", "kind": "VAE", "backbone": "GRU",
                       "latent dim": 4, "trained on": "MNIST", "validation loss": "0.1200", "test BCE": "0.1100",
                       "test MSE": "0.0070", "status": "ready"}
    assert rows[1]["test BCE"] == "–" and rows[1]["trained on"] == "–"   # nothing recorded: a dash, not "None"


def test_the_checkpoint_table_shows_every_cell_literally_with_header_tooltips():
    rows = [{"name": "a|b<img src=x onerror=alert(1)>*c*", "test BCE": "0.1100", "latent dim": None},
            {"name": "ae_fcn", "test BCE": "–", "latent dim": 32}]
    table = catalogue.html_table(rows, {"test BCE": 'the "test" digits'})
    assert '<th>name</th><th><abbr title="the &quot;test&quot; digits">test BCE</abbr></th><th>latent dim</th>' in table
    # the tag is text, None is a dash
    assert "<tr><td>a|b&lt;img src=x onerror=alert(1)&gt;*c*</td><td>0.1100</td><td>–</td></tr>" in table
    assert "<tr><td>ae_fcn</td><td>–</td><td>32</td></tr>" in table
    assert "\n\n" not in table            # one HTML block: Markdown ends a block at a blank line
    assert catalogue.html_table([]) == ""


def test_a_cancelled_run_is_not_listed_as_ready():
    files.runs_dir().mkdir(parents=True)
    save_model(build_model("ae", "fcn", latent_dim=4), files.runs_dir() / "stopped.safetensors",
               {"training": {"cancelled": True, "best_val_loss": 0.2}})
    (row,) = catalogue.checkpoint_rows([e for e in catalogue.list_checkpoints() if e["origin"] == "trained"])
    assert row["status"] == "cancelled (kept)" and row["validation loss"] == "0.2000"


def test_the_shipped_weights_earlier_split_is_named():
    entries = [{"name": "ae_fcn", "origin": "shipped", "fingerprint": next(iter(catalogue.EARLIER_SPLITS))},
               {"name": "mine", "origin": "trained", "fingerprint": "0123"}]
    assert catalogue.earlier_split_note(entries).startswith(
        "The shipped models were trained and tested on an earlier split"
    )
    assert catalogue.earlier_split_note(entries[1:]) == ""
    earlier = next(iter(catalogue.EARLIER_SPLITS))
    heir = {"name": "gan_fcn", "origin": "shipped", "fingerprint": "73c1", "init_fingerprints": [earlier]}
    note = catalogue.earlier_split_note([entries[0], heir])
    assert note.startswith("ae_fcn was trained and tested on an earlier split")
    assert note.endswith("gan_fcn was fine-tuned on the current split from weights trained on that earlier one, "
                         "which saw its test digits.")


def test_earlier_split_warning_names_models_whose_weights_saw_the_earlier_split():
    from genlab.app import tables

    earlier = next(iter(catalogue.EARLIER_SPLITS))

    def record(kind, fingerprint, donors):
        return {"kind": kind, "backbone": "fcn",
                "trained_on": {"fingerprint": fingerprint, "init_fingerprints": donors}}

    clean = {"models": [record("ae", "73c1b881ab7ae752", [])]}
    assert tables.earlier_split_warning(clean) == ""
    mixed = {"models": [record("ae", earlier, []), record("vae", "73c1b881ab7ae752", []),
                        record("gan", "73c1b881ab7ae752", [earlier])]}   # the GAN only warm-started from it
    warning = tables.earlier_split_warning(mixed)
    assert warning.startswith("ae_fcn, gan_fcn were trained on, or warm-started from")
    assert catalogue.EARLIER_SPLITS[earlier] in warning and "vae_fcn" not in warning
    assert tables.earlier_split_warning({"models": [record("ae", earlier, [])]}).startswith("Every model here was")
    assert tables.earlier_split_warning({"models": [{"kind": "ae", "backbone": "fcn"}]}) == ""   # old results


def test_test_digit_choices_offer_only_evaluations_that_exist(monkeypatch, tmp_path):
    from genlab import paths
    from genlab.app import tables

    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path)
    assert tables.test_digit_choices() == ["standard"]
    assert tables.evaluation("unseen") is None and tables.evaluation() is None
    (tmp_path / "unseen").mkdir()
    (tmp_path / "unseen" / "evaluation.json").write_text('{"format": "genlab-evaluation", "models": []}')
    assert tables.test_digit_choices() == ["standard", "unseen"]
    assert tables.evaluation("unseen") == {"format": "genlab-evaluation", "models": []}


def test_computed_results_are_made_once_per_key_and_read_only():
    from genlab.app import state

    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32)

    first = state.computed("test-computed:a", compute)
    again = state.computed("test-computed:a", compute)
    other = state.computed("test-computed:b", lambda: np.zeros(2))
    assert again is first and len(calls) == 1           # a second visitor gets the first one's array
    assert other.shape == (2,)
    with pytest.raises(ValueError):
        first[0] = 5.0                                  # shared by every session: nobody may change it
    assert first.tolist() == [0, 1, 2, 3, 4, 5]
