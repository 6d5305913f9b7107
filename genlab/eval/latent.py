"""Latent-space quality: does a straight path between two digits stay among digits?

A path from digit a to digit b is decoded at S evenly spaced points (endpoints included) and
each point is classified. An intermediate point is "off" when the classifier is unsure
(top probability below `confidence`) or names a digit that is neither endpoint's label.
"""

import numpy as np


def path_quality(class_probs, labels_a, labels_b, confidence: float = 0.5) -> dict:
    """Returns the share of interpolation paths (and of their inner points) that leave the digits.

    class_probs: (P, S, C) classifier probabilities for P paths of S points each (endpoints
    included; only the S - 2 inner points are judged). labels_a, labels_b: (P,) the endpoints'
    true labels. Keys: "off_path_rate" (share of paths with at least one off point),
    "off_point_share", "unsure_point_share", "neither_point_share" (shares of inner points).
    """
    probs = np.asarray(class_probs, dtype=np.float64)
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    if probs.ndim != 3 or probs.shape[1] < 3 or labels_a.shape != (len(probs),) or labels_b.shape != labels_a.shape:
        raise ValueError(
            f"expected probs (P, S >= 3, C) and labels (P,), got {probs.shape}, {labels_a.shape}, {labels_b.shape}"
        )
    inner = probs[:, 1:-1]
    predicted = inner.argmax(axis=2)
    unsure = inner.max(axis=2) < confidence
    neither = (predicted != labels_a[:, None]) & (predicted != labels_b[:, None])
    off = unsure | neither
    return {
        "off_path_rate": float(off.any(axis=1).mean()),
        "off_point_share": float(off.mean()),
        "unsure_point_share": float(unsure.mean()),
        "neither_point_share": float(neither.mean()),
    }


def path_evenness(paths) -> float:
    """Returns the mean over paths of (largest step) / (mean step) in voxel space: 1.0 is perfectly even.

    paths: (P, S, ...) decoded grids. A path that jumps in one step from one digit to the
    other scores S - 1; a path that stands still scores 1 (steps of zero count as even).
    """
    paths = np.asarray(paths, dtype=np.float64)
    steps = np.sqrt((np.diff(paths.reshape(paths.shape[0], paths.shape[1], -1), axis=1) ** 2).sum(axis=2))
    mean_step = steps.mean(axis=1)
    ratio = np.where(mean_step > 0, steps.max(axis=1) / np.where(mean_step > 0, mean_step, 1), 1.0)
    return float(ratio.mean())
