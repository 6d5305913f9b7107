"""`python -m genlab evaluate | train-classifier | noise-study`: see add_parser."""

import argparse
import json
from pathlib import Path

from genlab import names, paths
from genlab.arguments import count
from genlab.eval.paper import in_paper_order


def add_parser(subparsers) -> None:
    """Registers the evaluation subcommands."""
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate models: the paper's tables, generation quality, latent space, cost; writes results/",
        description="Evaluates the twelve shipped models (or the checkpoints given) on a dataset's test split "
        "and writes evaluation.json, evaluation.csv, report.md and charts.",
    )
    p.add_argument("--checkpoints", nargs="+", type=Path, help="checkpoint files (default: weights/manifest.json)")
    p.add_argument("--dataset", default="mnist", help="dataset source for genlab.data.load_dataset (default: mnist)")
    p.add_argument("--dataset-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra load_dataset parameter, VALUE read as JSON where it parses (e.g. test_rotated=true)")
    p.add_argument("--out", type=Path, default=paths.RESULTS_DIR, help="output folder (default: results/)")
    p.add_argument("--classifier", type=Path, help="digit classifier file (default: weights/classifier.safetensors)")
    p.add_argument("--samples", type=count, default=1000, help="generated samples per set (default: 1000)")
    p.add_argument("--draws", type=count, default=None,
                   help="sets of samples drawn per Fréchet distance, which is their mean (default: as results/ "
                        "is made, EvalConfig.n_draws; 1 is quicker, but one set's FD moves a lot from seed to seed)")
    p.add_argument("--noise-study", type=Path, nargs="+", default=[],
                   help="include noise-study JSON files (from `genlab noise-study`) in the report")
    p.add_argument(
        "--threads", type=count, help="torch CPU threads (default: torch's; results depend on it in the last digits)"
    )
    p.set_defaults(func=run_evaluate)

    p = subparsers.add_parser("train-classifier", help="train the 3D digit classifier used by `evaluate`",
                              description="Trains the small 3D CNN that judges generated digits and saves it.")
    p.add_argument("--dataset", default="mnist", help="dataset source (default: mnist)")
    p.add_argument("--epochs", type=count, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=paths.WEIGHTS_DIR / "classifier.safetensors")
    p.add_argument("--threads", type=count, default=1, help="torch CPU threads (default: 1)")
    p.set_defaults(func=run_train_classifier)

    p = subparsers.add_parser(
        "noise-study",
        help="train clean and noisy twins of models with equal budgets and compare",
        description="Robustness to noisy data: trains each model on clean and on noisy inputs "
        "(clean targets) with the same short budget and scores both on clean and noisy test inputs.",
    )
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--kinds", nargs="+", default=list(names.KINDS), choices=names.KINDS)
    p.add_argument("--backbones", nargs="+", default=in_paper_order(names.BACKBONES), choices=names.BACKBONES)
    p.add_argument("--epochs", type=count, default=1)
    p.add_argument("--n-train", type=count, default=None, help="train on the first N training digits only")
    p.add_argument("--batch-size", type=count, default=64)
    p.add_argument("--variance", type=float, default=0.1)
    p.add_argument("--out", type=Path, default=paths.RESULTS_DIR / "noise_study.json")
    p.add_argument("--threads", type=count, default=1)
    p.set_defaults(func=run_noise_study)


def _checkpoints(args) -> list[Path]:
    if args.checkpoints:
        return list(args.checkpoints)
    from genlab.models import shipped_models

    return [Path(entry["path"]) for entry in shipped_models()]


def run_evaluate(args: argparse.Namespace) -> int:
    """Runs the evaluation and writes its files; returns 0."""
    import torch

    from genlab.data import load_dataset
    from genlab.eval import classifier, evaluate, report

    draws = evaluate.EvalConfig.n_draws if args.draws is None else args.draws
    checkpoints = _checkpoints(args)
    if not checkpoints:
        raise FileNotFoundError("no checkpoints given and weights/manifest.json lists none")
    for path in checkpoints:
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} not found")
    if args.threads:
        torch.set_num_threads(args.threads)
    from genlab.cli import key_values

    options = paths.dataset_options(args.dataset) | key_values(args.dataset_option, "--dataset-option")
    data = load_dataset(args.dataset, **options)
    judge = classifier.load_classifier(args.classifier)
    config = evaluate.EvalConfig(n_samples=args.samples, n_draws=draws)

    def progress(index, total, record):
        r = record["reconstruction"]
        print(
            f"[{index}/{total}] {report.model_name(record)}: BCE {r['bce']['mean']:.4f}  MSE {r['mse']['mean']:.4f}  "
            f"FD {record['generation']['fd']['value']:.2f}  ({record['timing']['evaluate_seconds']:.1f} s)",
            flush=True,
        )

    extra_tests = {}
    if args.dataset == "mnist" and not options.get("test_rotated"):
        # Score reconstructions of randomly rotated test digits too; they also join the real reference digits.
        from genlab.train.shipping import rotated_test_set

        extra_tests["rotated"] = (rotated_test_set(data), data.y_test)
    results = evaluate.evaluate(checkpoints, data, judge, config, on_model=progress, extra_tests=extra_tests)
    if args.noise_study:
        results["noise_studies"] = [json.loads(Path(path).read_text()) for path in args.noise_study]
    for path in report.write_results(results, args.out):
        print(f"wrote {path}")
    print(f"evaluation took {results['run']['seconds']:.1f} s")
    return 0


def run_train_classifier(args: argparse.Namespace) -> int:
    """Trains and saves the digit classifier; returns 0."""
    import torch

    from genlab.data import load_dataset
    from genlab.eval import classifier

    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset, **paths.dataset_options(args.dataset))
    model = classifier.train_classifier(
        data,
        epochs=args.epochs,
        seed=args.seed,
        on_progress=lambda p: p.epoch_end and print(
            f"epoch {p.epoch}/{p.epochs}: loss {p.metrics['train_loss']:.4f}  "
            f"test accuracy {p.metrics['test_accuracy']:.4f}", flush=True
        ),
    )
    path = classifier.save_classifier(model, args.out)
    print(f"wrote {path}: test accuracy {model.metadata['test_accuracy']:.4f}, {model.metadata['train_seconds']:.0f} s")
    return 0


def run_noise_study(args: argparse.Namespace) -> int:
    """Runs the clean-vs-noisy training study and writes its JSON; returns 0."""
    import torch

    from genlab.data import load_dataset
    from genlab.eval.noise import noise_study

    torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset)
    pairs = [(k, b) for k in args.kinds for b in args.backbones]

    def progress(row):
        print(f"{row['name']} ({row['trained_on']}): BCE clean {row['bce_clean_input']:.4f}  noisy "
              f"{row['bce_noisy_input']:.4f}  ({row['train_seconds']:.0f} s)", flush=True)

    study = noise_study(data, pairs, epochs=args.epochs, variance=args.variance, n_train=args.n_train,
                        batch_size=args.batch_size, on_model=progress)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(study, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0
