"""Samples asked of each digit, as max-projection sheets for a person to look at.

    python -m benchmarks.sample_sheets [--checkpoints weights/gan_lstm.safetensors ...] [--per-digit 10]
                                       [--out sample_sheets] [--seed 0]

Writes one PNG per model to --out: row d holds `model.sample(n, digit=d)` for d = 0..9 (the model's
default sampler), each grid shown as its maximum along the depth axis (genlab.viz.images), and
prints the files. Default: the shipped models. Seeded, so two sets of weights can be compared
sample for sample.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from genlab.models import load_model, shipped_models
from genlab.models.density import N_CLASSES
from genlab.viz.images import png_bytes, projection_grid


def sample_sheet(model, per_digit: int, seed: int) -> np.ndarray:
    """Returns an RGB image: row d holds per_digit samples asked of digit d, drawn with seed + d."""
    with torch.no_grad():
        grids = [model.sample(per_digit, digit=d, generator=torch.Generator().manual_seed(seed + d))
                 for d in range(N_CLASSES)]
    return projection_grid(torch.cat(grids).numpy(), columns=per_digit, scale=4, gap=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", type=Path, help="checkpoint files (default: the shipped models)")
    parser.add_argument("--per-digit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("sample_sheets"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = args.checkpoints or [Path(entry["path"]) for entry in shipped_models()]
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = args.out / f"{path.stem}.png"
        target.write_bytes(png_bytes(sample_sheet(load_model(path), args.per_digit, args.seed)))
        print(target, flush=True)


if __name__ == "__main__":
    main()
