"""Timing helper shared by the benchmark scripts."""

import statistics
import time


def median_seconds(step, repeats: int) -> float:
    """Returns the median wall time of step() in seconds over `repeats` calls, after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
