"""Training and sampling throughput of the twelve models on a GPU, through the trainer's own step.

    python -m benchmarks.bench_gpu                        # CUDA: bf16 autocast, as the trainer runs it
    python -m benchmarks.bench_gpu --compile ae_fcn       # also torch.compile one model's step
    python -m benchmarks.bench_gpu --device cpu --steps 3 --models ae_fcn   # the same figures on the CPU
    python -m benchmarks.bench_gpu --device cpu --precision bf16             # the CPU with bf16 autocast

Prints one row per model: training samples/s at the recipe's batch of 64 and at a batch of 1,024
(the trainer's training_step under its autocast: --precision, by default bf16 on CUDA and none on the
CPU), and new samples/s
(`model.sample(n)` from the prior, 4,096 at a time). Medians over --steps timed calls, each ended by
a device synchronisation. Random voxels stand in for data: speed does not depend on the values.
--compile times torch.compile of the named models' step: the first call (the compile) and then samples/s.
"""

import argparse
import time

import torch

from genlab.models import BACKBONES, KINDS, build_model
from genlab.models.kinds import StepSettings
from genlab.timing import median_seconds
from genlab.train import TrainConfig
from genlab.train.config import PRECISIONS
from genlab.train.trainer import autocast_for, uses_bf16

SAMPLE_BATCH = 4096


def synchronised(step, device: torch.device):
    """Returns step wrapped so that each call waits for the device's queued work to finish."""
    def call():
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return call


def train_rate(model, net, device: torch.device, batch: int, steps: int, precision: str) -> float:
    """Returns training samples/s of net's training step at this batch size (median over steps)."""
    optimisers = model.make_optimisers(TrainConfig.lr)
    x = torch.rand(batch, 16, 16, 16, device=device).round()
    settings = StepSettings(autocast_for(precision, device))
    seconds = median_seconds(synchronised(lambda: model.training_step(net, x, optimisers, settings), device),
                             steps, warmup=3)
    return batch / seconds


def measure(name: str, device: torch.device, steps: int, precision: str) -> dict:
    """Returns one model's figures: training samples/s at batch 64 and 1,024, new samples/s."""
    kind, backbone = name.split("_", 1)
    torch.manual_seed(0)
    model = build_model(kind, backbone).to(device)
    row = {"model": name, "train_64": train_rate(model, model, device, 64, steps, precision),
           "train_1024": train_rate(model, model, device, 1024, steps, precision)}
    model.eval()
    seconds = median_seconds(synchronised(lambda: model.sample(SAMPLE_BATCH, source="prior"), device), steps, warmup=2)
    row["samples"] = SAMPLE_BATCH / seconds
    return row


def measure_compiled(name: str, device: torch.device, steps: int, precision: str) -> dict:
    """Returns the seconds of a compiled training step's first call (the compile) and its samples/s at batch 64."""
    kind, backbone = name.split("_", 1)
    torch.manual_seed(0)
    model = build_model(kind, backbone).to(device)
    net = torch.compile(model)
    optimisers = model.make_optimisers(TrainConfig.lr)
    x = torch.rand(64, 16, 16, 16, device=device).round()
    settings = StepSettings(autocast_for(precision, device))
    started = time.perf_counter()
    synchronised(lambda: model.training_step(net, x, optimisers, settings), device)()
    compile_s = time.perf_counter() - started
    return {"model": name, "compile_s": compile_s, "train_64": train_rate(model, net, device, 64, steps, precision)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu (default cuda)")
    parser.add_argument("--steps", type=int, default=30, help="timed calls per figure (default 30)")
    parser.add_argument("--models", nargs="*", default=[f"{k}_{b}" for k in KINDS for b in BACKBONES])
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="the trainer's --precision (default auto: bf16 on CUDA, fp32 elsewhere)")
    parser.add_argument("--compile", nargs="*", default=[], metavar="MODEL", help="models to also time compiled")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.exit(1, "bench_gpu: no CUDA device here; run it with --device cpu, or on a machine with a GPU\n")
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{where}, torch {torch.__version__}, {'bf16 autocast' if uses_bf16(args.precision, device) else 'fp32'}, "
          f"median of {args.steps} calls")
    print(f"{'model':<12} {'train samples/s (batch 64)':>27} {'(batch 1024)':>13} {'new samples/s':>14}")
    for name in args.models:
        r = measure(name, device, args.steps, args.precision)
        print(f"{name:<12} {r['train_64']:>27,.0f} {r['train_1024']:>13,.0f} {r['samples']:>14,.0f}", flush=True)
    for name in args.compile:
        r = measure_compiled(name, device, args.steps, args.precision)
        print(f"{name} compiled: first step (the compile) {r['compile_s']:.1f} s, then {r['train_64']:,.0f} "
              "training samples/s at batch 64", flush=True)


if __name__ == "__main__":
    main()
