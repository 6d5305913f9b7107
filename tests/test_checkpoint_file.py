"""genlab.checkpoint_file: the one reader and writer of weight files (models, classifier, the clock files)."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from genlab import checkpoint_file, paths
from genlab.checkpoint_file import CLASSIFIER, CLOCK_DETECTOR, CLOCK_READER, CLOCK_TWELVE, MODEL

SHIPPED = {"ae_fcn.safetensors": MODEL, "classifier.safetensors": CLASSIFIER,
           "clock_reader.safetensors": CLOCK_READER, "clock_detector.safetensors": CLOCK_DETECTOR,
           "clock_twelve.safetensors": CLOCK_TWELVE}


def test_round_trip_keeps_tensors_and_header(tmp_path):
    tensors = {"w": torch.arange(6.0).view(2, 3), "n": torch.tensor([3])}
    path = checkpoint_file.save(tmp_path / "x.safetensors", tensors, CLASSIFIER, {"config": {"width": 4}})
    read, header = checkpoint_file.read(path, CLASSIFIER)
    assert header == {"config": {"width": 4}, "format": "genlab-classifier", "format_version": 1}
    assert read.keys() == tensors.keys() and all(torch.equal(read[k], tensors[k]) for k in tensors)
    assert checkpoint_file.read_info(path, CLASSIFIER) == header


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_file_is_read_with_its_format(name):
    tensors, header = checkpoint_file.read(paths.WEIGHTS_DIR / name, SHIPPED[name])
    assert header["format"] == SHIPPED[name].name and header["format_version"] == 1 and tensors


def test_a_flat_clock_header_reads_as_json_values(tmp_path):
    """Clock files written before checkpoint_file keep flat string metadata; their values come back as JSON."""
    path = tmp_path / "old.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={
        "format": "genlab.clock.detector", "format_version": "1", "width": "12", "trained_on": '{"n": 5}'})
    header = checkpoint_file.read_info(path, CLOCK_DETECTOR)
    assert header == {"format": "genlab.clock.detector", "format_version": 1, "width": 12, "trained_on": {"n": 5}}


def test_the_wrong_format_a_newer_version_and_broken_files_are_refused_by_name(tmp_path):
    path = checkpoint_file.save(tmp_path / "model.safetensors", {"w": torch.zeros(2)}, MODEL, {})
    with pytest.raises(ValueError, match="model.safetensors is not a genlab clock reader .*'genlab-checkpoint'"):
        checkpoint_file.read(path, CLOCK_READER)
    future = tmp_path / "future.safetensors"
    save_file({"w": torch.zeros(2)}, str(future),
              metadata={"genlab": json.dumps({"format": "genlab-checkpoint", "format_version": 2})})
    with pytest.raises(ValueError, match="future.safetensors has genlab checkpoint format version 2; .* 1 to 1"):
        checkpoint_file.read(future, MODEL)
    corrupt = tmp_path / "corrupt.safetensors"
    save_file({"w": torch.zeros(2)}, str(corrupt), metadata={"genlab": "{not json"})
    with pytest.raises(ValueError, match="corrupt.safetensors has corrupt genlab metadata"):
        checkpoint_file.read_info(corrupt, MODEL)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="cut.safetensors is not a readable safetensors checkpoint"):
        checkpoint_file.read(cut, MODEL)
    with pytest.raises(FileNotFoundError, match="no genlab digit classifier at .*missing.safetensors"):
        checkpoint_file.read(tmp_path / "missing.safetensors", CLASSIFIER)


def test_reading_a_header_imports_no_torch():
    script = ("import sys; from genlab import checkpoint_file as c, paths\n"
              "h = c.read_info(paths.WEIGHTS_DIR / 'vae_gru.safetensors', c.MODEL)\n"
              "print(h['kind'], 'torch' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=paths.REPO_ROOT,
                         timeout=120)
    assert run.stdout.split() == ["vae", "False"], run.stderr
