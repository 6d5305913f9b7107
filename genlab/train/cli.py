"""`python -m genlab train`: train one model, or every kind on every backbone, with a progress bar.

    python -m genlab train --kind vae --backbone gru --epochs 10 --dataset mnist --out runs/vae_gru.safetensors
    python -m genlab train --all --chain --dataset mnist --out weights/  # all models, then weights/manifest.json
    python -m genlab train --manifest --out weights/                     # only rebuild the manifest
    python -m genlab train --fit-samplers weights/*.safetensors --dataset mnist  # (re)fit code samplers
    python -m genlab train --half weights/*.safetensors                      # network weights in float16
    torchrun --nproc_per_node=2 -m genlab train --kind ae --backbone fcn # DistributedDataParallel
"""

import os
import sys
import time
from pathlib import Path

from genlab import names, paths
from genlab.arguments import count, positive
from genlab.train.config import PRECISIONS, TrainConfig

DEFAULT_OUT = paths.REPO_ROOT / "runs"


def add_parser(subparsers) -> None:
    """Registers `train` and its options."""
    p = subparsers.add_parser("train", help="train generative models (AE/VAE/GAN x FCN/CNN+MLP/LSTM/GRU)",
                              description=__doc__.split("\n\n")[0])
    # The choices are genlab.names' own dicts, so a backbone registered later is one too.
    p.add_argument("--kind", choices=names.KINDS, help="model kind")
    p.add_argument("--backbone", choices=names.BACKBONES, help="encoder/decoder network")
    p.add_argument("--all", action="store_true", help="train every kind on every backbone into the --out folder")
    p.add_argument("--manifest", action="store_true", help="only (re)write manifest.json for the checkpoints in --out")
    p.add_argument("--fit-samplers", type=Path, nargs="+", metavar="CHECKPOINT",
                   help="only fit each checkpoint's code samplers on --dataset and store them in the file: "
                        "the per-digit code mixture (and its fidelity) and density, and a VAE's second stage")
    p.add_argument("--no-samplers", action="store_true",
                   help="fit no code samplers after training: for a checkpoint that is only a step towards another "
                        "(e.g. a latent GAN a voxel GAN starts from); --fit-samplers fits them later")
    p.add_argument("--half", type=Path, nargs="+", metavar="CHECKPOINT",
                   help="only rewrite each finished checkpoint with its network weights in float16 (half the size)")
    p.add_argument("--second-stage-steps", type=int, default=None, metavar="N",
                   help="training steps of a VAE's second stage, fitted after training (default 10,000; 0: none)")
    p.add_argument(
        "--dataset", default="synthetic", choices=[s for s, d in names.DATA_SOURCES.items() if not d.needs_file],
        help="training data (default: synthetic)"
    )
    defaults = TrainConfig()
    p.add_argument("--epochs", type=count, default=defaults.epochs, help="default %(default)s")
    p.add_argument("--batch-size", type=count, default=defaults.batch_size,
                   help="the global batch, split over torchrun's processes (default %(default)s)")
    p.add_argument("--lr", type=positive, default=defaults.lr, help="Adam's learning rate (default %(default)g)")
    p.add_argument("--latent-dim", type=count, default=None, help="latent dimensions (default: build_model's)")
    p.add_argument("--max-minutes", type=positive, default=None, help="time budget per model")
    p.add_argument("--patience", type=count, default=defaults.patience,
                   help="early stopping: epochs without validation gain (default %(default)s)")
    p.add_argument("--device", default=defaults.device, help="auto | cpu | cuda | cuda:N | mps (default %(default)s)")
    p.add_argument("--threads", type=count, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--precision", default=defaults.precision, choices=PRECISIONS,
                   help="auto: bf16 autocast on CUDA, fp32 elsewhere; bf16 also pays on a CPU with native bf16 "
                        "(default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="default %(default)s")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    p.add_argument("--init-from", type=Path, default=None,
                   help="warm-start from a trained checkpoint of the same backbone (e.g. AE -> VAE -> GAN)")
    p.add_argument(
        "--chain",
        action="store_true",
        help="with --all: start each VAE and GAN from its AE (the GAN then keeps that AE fixed: ae_weight=0)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="options",
                   help="a model option, e.g. beta=0.5 (VAE) or ae_weight=0 (GAN); repeatable; "
                        "with --all each applies to the kinds that have it")
    p.add_argument("--out", type=Path, default=None,
                   help="checkpoint file (one model) or folder (--all); default runs/KIND_BACKBONE.safetensors")
    p.set_defaults(func=run)


