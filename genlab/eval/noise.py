"""Robustness to noisy data (Devyatkin & Trenev, 2023): train on noisy inputs, reconstruct clean targets.

The trainer reconstructs its own inputs, so noise cannot simply be baked into the dataset (the
targets would be noisy too). Instead `noisy_inputs` puts a forward pre-hook on the model's
encoder: while the model is in training mode the encoder sees x + N(0, variance) clipped to
[0, 1], fresh each step, and the loss still compares the reconstruction with the clean x.

    with noisy_inputs(model, variance=0.1):
        train(model, dataset, TrainConfig(epochs=2))

`noise_study` trains clean and noisy twins of each model with the same budget and scores both
on clean and on noisy test inputs.
"""

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import torch

from genlab.eval import metrics


@contextlib.contextmanager
def noisy_inputs(model, variance: float = 0.1, seed: int = 0):
    """Yields model with Gaussian noise of `variance` added to its encoder's input in training mode."""
    if variance < 0:
        raise ValueError(f"noise variance must be >= 0, got {variance}")
    generator = torch.Generator().manual_seed(seed)
    std = variance**0.5

    def add_noise(module, args):
        if not module.training:
            return None  # evaluation sees exactly what it is given
        x = args[0]
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        return ((x + std * noise).clamp(0.0, 1.0), *args[1:])

    handle = model.encoder.register_forward_pre_hook(add_noise)
    try:
        yield model
    finally:
        handle.remove()


@dataclass(frozen=True)
class Subset:
    """A dataset restricted to its first n_train training digits (same test split)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    base: dict

    def describe(self) -> dict:
        return {**self.base, "n_train": len(self.X_train)}


@torch.no_grad()
def _scores(model, X_input: np.ndarray, X_target: np.ndarray) -> dict:
    recon = torch.cat([model.reconstruct(torch.as_tensor(b))
                       for b in np.array_split(X_input.astype(np.float32), max(1, len(X_input) // 250))])
    recon = recon.double().numpy()
    return {"bce": float(metrics.bce(X_target, recon).mean()), "mse": float(metrics.mse(X_target, recon).mean()),
            "iou": float(metrics.iou(X_target, recon).mean())}


def noise_study(data, pairs, epochs: int = 2, variance: float = 0.1, seed: int = 0, n_train: int | None = None,
                model_options: dict | None = None, batch_size: int = 64, on_model=None) -> dict:
    """Returns a noise-robustness table: for each (kind, backbone), a clean- and a noise-trained model
    with the same epochs, scored on clean and on noisy (variance `variance`) test inputs.

    pairs: [(kind, backbone), ...]. n_train: train on the first n_train digits only (a budget).
    model_options: build_model options (e.g. smaller widths), the same for both twins.
    """
    from genlab.data import add_gaussian_noise
    from genlab.models import build_model
    from genlab.train import TrainConfig, train

    subset = Subset(np.asarray(data.X_train[:n_train]), np.asarray(data.y_train[:n_train]),
                    np.asarray(data.X_test), np.asarray(data.y_test), data.describe())
    X_noisy = add_gaussian_noise(subset.X_test, variance=variance, seed=seed)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, patience=None, device="cpu")
    rows = []
    for kind, backbone in pairs:
        for trained_on in ("clean", "noisy"):
            torch.manual_seed(seed)
            model = build_model(kind, backbone, **(model_options or {}))
            start = time.perf_counter()
            noise = noisy_inputs(model, variance, seed) if trained_on == "noisy" else contextlib.nullcontext()
            with noise:
                result = train(model, subset, config)
            clean_scores, noisy_scores = (
                _scores(model, subset.X_test, subset.X_test),
                _scores(model, X_noisy, subset.X_test),
            )
            row = {"name": f"{kind}_{backbone}", "kind": kind, "backbone": backbone, "trained_on": trained_on,
                   "epochs": result.epochs_run, "train_seconds": time.perf_counter() - start,
                   "bce_clean_input": clean_scores["bce"], "mse_clean_input": clean_scores["mse"],
                   "bce_noisy_input": noisy_scores["bce"], "mse_noisy_input": noisy_scores["mse"],
                   "iou_noisy_input": noisy_scores["iou"]}
            rows.append(row)
            if on_model is not None:
                on_model(row)
    description = (f"Each model trained twice from the same seed with the same budget ({epochs} epoch(s) on "
                   f"{len(subset.X_train)} training digits, batch {batch_size}"
                   + (f", options {model_options}" if model_options else "") + "): on clean inputs and on inputs with "
                   f"Gaussian noise of variance {variance} (clean targets). Scored on the clean test digits and on "
                   "noisy copies of them (against clean targets). This short budget is far below the shipped "
                   "models' training, so compare the twins with each other, not with the shipped models.")
    return {"variance": variance, "epochs": epochs, "n_train": len(subset.X_train), "seed": seed,
            "model_options": model_options or {}, "description": description, "rows": rows}
