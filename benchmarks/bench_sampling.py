"""Benchmark: how long drawing one latent, and one sample, takes from every latent source of each model.

    python -m benchmarks.bench_sampling [--checkpoints weights/vae_gru.safetensors ...] [--repeats 200] [--threads 1]

Prints, per model and source (the default first), the median time of `model.latents(1, source=...)`
(drawing the code: what sliders and sample grids wait for besides decoding) and of
`model.sample(1, source=...)` (code and decoder), on the CPU. Default: the shipped models.
"""

import argparse
from pathlib import Path

import torch

from genlab.models import load_model, shipped_models
from genlab.timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", type=Path, help="checkpoint files (default: the shipped models)")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = args.checkpoints or [Path(entry["path"]) for entry in shipped_models()]
    print(f"{'model':<14} {'source':<10} {'latent (ms)':>12} {'sample (ms)':>12}")
    for path in paths:
        model = load_model(path)
        for source in model.latent_sources():
            latent = median_seconds(lambda: model.latents(1, source=source), args.repeats)
            with torch.no_grad():
                sample = median_seconds(lambda: model.sample(1, source=source), args.repeats)
            print(f"{path.stem:<14} {source:<10} {latent * 1e3:>12.3f} {sample * 1e3:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
