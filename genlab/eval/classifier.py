"""The 3D digit classifier that judges generated samples: a small 3D CNN.

Its class probabilities give the label distribution of a model's samples and the smoothness
of latent paths; its penultimate features (FEATURE_DIM values per grid) are the space in which
the Fréchet distance and PRDC compare real and generated digits, as Inception features do
for images. The shipped one lives in weights/classifier.safetensors:

    python -m genlab train-classifier --dataset mnist      # retrains it (10 epochs)
"""

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genlab import checkpoint_file, paths

FORMAT = checkpoint_file.CLASSIFIER
N_CLASSES = 10
FEATURE_DIM = 64
SHIPPED_PATH = paths.WEIGHTS_DIR / "classifier.safetensors"


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out), nn.ReLU(), nn.MaxPool3d(2)
    )


class DigitClassifier(nn.Module):
    """3D CNN: voxel grids (B, 16, 16, 16) in [0, 1] -> logits (B, 10).

    Three conv blocks (16^3 -> 8^3 -> 4^3 -> 2^3), then a dense layer of `feature_dim`
    units (the features) and the output layer.
    """

    def __init__(self, width: int = 16, feature_dim: int = FEATURE_DIM, dropout: float = 0.3):
        super().__init__()
        self.config = {"width": width, "feature_dim": feature_dim, "dropout": dropout}
        self.body = nn.Sequential(
            _conv_block(1, width), _conv_block(width, 2 * width), _conv_block(2 * width, 4 * width), nn.Flatten()
        )
        self.to_features = nn.Sequential(nn.Linear(4 * width * 8, feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, N_CLASSES))
        self.metadata: dict = {}
        self.path: Path | None = None  # the file it was loaded from

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Returns penultimate features (B, feature_dim) of grids x (B, 16, 16, 16)."""
        return self.to_features(self.body(x.unsqueeze(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns logits (B, 10) of grids x (B, 16, 16, 16)."""
        return self.head(self.features(x))


@torch.no_grad()
def classify(model: DigitClassifier, grids, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Returns class probabilities (N, 10) and features (N, feature_dim), float64, for grids (N, 16, 16, 16)."""
    model.eval()
    grids = torch.as_tensor(np.asarray(grids), dtype=torch.float32)
    probs, feats = [], []
    for batch in grids.split(batch_size):
        f = model.features(batch)
        probs.append(torch.softmax(model.head(f), dim=1))
        feats.append(f)
    return torch.cat(probs).double().numpy(), torch.cat(feats).double().numpy()


def accuracy(model: DigitClassifier, grids, labels) -> float:
    """Returns the share of grids (N, 16, 16, 16) whose predicted digit equals labels (N,)."""
    probs, _ = classify(model, grids)
    return float((probs.argmax(axis=1) == np.asarray(labels)).mean())


def train_classifier(
    dataset,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    width: int = 16,
    on_progress=None,
    stop_event=None,
) -> DigitClassifier:
    """Returns a DigitClassifier trained on dataset.X_train / y_train, with its metadata filled in.

    Adam with a cosine learning-rate decay and a random shift of up to one voxel per axis as
    augmentation. on_progress(Progress) hears every step, and each epoch's end with metrics
    {"train_loss", "test_accuracy"}; stop_event stops after the current step (genlab.train.callbacks).
    Deterministic for a given seed and thread count.
    """
    from genlab.train.callbacks import Progress, stop_requested

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = DigitClassifier(width=width)
    X = torch.as_tensor(dataset.X_train, dtype=torch.float32)
    y = torch.as_tensor(dataset.y_train, dtype=torch.int64)
    steps = epochs * ((len(X) + batch_size - 1) // batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=max(steps, 1))
    start = time.perf_counter()
    test_accuracy = float("nan")
    steps_per_epoch = steps // max(epochs, 1)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for step, index in enumerate(torch.randperm(len(X), generator=generator).split(batch_size)):
            shifts = torch.randint(-1, 2, (3,), generator=generator).tolist()
            batch = torch.roll(X[index], shifts=shifts, dims=(1, 2, 3))
            loss = nn.functional.cross_entropy(model(batch), y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(index)
            if on_progress is not None:
                on_progress(Progress(epoch + 1, epochs, step + 1, steps_per_epoch, {"loss": loss.item()}))
            if stop_requested(stop_event):
                break
        test_accuracy = accuracy(model, dataset.X_test, dataset.y_test)
        if on_progress is not None:
            on_progress(Progress(epoch + 1, epochs, step + 1, steps_per_epoch, {"loss": loss.item()},
                                 metrics={"train_loss": total / len(X), "test_accuracy": test_accuracy}))
        if stop_requested(stop_event):
            break
    model.eval()
    model.metadata = {
        "dataset": dataset.describe(),
        "test_accuracy": test_accuracy,
        "train_seconds": round(time.perf_counter() - start, 1),
        "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed},
        "threads": torch.get_num_threads(),
    }
    return model


def save_classifier(model: DigitClassifier, path) -> Path:
    """Writes model (tensors + JSON metadata) to a safetensors file; returns its path."""
    return checkpoint_file.save(path, model.state_dict(), FORMAT, {"config": model.config, **model.metadata})


def load_classifier(path=None) -> DigitClassifier:
    """Returns the classifier stored at path (default: the shipped one), in eval mode on CPU.

    Raises FileNotFoundError for a missing file and ValueError, naming the file, for anything
    that is not a genlab classifier of this format.
    """
    path = Path(path) if path is not None else SHIPPED_PATH
    if not path.is_file():
        raise FileNotFoundError(f"classifier file {path} not found (train one: python -m genlab train-classifier)")
    tensors, header = checkpoint_file.read(path, FORMAT)
    model = DigitClassifier(**header["config"])
    try:
        model.load_state_dict(tensors)
    except RuntimeError as error:
        raise ValueError(f"{path} does not match the classifier architecture: {error}") from None
    model.metadata = {k: v for k, v in header.items() if k not in ("format", "format_version", "config")}
    model.path = path
    return model.eval()
