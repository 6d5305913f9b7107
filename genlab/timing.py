"""Median wall time of a call: what the evaluation and the benchmark scripts quote (machines are shared and noisy)."""

import statistics
import time


def median_seconds(step, repeats: int, warmup: int = 1) -> float:
    """Returns the median wall time of step() in seconds over `repeats` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
