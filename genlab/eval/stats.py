"""Bootstrap confidence intervals and summaries of predicted label distributions."""

import numpy as np

LEVEL = 0.95  # confidence level of every interval genlab reports


def bootstrap_mean_ci(values, n_boot: int = 1000, level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """Returns the (low, high) percentile-bootstrap interval of the mean of values (N,)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    return _percentiles(means, level)


def bootstrap_ci(statistic, samples: list, n_boot: int = 200, level: float = LEVEL, seed: int = 0,
                 recentre: bool = False) -> tuple[float, float]:
    """Returns the (low, high) bootstrap interval of statistic(*samples), resampling each array's rows.

    For statistics of whole sets (e.g. the Fréchet distance of real vs generated features),
    each bootstrap round resamples every array independently, with replacement. recentre=True
    shifts the interval so the bootstrap median sits on the statistic itself: use it for set
    statistics that resampling biases (duplicated points alone inflate a Fréchet distance),
    keeping the bootstrap's spread but not its bias.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(s) for s in samples]
    values = np.asarray([
        statistic(*(a[rng.integers(0, len(a), size=len(a))] for a in arrays)) for _ in range(n_boot)
    ], dtype=np.float64)
    low, high = _percentiles(values, level)
    if recentre:
        shift = float(np.median(values)) - float(statistic(*arrays))
        low, high = low - shift, high - shift
    return low, high


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def label_distribution(labels, n_classes: int = 10) -> dict:
    """Returns how predicted labels (N,) spread over the classes.

    Keys: "shares" (n_classes floats summing to 1), "entropy_bits" (log2(n_classes) when
    uniform, 0 when one class takes all), "top_label" and "top_share" (the most frequent class
    and its share: a model that only draws 1s shows top_label 1, top_share 1.0).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes - 1}], got {labels.min()}..{labels.max()}")
    shares = np.bincount(labels, minlength=n_classes) / len(labels)
    nonzero = shares[shares > 0]
    return {
        "shares": [float(s) for s in shares],
        "entropy_bits": float(-(nonzero * np.log2(nonzero)).sum()) + 0.0,  # + 0.0: no "-0.0"
        "top_label": int(shares.argmax()),
        "top_share": float(shares.max()),
    }
