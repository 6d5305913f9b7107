"""The 3D digit classifier: shapes, learning, save/load round trip, clear errors."""

import json

import numpy as np
import pytest
import torch

from genlab.data import VoxelDataset
from genlab.eval import classifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def bars(n: int, seed: int) -> VoxelDataset:
    """Returns grids whose label (0..2) is the axis along which a 3x3 bar of voxels runs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    grids = np.zeros((n, 16, 16, 16), np.float32)
    for i, (label, (a, b)) in enumerate(zip(labels, rng.integers(2, 12, size=(n, 2)))):
        index = [slice(a, a + 3), slice(b, b + 3)]
        index.insert(label, slice(None))
        grids[i][tuple(index)] = 1.0
    return grids, labels


def tiny_data() -> VoxelDataset:
    return VoxelDataset(*bars(64, 0), *bars(32, 1), source="tiny")


def test_classify_returns_probabilities_and_features():
    model = classifier.DigitClassifier(width=4)
    probs, features = classifier.classify(model, np.random.default_rng(0).uniform(size=(5, 16, 16, 16)), batch_size=2)
    assert probs.shape == (5, 10) and features.shape == (5, classifier.FEATURE_DIM)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert (features >= 0).all()  # after a ReLU


def test_training_learns_a_separable_task_and_is_reproducible():
    data = tiny_data()
    seen = []
    model = classifier.train_classifier(
        data, epochs=5, batch_size=8, width=4, lr=1e-2, on_progress=lambda p: p.epoch_end and seen.append(p)
    )
    assert [s.epoch for s in seen] == [1, 2, 3, 4, 5]
    assert model.metadata["test_accuracy"] == seen[-1].metrics["test_accuracy"] > 0.9
    assert model.metadata["dataset"] == data.describe()
    assert model.metadata["dataset"]["n_train"] == 64
    again = classifier.train_classifier(data, epochs=5, batch_size=8, width=4, lr=1e-2)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_save_load_round_trip_reproduces_outputs(tmp_path):
    model = classifier.DigitClassifier(width=4)
    model.metadata = {"test_accuracy": 0.5, "dataset": {"source": "tiny"}}
    path = classifier.save_classifier(model, tmp_path / "c.safetensors")
    loaded = classifier.load_classifier(path)
    grids = np.random.default_rng(1).uniform(size=(3, 16, 16, 16))
    np.testing.assert_array_equal(classifier.classify(model, grids)[0], classifier.classify(loaded, grids)[0])
    assert loaded.metadata["test_accuracy"] == 0.5 and loaded.config["width"] == 4
    assert not loaded.training


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        classifier.load_classifier(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match="junk.safetensors"):
        classifier.load_classifier(junk)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"genlab": json.dumps({"format": "genlab-model"})})
    with pytest.raises(ValueError, match="foreign.safetensors is not a genlab digit classifier"):
        classifier.load_classifier(foreign)
    good = classifier.save_classifier(classifier.DigitClassifier(width=4), tmp_path / "good.safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated.safetensors"):
        classifier.load_classifier(truncated)


def test_shipped_classifier_is_accurate_if_present():
    if not classifier.SHIPPED_PATH.is_file():
        pytest.skip("weights/classifier.safetensors not trained yet")
    model = classifier.load_classifier()
    assert model.metadata["test_accuracy"] > 0.9
    assert classifier.SHIPPED_PATH.stat().st_size < 5_000_000
