"""Reconstruction metrics over voxel grids: the paper's BCE and MSE, plus IoU and reference floors.

All functions take arrays of shape (N, 16, 16, 16) (any trailing shape works) with values in
[0, 1] and return per-sample values of shape (N,); average them for the table figure.
"""

import numpy as np

EPS = 1e-7  # probabilities are clamped to [EPS, 1 - EPS] before taking logs, as the paper does


def _flat(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def bce(targets, probs) -> np.ndarray:
    """Returns each sample's mean binary cross-entropy between soft targets and probabilities."""
    t, p = _flat(targets), np.clip(_flat(probs), EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log1p(-p)).mean(axis=1)


def mse(targets, probs) -> np.ndarray:
    """Returns each sample's mean squared error."""
    return ((_flat(targets) - _flat(probs)) ** 2).mean(axis=1)


def iou(targets, probs, threshold: float = 0.5) -> np.ndarray:
    """Returns each sample's intersection over union of the grids thresholded at `threshold`.

    Two empty grids agree perfectly, so their IoU is 1.
    """
    a, b = _flat(targets) >= threshold, _flat(probs) >= threshold
    inter = (a & b).sum(axis=1)
    union = (a | b).sum(axis=1)
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def bce_floor(targets) -> np.ndarray:
    """Returns each sample's lowest reachable BCE: the entropy of its own soft voxels."""
    return bce(targets, targets)


def mean_voxel_baseline(train, targets) -> dict:
    """Returns BCE and MSE of predicting every test voxel by its training-set mean."""
    mean = _flat(train).mean(axis=0, keepdims=True)
    pred = np.broadcast_to(mean, _flat(targets).shape)
    return {"bce": float(bce(targets, pred).mean()), "mse": float(mse(targets, pred).mean())}
