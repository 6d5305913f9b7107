"""genlab.app.explore beyond the basics: principal directions and the nearest training digit."""

from types import SimpleNamespace

import numpy as np
import pytest

from genlab.app import explore
from genlab.data import VoxelDataset
from genlab.models import build_model


def spread_codes(n: int = 2000, seed: int = 0) -> np.ndarray:
    """Returns codes (n, 4) spread mostly along (1, 1, 0, 0), then along axis 3, little elsewhere."""
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(n, 4)) * np.array([0.1, 0.1, 0.2, 1.0])
    codes += rng.normal(size=(n, 1)) * 3.0 * np.array([1, 1, 0, 0]) / np.sqrt(2)
    return codes.astype(np.float32)


def test_principal_directions_are_orthonormal_and_ordered_by_variance():
    model = SimpleNamespace(latent_dim=4)
    codes = spread_codes()
    directions = explore.principal_directions(model, codes, k=4)
    assert directions.shape == (4, 4) and directions.dtype == np.float32
    np.testing.assert_allclose(directions @ directions.T, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(directions[0], np.array([1, 1, 0, 0]) / np.sqrt(2), atol=0.02)
    np.testing.assert_allclose(np.abs(directions[1]), [0, 0, 0, 1], atol=0.02)
    scales = explore.direction_scales(codes, directions)
    assert np.all(np.diff(scales) <= 0)                   # largest variance first
    np.testing.assert_allclose(scales[0], 3.0, rtol=0.05)
    assert explore.principal_directions(model, codes, k=2).shape == (2, 4)


def test_principal_directions_encode_grids_and_reject_bad_input():
    model = build_model("ae", "fcn", latent_dim=6).eval()
    grids = np.random.default_rng(0).random((10, 16, 16, 16), dtype=np.float32)
    directions = explore.principal_directions(model, grids, k=3)
    assert directions.shape == (3, 6)
    np.testing.assert_allclose(directions @ directions.T, np.eye(3), atol=1e-5)
    with pytest.raises(ValueError, match="6 latent dimensions"):
        explore.principal_directions(model, grids, k=7)
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        explore.principal_directions(model, np.zeros((10, 5)), k=2)


def test_moving_along_a_direction_moves_that_many_standard_deviations():
    codes = spread_codes()
    directions = explore.principal_directions(SimpleNamespace(latent_dim=4), codes, k=2)
    scales = explore.direction_scales(codes, directions)
    z = np.zeros(4, np.float32)
    moved = explore.move_along(z, directions, scales, [2.0, 0.0])
    np.testing.assert_allclose(moved, 2.0 * scales[0] * directions[0], rtol=1e-5)
    np.testing.assert_allclose(explore.move_along(z, directions, scales, [0.0, 0.0]), z)


def dataset_of(X_train: np.ndarray) -> VoxelDataset:
    X_train = X_train.astype(np.float32)
    return VoxelDataset(X_train, np.arange(len(X_train)) % 10, X_train[:2], np.zeros(2, np.int64),
                        source="test")


def test_nearest_training_digit_of_a_training_digit_is_itself():
    X = np.random.default_rng(1).random((300, 16, 16, 16), dtype=np.float32)
    dataset = dataset_of(X)
    index, distance = explore.nearest_training(X[123], dataset)
    assert index.tolist() == [123] and distance.tolist() == [0.0]
    indices, distances = explore.nearest_training(X[[5, 7, 9]], dataset, k=3)
    assert indices.shape == distances.shape == (3, 3)
    assert indices[:, 0].tolist() == [5, 7, 9] and np.all(distances[:, 0] == 0)
    assert np.all(np.diff(distances, axis=1) >= 0)
    brute = ((X.reshape(300, -1) - X[5].reshape(-1)) ** 2).mean(axis=1)
    assert indices[0].tolist() == np.argsort(brute, kind="stable")[:3].tolist()
    np.testing.assert_allclose(distances[0], np.sort(brute)[:3], rtol=1e-5)


def test_nearest_training_breaks_ties_by_the_lower_index():
    X = np.zeros((6, 16, 16, 16), np.float32)
    X[1] = X[3] = X[4] = 0.5         # three equal digits
    X[5, 0, 0, 0] = 1.0
    indices, distances = explore.nearest_training(np.full((16, 16, 16), 0.5), dataset_of(X), k=3)
    assert indices.tolist() == [1, 3, 4] and distances.tolist() == [0.0, 0.0, 0.0]
    index, distance = explore.nearest_training(np.zeros((16, 16, 16)), dataset_of(X), k=2)
    assert index.tolist() == [0, 2] and distance.tolist() == [0.0, 0.0]


def test_nearest_training_rejects_a_bad_k():
    dataset = dataset_of(np.zeros((3, 16, 16, 16)))
    with pytest.raises(ValueError, match="between 1 and the 3 training digits"):
        explore.nearest_training(np.zeros((16, 16, 16)), dataset, k=4)
