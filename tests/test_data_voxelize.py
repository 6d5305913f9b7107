"""The 3D MNIST procedure: bit-exact against the original pipeline, shapes, randomness."""

import numpy as np
import pytest

from genlab.data import GRID, read_idx, voxelize_digits
from genlab.data.voxelize import Z_LEVELS


def reference_cloud(image):
    """Returns the published procedure's point cloud (P, 3) of one digit, after step 3 (slow)."""
    padded = np.zeros((30, 30))
    padded[1:-1, 1:-1] = image
    five = np.linspace(-0.5, 0.5, 5)

    def face(x, y, z):
        return np.array(np.meshgrid(x, y, z)).T.reshape(-1, 3)

    parts = [face(five, five, 3), face(five, five, -3), face(-0.5, five, Z_LEVELS),
             face(0.5, five, Z_LEVELS), face(five, -0.5, Z_LEVELS), face(five, 0.5, Z_LEVELS)]
    cloud = []
    for x, y in np.transpose(np.nonzero(padded)):
        neighbours = [padded[x - 1, y], padded[x + 1, y], padded[x, y - 1], padded[x, y + 1]]
        chosen = [0, 1] + [2 + i for i, value in enumerate(neighbours) if not value]
        points = np.concatenate([parts[i] for i in chosen])
        points[:, 0] += x
        points[:, 1] += y
        cloud.append(points)
    cloud = np.concatenate(cloud)
    lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    axis = np.argmax(hi - lo)
    cloud = (cloud - lo[axis]) / (hi - lo)[axis]
    cloud -= np.mean(cloud, axis=0)
    c, s = np.cos(np.deg2rad(90)), np.sin(np.deg2rad(90))
    ry = np.array([[c, 0, -s, 0], [0, 1, 0, 0], [s, 0, c, 0], [0, 0, 0, 1]])
    return (np.c_[cloud, np.ones(len(cloud))] @ ry)[:, :3]


def reference_voxelize(image, n, cloud=None):
    """The published procedure written out point by point (slow), for a single digit."""
    cloud = reference_cloud(image) if cloud is None else cloud
    lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    pad = (hi - lo).max() - (hi - lo)
    edges = [np.linspace(lo[i] - pad[i] / 2, hi[i] + pad[i] / 2, n + 1) for i in range(3)]
    ix, iy, iz = (np.clip(np.searchsorted(edges[i], cloud[:, i]) - 1, 0, n - 1) for i in range(3))
    counts = np.bincount(iy + n * (ix + n * iz), minlength=n**3).astype(np.float64)
    return (counts / counts.max()).astype(np.float32)


@pytest.fixture(scope="module")
def mnist_digits(shared_data):
    return read_idx(shared_data / "mnist" / "digits-0-7999-images-idx3-ubyte.gz")


def test_reproduces_published_3dmnist_vectors_bit_for_bit(shared_data, mnist_digits):
    reference = np.load(shared_data / "3dmnist" / "voxelgrid8_t10k_0-999.npz")["X"]
    ours = voxelize_digits(mnist_digits[:1000], resolution=8).reshape(1000, -1)
    assert ours.dtype == np.float32 and reference.shape == ours.shape == (1000, 512)
    rows_equal = (ours == reference).all(axis=1)
    assert rows_equal.all(), f"rows differing: {np.flatnonzero(~rows_equal)[:20]}"


@pytest.mark.parametrize("resolution", [5, 16])
def test_matches_pointwise_procedure_at_other_resolutions(mnist_digits, resolution):
    digits = mnist_digits[1000:1012]
    ours = voxelize_digits(digits, resolution=resolution).reshape(len(digits), -1)
    expected = np.stack([reference_voxelize(digit, resolution) for digit in digits])
    np.testing.assert_array_equal(ours, expected)


def blob_digits(count=6, seed=0):
    """Returns uint8 (count, 28, 28) random blocky digits (no shared data needed)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for image in images:
        for _ in range(4):
            r, c = rng.integers(3, 22, size=2)
            image[r:r + rng.integers(2, 6), c:c + rng.integers(2, 6)] = rng.integers(1, 256)
    return images


def test_shape_range_and_default_grid():
    grids = voxelize_digits(blob_digits())
    assert grids.shape == (6, GRID, GRID, GRID) and grids.dtype == np.float32
    assert grids.min() == 0.0 and np.allclose(grids.max(axis=(1, 2, 3)), 1.0)


def test_matches_pointwise_procedure_on_odd_shapes():
    digits = blob_digits(8, seed=3)
    digits[0, 0, :] = 255  # ink on the border rows and columns
    digits[1, :, 27] = 7
    ours = voxelize_digits(digits, resolution=7).reshape(len(digits), -1)
    np.testing.assert_array_equal(ours, np.stack([reference_voxelize(d, 7) for d in digits]))


def test_random_rotation_is_seeded_and_changes_the_grid():
    digits = blob_digits()
    canonical = voxelize_digits(digits)
    a = voxelize_digits(digits, rotate_deg=30, seed=1)
    b = voxelize_digits(digits, rotate_deg=30, seed=1)
    c = voxelize_digits(digits, rotate_deg=30, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, canonical)
    assert a.shape == canonical.shape and a.min() >= 0 and np.allclose(a.max(axis=(1, 2, 3)), 1)


def test_small_rotations_stay_closer_to_canonical_than_large_ones():
    digits = blob_digits()
    canonical = voxelize_digits(digits)

    def similarity(degrees):
        rotated = voxelize_digits(digits, rotate_deg=degrees, seed=0)
        return np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(canonical, rotated)])

    # Even a tiny rotation moves points that sat exactly on bin edges, so not 1.0.
    assert similarity(1e-9) > 0.7 > similarity(5) > 0.3 > similarity(90)


def test_jitter_is_seeded():
    digits = blob_digits()
    a = voxelize_digits(digits, jitter=0.01, seed=4)
    np.testing.assert_array_equal(a, voxelize_digits(digits, jitter=0.01, seed=4))
    assert not np.array_equal(a, voxelize_digits(digits))


def test_rejects_wrong_shapes_and_empty_digits():
    with pytest.raises(ValueError, match="28, 28"):
        voxelize_digits(np.zeros((2, 20, 20), dtype=np.uint8))
    with pytest.raises(ValueError, match="no ink"):
        voxelize_digits(np.zeros((1, 28, 28), dtype=np.uint8))


def test_random_rotation_matches_rotating_the_point_cloud():
    from genlab.data.voxelize import rotation_matrices

    digits = blob_digits(4, seed=11)
    ours = voxelize_digits(digits, rotate_deg=40, seed=7).reshape(4, -1)
    angles = np.deg2rad(np.random.default_rng(7).uniform(-40, 40, size=(4, 3)))
    for digit, matrix, grid in zip(digits, rotation_matrices(angles), ours):
        expected = reference_voxelize(None, GRID, cloud=reference_cloud(digit) @ matrix.T)
        # float32 bin arithmetic may move the odd point sitting within 1e-6 of an edge
        assert np.abs(grid - expected).max() < 0.02 and (grid != expected).mean() < 0.01
