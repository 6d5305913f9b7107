"""Test metrics of a trained model and the manifest of shipped weights (weights/manifest.json)."""

import json
from pathlib import Path

import numpy as np
import torch

from genlab import names
from genlab.eval.metrics import bce, bce_floor, iou, mse
from genlab.eval.paper import PAPER_BCE, PAPER_MSE
from genlab.files import atomic_write


@torch.no_grad()
def reconstruction_metrics(model, X, batch_size: int = 500) -> dict[str, float]:
    """Returns mean BCE, MSE, IoU (at 0.5) and the BCE floor of model's reconstructions of X (N, 16, 16, 16)."""
    model.eval()
    device = next(model.parameters()).device
    X = np.asarray(X, dtype=np.float32)
    recon = np.concatenate([model.reconstruct(torch.from_numpy(X[i:i + batch_size]).to(device)).float().cpu().numpy()
                            for i in range(0, len(X), batch_size)])
    return {"bce": float(bce(X, recon).mean()), "mse": float(mse(X, recon).mean()),
            "iou": float(iou(X, recon).mean()), "bce_floor": float(bce_floor(X).mean())}


def rotated_test_set(dataset):
    """Returns the rotated copy of an MNIST dataset's test digits (N, 16, 16, 16), or None for other sources."""
    if getattr(dataset, "source", None) != "mnist":
        return None
    from genlab.data import load_dataset

    # The test digits and their rotation do not depend on the training split: build one training digit only.
    params = {k: v for k, v in dataset.params.items() if k != "max_train"}  # max_train: an app run's subset
    return load_dataset("mnist", **{**params, "test_rotated": True, "n_train": 1, "rotated_copies": 0}).X_test


def test_metrics(model, dataset) -> dict[str, dict[str, float]]:
    """Returns {"canonical": metrics, "rotated": metrics (MNIST only)} on the dataset's test split."""
    metrics = {"canonical": reconstruction_metrics(model, dataset.X_test)}
    rotated = rotated_test_set(dataset)
    if rotated is not None:
        metrics["rotated"] = reconstruction_metrics(model, rotated)
    return metrics


def finish_checkpoint(model, dataset, out, training: dict, extra_training=None, progress=None, samplers: bool = True,
                      **sampler_options) -> dict:
    """Returns the test metrics after writing the finished checkpoint of a trained model to `out`, as
    every genlab run is finished (the CLI's and the app's): code samplers fitted on the training digits
    (a VAE's second stage included; sampler_options go to fit_samplers; samplers=False fits none, for a
    checkpoint that is only a step towards another), test metrics, the run's
    training record without resume state. Nothing is re-read from `out` (another process may have
    replaced it).

    training: the run's record (TrainResult.training); extra_training is added to it (e.g. a warm
    start's cost).
    progress(stage, done, total), if given, hears "samplers", "second stage" steps and "test metrics".
    """
    from genlab.models import fit_samplers, save_model

    if progress is not None:
        sampler_options["progress"] = lambda done, total: progress("second stage", done, total)
    if samplers:
        if progress is not None:
            progress("samplers", 0, 1)
        fit_samplers(model, dataset.X_train, dataset.y_train, **sampler_options)
    if progress is not None:
        progress("test metrics", 0, 1)
    metrics = test_metrics(model, dataset)
    record = {k: v for k, v in training.items() if k != "optimizers"} | (extra_training or {})
    save_model(model, out, {"dataset": dataset.describe(), "training": record, "metrics": metrics})
    return metrics


def write_manifest(folder) -> Path:
    """Returns the path of folder/manifest.json, (re)written from the metadata of the checkpoints in folder."""
    from genlab.models.checkpoint import load_model

    folder = Path(folder)
    entries = []
    for kind in names.KINDS:
        for backbone in names.BACKBONES:
            path = folder / f"{kind}_{backbone}.safetensors"
            if not path.is_file():
                continue
            model = load_model(path)
            meta = model.metadata
            training = meta.get("training", {})
            entries.append({
                "name": f"{kind}_{backbone}", "kind": kind, "backbone": backbone, "file": path.name,
                "latent_dim": meta["latent_dim"], "config": meta["config"],
                "params": sum(p.numel() for p in model.parameters()),
                "size_bytes": path.stat().st_size,
                "reconstruction_method": meta.get("reconstruction_method", "encoder"),
                "dataset": meta.get("dataset", {}), "metrics": meta.get("metrics", {}),
                "paper": {"bce": PAPER_BCE[kind].get(backbone), "mse": PAPER_MSE[kind].get(backbone)},
                "training": {k: training.get(k) for k in ("epochs_done", "seconds", "samples_per_s", "device",
                                                           "world_size", "best_val_loss", "init_from",
                                                           "init_seconds", "init_fingerprints")}
                | {"config": training.get("config")},
            })
    text = json.dumps({"format_version": 1, "models": entries}, indent=1) + "\n"
    return atomic_write(folder / "manifest.json", lambda tmp: tmp.write_text(text))