class ProgressBar:
    """Prints a one-line progress bar (epoch, step, losses, samples/s, ETA) to a terminal stream."""

    def __init__(self, name: str, stream=None):
        self.name, self.stream, self.started, self.last = name, stream or sys.stderr, time.perf_counter(), 0.0
        self.open_line = False  # a bar drawn without its newline yet

    def close(self) -> None:
        """Ends a bar left mid-line (a run that stopped with an error), so the next message starts a line."""
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False

    def __call__(self, p) -> None:
        now = time.perf_counter()
        if p.val_loss is None and now - self.last < 0.2:  # redraw at most 5 times a second
            return
        self.last = now
        done = ((p.epoch - 1) * p.steps_per_epoch + p.step) / (p.epochs * p.steps_per_epoch)
        eta = (now - self.started) * (1 - done) / max(done, 1e-9)
        bar = "#" * int(20 * done) + "-" * (20 - int(20 * done))
        losses = " ".join(f"{k}={v:.4f}" for k, v in p.losses.items() if k in ("loss", "recon", "kl", "d_loss"))
        line = (f"\r{self.name} [{bar}] epoch {p.epoch}/{p.epochs} step {p.step}/{p.steps_per_epoch} "
                f"{losses} {p.samples_per_s:.0f} samples/s ETA {eta:.0f}s")
        if p.val_loss is not None:
            line += f" val={p.val_loss:.4f}\n"
        self.open_line = not line.endswith("\n")
        self.stream.write(line)
        self.stream.flush()


def model_options(kind: str, args, init_from: Path | None) -> dict:
    """Returns the --set options that `kind` knows (all of them for a single model, so typos fail loudly);
    a GAN chained from its AE keeps that AE fixed (ae_weight=0) unless --set says otherwise."""
    from genlab.cli import key_values
    from genlab.models import KIND_CLASSES

    options = key_values(args.options, "--set")
    if args.all:
        options = {k: v for k, v in options.items() if k in KIND_CLASSES[kind].defaults}
        if kind == "gan" and args.chain and init_from:
            options.setdefault("ae_weight", 0.0)
    return options


def train_one(kind: str, backbone: str, dataset, args, out: Path, init_from: Path | None = None) -> dict:
    """Returns the test metrics after training kind/backbone on `dataset` and saving it to `out` (rank 0)."""
    import torch

    from genlab.files import FileLock
    from genlab.models import build_model, load_model
    from genlab.models.backbones import BACKBONES
    from genlab.train import TrainConfig, train
    from genlab.train.shipping import finish_checkpoint

    torch.manual_seed(args.seed)
    latent = {} if args.latent_dim is None else {"latent_dim": args.latent_dim}
    options = model_options(kind, args, init_from)
    donor = load_model(init_from) if init_from else None
    if donor is not None:  # the donor's network sizes (e.g. a wider AE's width) unless --set says otherwise
        options = {**{k: v for k, v in donor.config.items() if k in BACKBONES[backbone].defaults}, **options}
    model = build_model(kind, backbone, **latent, **options)
    warm = {}
    if donor is not None:
        model.warm_start(donor)
        donor_training = donor.metadata.get("training", {})
        # A chain's cost adds up: the donor's own training plus whatever warm-started it; so do the
        # data its weights have seen (a model fine-tuned here from weights trained elsewhere is not
        # trained on this data alone: the evaluation says so).
        seen = {*donor_training.get("init_fingerprints", []), (donor.metadata.get("dataset") or {}).get("fingerprint")}
        warm = {"init_from": Path(init_from).name,
                "init_seconds": donor_training.get("seconds", 0.0) + donor_training.get("init_seconds", 0.0),
                "init_fingerprints": sorted(seen - {None})}
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, device=args.device,
                         compile=args.compile, precision=args.precision, seed=args.seed, patience=args.patience,
                         max_seconds=args.max_minutes * 60 if args.max_minutes else None)
    rank = int(os.environ.get("RANK", 0))
    if rank != 0:
        train(model, dataset, config, checkpoint_path=out, resume=args.resume)
        return {}
    bar = ProgressBar(f"{kind}_{backbone}")
    with FileLock(out, "checkpoint"):  # held until the finished file is written: no other run can slip in
        try:
            result = train(model, dataset, config, on_progress=bar, checkpoint_path=out, resume=args.resume)
        finally:
            bar.close()
        # The finished file: best weights, code samplers, test metrics, no resume state (a few MB at most).
        metrics = finish_checkpoint(result.model, dataset, out, result.training, warm, samplers=not args.no_samplers,
                                    **second_stage_options(args))
    print(f"{kind}_{backbone}: {result.epochs_run} epochs in {result.seconds:.0f}s, "
          f"{result.samples_per_s:.0f} samples/s -> {out}")
    for split, values in metrics.items():
        print(f"  {split}: " + " ".join(f"{k}={v:.4f}" for k, v in values.items()))
    return metrics


