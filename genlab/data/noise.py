"""Gaussian noise corruption of voxel grids (the noisy-data experiments)."""

import numpy as np

NOISE_VARIANCE = 0.1  # the variance the noisy-data experiments use


def add_gaussian_noise(X, variance=NOISE_VARIANCE, seed=0) -> np.ndarray:
    """Returns float32 X + Gaussian noise of the given variance, clipped to [0, 1]; same shape.

    X: any array of voxel values in [0, 1], e.g. (N, 16, 16, 16). Seeded: the same seed
    gives the same noise.
    """
    if variance < 0:
        raise ValueError(f"noise variance must be >= 0, got {variance}")
    X = np.asarray(X, dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(variance), size=X.shape)
    return np.clip(X + noise.astype(np.float32), 0.0, 1.0)
