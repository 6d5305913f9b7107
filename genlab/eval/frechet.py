"""Fréchet distance between two sets of feature vectors, each summarised by a Gaussian.

    FD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)

The cross term uses the symmetric product S1^1/2 S2 S1^1/2 (same eigenvalues as S1 S2, but
symmetric, so `eigh` applies and the result is real). Only eigendecompositions of symmetric
matrices in float64 are used; tiny negative eigenvalues from rounding are clipped to zero.
"""

import numpy as np


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Returns the mean (D,) and covariance (D, D) of features (N, D), in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must have shape (N >= 2, D), got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Returns the symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance_from_stats(mu1, cov1, mu2, cov2) -> float:
    """Returns the Fréchet distance between N(mu1, cov1) and N(mu2, cov2)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched shapes: mu {mu1.shape} {mu2.shape}, cov {cov1.shape} {cov2.shape}")
    root1 = _sqrt_psd(cov1)
    cross = root1 @ cov2 @ root1
    trace_cross_root = np.sqrt(np.clip(np.linalg.eigvalsh((cross + cross.T) / 2), 0, None)).sum()
    distance = ((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * trace_cross_root
    return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical sets


def frechet_distance(features_a, features_b) -> float:
    """Returns the Fréchet distance between two feature sets (N, D) and (M, D)."""
    return frechet_distance_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))
