"""Random rotations of voxel grids, as the rotated training copies have them (a preview for the Data page)."""

import numpy as np


def rotate_grid(grid, max_degrees: float, seed: int = 0) -> np.ndarray:
    """Returns grid (16, 16, 16) turned by random angles in [-max_degrees, max_degrees] about each axis.

    A preview of what randomly rotated training copies look like (nearest-voxel resampling,
    which keeps the voxels' own values rather than blurring them).
    """
    from scipy import ndimage

    angles = np.random.default_rng(seed).uniform(-max_degrees, max_degrees, size=3)
    rotated = np.asarray(grid, dtype=np.float32)
    for angle, plane in zip(angles, [(1, 2), (0, 2), (0, 1)]):
        rotated = ndimage.rotate(rotated, angle, axes=plane, reshape=False, order=0, mode="constant")
    return np.clip(rotated, 0.0, 1.0)
