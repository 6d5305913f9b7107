"""The trainer's hyper-parameters and their defaults: the one place the command line and the app read them.

Imports no torch, so `python -m genlab train --help` shows these defaults quickly.
"""

from dataclasses import dataclass

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class TrainConfig:
    """Hyper-parameters and run options of `train`; its defaults are those of `python -m genlab train` and
    of the app's Train page (the shipped weights were trained with them, learning rates as the README says)."""

    epochs: int = 20
    batch_size: int = 64  # the global batch: split across processes under torchrun
    lr: float = 3e-3
    lr_min_ratio: float = 0.05  # cosine decay of the learning rate down to lr * lr_min_ratio
    grad_clip: float = 1.0
    val_fraction: float = 0.05  # held out of the training split for validation and early stopping
    patience: int | None = 5  # epochs without validation improvement before stopping; None: never
    max_seconds: float | None = None  # time budget: stop (and finish the schedule) within it
    max_loss: float = 100.0  # a loss above this counts as exploded
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" | "mps"
    compile: bool = False  # torch.compile the model
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA, fp32 elsewhere) | "bf16" | "fp32": trainer.uses_bf16
    seed: int = 0
