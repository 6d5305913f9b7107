"""The shipped models judged on digits none of their weights has seen: MNIST t10k digits 7000..7999.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.eval_unseen [--out results/unseen] [--checkpoints ...] [--threads 1]

The standard evaluation (`python -m genlab evaluate`, results/) tests on t10k digits 0..999. The
shipped AEs and VAEs were trained on an earlier split, t10k digits 0..6999, and the GANs were
fine-tuned from those weights, so their figures there are on digits they were trained on. Digits
7000..7999 were that split's own test digits: no shipped network was trained on them, and the
networks trained on MNIST's training digits never see t10k digits at all. This script runs the
same evaluation (genlab.eval.evaluate, same classifier, samples and seeds) with those 1,000
digits as the test split and the reference (canonical, and the same digits rotated, mixed as
the training split mixes them), and writes evaluation.json, report.md and the rest to --out.
It needs MNIST's t10k digits (../shared/data/mnist or GENLAB_MNIST_DIR); the embedded digits
hold training digits only.
"""

import argparse
from pathlib import Path

FIRST, COUNT = 7000, 1000  # the unseen t10k digits


def unseen_dataset():
    """Returns (the mnist VoxelDataset whose test split is t10k digits FIRST..FIRST+COUNT-1, the same
    digits rotated as load_dataset rotates test digits)."""
    from genlab import paths
    from genlab.data import load_dataset
    from genlab.data.dataset import VoxelDataset
    from genlab.train.shipping import rotated_test_set

    options = paths.dataset_options("mnist")
    if not options:
        raise SystemExit("error: MNIST's t10k digits are needed: put them in ../shared/data/mnist or set "
                         "GENLAB_MNIST_DIR")
    end = FIRST + COUNT
    full = load_dataset("mnist", **options, n_test=end)
    rotated = rotated_test_set(full)
    params = {**full.params, "n_test": COUNT, "test_digits": f"t10k {FIRST}..{end - 1}"}
    data = VoxelDataset(full.X_train, full.y_train, full.X_test[FIRST:], full.y_test[FIRST:], "mnist", params)
    return data, rotated[FIRST:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", type=Path, help="default: the shipped models")
    parser.add_argument("--out", type=Path, default=Path("results/unseen"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from genlab.eval import classifier, evaluate, report
    from genlab.models import shipped_models

    torch.set_num_threads(args.threads)
    checkpoints = args.checkpoints or [Path(entry["path"]) for entry in shipped_models()]
    data, rotated = unseen_dataset()
    results = evaluate.evaluate(
        checkpoints, data, classifier.load_classifier(), evaluate.EvalConfig(),
        extra_tests={"rotated": (rotated, data.y_test)},
        on_model=lambda index, total, record: print(
            f"[{index}/{total}] {report.model_name(record)}: BCE {record['reconstruction']['bce']['mean']:.4f}  "
            f"FD {record['generation']['fd']['value']:.2f}", flush=True))
    results["command"] = "python -m benchmarks.eval_unseen"
    for path in report.write_results(results, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
