"""Benchmark: the evaluation's costs: Fréchet distance, PRDC, classifier features, the full evaluation.

    python -m benchmarks.bench_eval [--repeats 5] [--full] [--threads 2]

Prints medians. FD and PRDC are timed on random features at the sizes the evaluation uses
(1,000 real vs 1,000 generated, 64-dimensional classifier features) and larger ones. --full
also times `python -m genlab evaluate`'s work (genlab.eval.evaluate.evaluate) on the shipped
checkpoints and the mnist test split, once (it takes minutes), without writing results/.
"""

import argparse
import time

import numpy as np
import torch

from genlab.eval import frechet, prdc, stats
from genlab.timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also time the full evaluation of the shipped models")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    print(f"{'computation':<52} {'median':>10}")
    for n, d in ((1000, 64), (5000, 64), (1000, 512), (10000, 64)):
        a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.1
        print(
            f"{f'Fréchet distance, {n} vs {n}, D={d}':<52} "
            f"{median_seconds(lambda: frechet.frechet_distance(a, b), args.repeats) * 1e3:>8.1f} ms"
        )
    a, b = rng.normal(size=(1000, 64)), rng.normal(size=(1000, 64))
    print(f"{'FD bootstrap CI, 200 rounds, 1000 vs 1000, D=64':<52} "
          f"{median_seconds(lambda: stats.bootstrap_ci(frechet.frechet_distance, [a, b], n_boot=200), 1):>8.2f} s")
    for n, d in ((1000, 64), (5000, 64)):
        a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.1
        print(
            f"{f'PRDC k=5, {n} vs {n}, D={d}':<52} "
            f"{median_seconds(lambda: prdc.prdc(a, b, k=5), args.repeats) * 1e3:>8.1f} ms"
        )

    from genlab.eval import classifier

    model = classifier.load_classifier() if classifier.SHIPPED_PATH.is_file() else classifier.DigitClassifier()
    grids = rng.uniform(size=(1000, 16, 16, 16)).astype(np.float32)
    print(f"{'classifier probabilities + features, 1000 grids':<52} "
          f"{median_seconds(lambda: classifier.classify(model, grids), args.repeats) * 1e3:>8.1f} ms")

    if args.full:
        from genlab.data import load_dataset
        from genlab.eval.evaluate import evaluate
        from genlab.models import shipped_models

        checkpoints = [entry["path"] for entry in shipped_models()]
        data = load_dataset("mnist")
        start = time.perf_counter()
        results = evaluate(checkpoints, data, classifier.load_classifier())
        total = time.perf_counter() - start
        for m in results["models"]:
            print(f"{'evaluate ' + m['checkpoint']['name']:<52} {m['timing']['evaluate_seconds']:>8.1f} s")
        print(f"{f'full evaluation, {len(checkpoints)} models, {len(data.X_test)} test digits':<52} {total:>8.1f} s")


if __name__ == "__main__":
    main()
