"""Benchmark: voxelizing digits with the 3D MNIST procedure, and building the datasets.

    python -m benchmarks.bench_data [--repeats 3] [--digits 10000] [--builds]

Prints medians over the repeats (after one warm-up): wall and CPU seconds, samples/s and
peak traced memory for 10,000 digits at 16^3, canonical (bit-exact path) and randomly
rotated. The digits are the shared MNIST digits (repeated to reach --digits), or
synthetic ones where that folder is missing. --builds also times building the default
synthetic and mnist datasets from scratch (no cache).
"""

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc

import numpy as np

from genlab import paths
from genlab.data import voxelize_digits
from genlab.data.mnist import read_splits
from genlab.data.synthetic import synthetic_digits


def measure(step, repeats: int) -> dict:
    """Returns median wall and CPU seconds of step() and the peak traced memory (MB) of one call."""
    step()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "peak_mb": peak / 1e6}


def digits(count: int) -> tuple[np.ndarray, str]:
    """Returns uint8 digits (count, 28, 28) and where they came from."""
    try:
        images, _ = read_splits(paths.mnist_dir())["train"]
        where = f"MNIST training digits from {paths.mnist_dir() or 'the embedded set'}"
    except (FileNotFoundError, ValueError):
        images, _ = synthetic_digits(min(count, 2000))
        where = "synthetic digits"
    return np.resize(images, (count, 28, 28)), where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--digits", type=int, default=10_000)
    parser.add_argument("--builds", action="store_true", help="also time the default dataset builds")
    args = parser.parse_args()

    images, where = digits(args.digits)
    print(f"{len(images)} {where}, 16^3 grids, median of {args.repeats} runs")
    for name, step in (
        ("canonical", lambda: voxelize_digits(images)),
        ("rotated +-30 deg", lambda: voxelize_digits(images, rotate_deg=30, seed=1)),
    ):
        m = measure(step, args.repeats)
        print(f"{name:18s} wall {m['wall']:6.2f} s  cpu {m['cpu']:6.2f} s  "
              f"{len(images) / m['wall']:8.0f} samples/s (wall)  {len(images) / m['cpu']:8.0f} samples/s (cpu)  "
              f"peak {m['peak_mb']:6.0f} MB")
    print(f"max resident set size so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    if args.builds:
        from genlab.data import load_dataset

        with tempfile.TemporaryDirectory():
            for source in ("synthetic", "mnist"):
                wall, cpu = time.perf_counter(), time.process_time()
                data = load_dataset(source, cache=False)
                print(f"build {source:9s} {len(data.X_train)} train + {len(data.X_test)} test: "
                      f"wall {time.perf_counter() - wall:.1f} s, cpu {time.process_time() - cpu:.1f} s")


if __name__ == "__main__":
    main()
