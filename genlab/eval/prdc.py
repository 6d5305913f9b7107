"""Precision, recall, density and coverage of generated samples (Naeem et al., ICML 2020).

Each real sample gets a ball whose radius is the distance to its k-th nearest real neighbour
(likewise for fake samples, for recall). With distances d(real i, fake j):

- precision: share of fakes inside at least one real ball (fidelity),
- recall:    share of reals inside at least one fake ball (diversity),
- density:   mean number of real balls holding each fake, divided by k (can exceed 1),
- coverage:  share of real balls that hold at least one fake.

Strict `<` as in the authors' reference code (clovaai/generative-evaluation-prdc). Everything is
computed from whole distance matrices: no Python loops over pairs.
"""

import numpy as np


def pairwise_distances(a, b) -> np.ndarray:
    """Returns Euclidean distances (N, M) between rows of a (N, D) and b (M, D), in float64."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(squared, 0, None))


def kth_neighbour_radii(features, k: int) -> np.ndarray:
    """Returns each row's distance (N,) to its k-th nearest other row."""
    if not 1 <= k < len(features):
        raise ValueError(f"k must be in [1, {len(features) - 1}] for {len(features)} samples, got {k}")
    distances = pairwise_distances(features, features)
    # Index k, not k - 1: the smallest distance of every row is its own, zero.
    return np.partition(distances, k, axis=1)[:, k]


def prdc_per_sample(real, fake, k: int = 5) -> dict:
    """Returns the per-sample terms whose means are PRDC.

    Keys: "precision" (M,) bool, "density" (M,) float, for each fake; "recall" (N,) bool,
    "coverage" (N,) bool, for each real. Bootstrap over these for confidence intervals.
    """
    real_radii = kth_neighbour_radii(real, k)
    fake_radii = kth_neighbour_radii(fake, k)
    distances = pairwise_distances(real, fake)  # (N real, M fake)
    inside_real_ball = distances < real_radii[:, None]
    return {
        "precision": inside_real_ball.any(axis=0),
        "density": inside_real_ball.sum(axis=0) / k,
        "recall": (distances < fake_radii[None, :]).any(axis=1),
        "coverage": distances.min(axis=1) < real_radii,
    }


def prdc(real, fake, k: int = 5) -> dict:
    """Returns {"precision", "recall", "density", "coverage"} of fake (M, D) against real (N, D)."""
    terms = prdc_per_sample(real, fake, k)
    return {name: float(terms[name].mean()) for name in ("precision", "recall", "density", "coverage")}
