"""Training throughput, decode latency and peak memory of the twelve models (default sizes) on CPU.

    python -m benchmarks.bench_train                  # all twelve, 1 thread, batch 64
    python -m benchmarks.bench_train --threads 2 --steps 30 --models ae_fcn vae_gru

Each model runs in a fresh subprocess so its peak memory (max RSS) is its own. Prints one row per
model: training samples/s (median over steps), decode latency of one latent and of one new sample
as `model.sample(1)` draws it (a VAE through a second stage, a GAN through its mapper; median, ms)
and peak MB.
Random voxels stand in for data: speed does not depend on the values.
"""

import argparse
import json
import resource
import subprocess
import sys

from genlab.models import BACKBONES, KINDS
from genlab.timing import median_seconds
from genlab.train import TrainConfig


def measure(kind: str, backbone: str, steps: int, batch_size: int, threads: int) -> dict:
    """Returns the figures for one model, measured in this process."""
    import torch

    from genlab.models import build_model
    from genlab.models.kinds import StepSettings
    from genlab.models.second_stage import Networks, SecondStage

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model(kind, backbone)
    optimizers = model.make_optimisers(TrainConfig.lr)
    x = torch.rand(batch_size, 16, 16, 16)
    train_s = median_seconds(lambda: model.training_step(model, x, optimizers, StepSettings()), steps, warmup=2)
    model.eval()
    z = torch.randn(1, model.latent_dim)
    if kind == "vae":  # an untrained second stage: the same size, the same speed
        model.second_stage = SecondStage(Networks(model.latent_dim))
    with torch.no_grad():
        decode_s = median_seconds(lambda: model.decode(z), 180, warmup=20)
        sample_s = median_seconds(lambda: model.sample(1), 180, warmup=20)
    return {"model": f"{kind}_{backbone}", "params": sum(p.numel() for p in model.parameters()),
            "train_samples_per_s": batch_size / train_s,
            "decode_ms": 1000 * decode_s, "sample_ms": 1000 * sample_s,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=[f"{k}_{b}" for k in KINDS for b in BACKBONES])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one model, print JSON
    args = parser.parse_args()
    if args.one:
        kind, backbone = args.one.split("_", 1)
        print(json.dumps(measure(kind, backbone, args.steps, args.batch_size, args.threads)))
        return
    print(
        f"{'model':<12} {'params':>9} {'train samples/s':>16} "
        f"{'decode 1 latent ms':>19} {'sample 1 ms':>12} {'peak MB':>8}"
        f"   ({args.threads} thread(s), batch {args.batch_size}, median of {args.steps} steps)"
    )
    for name in args.models:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_train", "--one", name, "--steps",
                              str(args.steps), "--batch-size", str(args.batch_size), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['model']:<12} {r['params']:>9,} {r['train_samples_per_s']:>16.0f} {r['decode_ms']:>19.2f} "
              f"{r['sample_ms']:>12.2f} {r['peak_mb']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