def second_stage_options(args) -> dict:
    """Returns fit_samplers' keyword for --second-stage-steps ({} keeps its default)."""
    return {} if args.second_stage_steps is None else {"second_stage_steps": args.second_stage_steps}


def refit_samplers(checkpoints: list[Path], args) -> int:
    """Fits and stores the code samplers of each checkpoint on the training digits of --dataset."""
    from genlab.data import load_dataset
    from genlab.files import FileLock
    from genlab.models import fit_samplers, load_model
    from genlab.models.checkpoint import write_samplers

    source = args.dataset
    dataset = load_dataset(source, **paths.dataset_options(source))
    for path in checkpoints:
        with FileLock(path, "checkpoint"):  # no training run may write it meanwhile
            model = load_model(path)
            started = time.perf_counter()
            fit_samplers(model, dataset.X_train, dataset.y_train, **second_stage_options(args))
            write_samplers(path, model)
        second = "" if model.second_stage is None else (
            " (second stage kept)" if args.second_stage_steps == 0 else " and second stage")
        fitted = "code mixture (and its fidelity), density, output curve" + second
        print(f"{path}: {fitted} fitted on {len(dataset.X_train)} {source} training digits "
              f"in {time.perf_counter() - started:.0f} s")
    return 0


def run(args) -> int:
    """Trains what the arguments ask for; returns the exit code."""
    from genlab.train.shipping import write_manifest

    if args.manifest:
        folder = args.out or paths.WEIGHTS_DIR
        print(f"wrote {write_manifest(folder)}")
        return 0
    if args.half:
        from genlab.files import FileLock
        from genlab.models.checkpoint import store_half

        for path in args.half:
            with FileLock(path, "checkpoint"):  # no training run may write it meanwhile
                before = path.stat().st_size
                store_half(path)
            print(f"{path}: network weights in float16, {before / 2**20:.1f} -> {path.stat().st_size / 2**20:.1f} MiB")
        return 0
    if not args.fit_samplers and not args.all and not (args.kind and args.backbone):
        raise ValueError("give --kind and --backbone, or --all (see python -m genlab train --help)")
    import torch

    from genlab.data import load_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.fit_samplers:
        return refit_samplers(args.fit_samplers, args)
    dataset = load_dataset(args.dataset, **paths.dataset_options(args.dataset))
    pairs = [(k, b) for k in names.KINDS for b in names.BACKBONES] if args.all else [(args.kind, args.backbone)]
    for kind, backbone in pairs:
        if args.all or (args.out and args.out.suffix != ".safetensors"):
            out = (args.out or DEFAULT_OUT) / f"{kind}_{backbone}.safetensors"
        else:
            out = args.out or DEFAULT_OUT / f"{kind}_{backbone}.safetensors"
        init_from = args.init_from
        if args.all and args.chain and kind != "ae":
            init_from = out.with_name(f"ae_{backbone}.safetensors")
        train_one(kind, backbone, dataset, args, out, init_from)
    if args.all and int(os.environ.get("RANK", 0)) == 0:
        print(f"wrote {write_manifest(args.out or DEFAULT_OUT)}")
    return 0
