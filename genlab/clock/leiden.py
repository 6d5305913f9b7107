"""The Leiden "tell-the-time" dataset format: a folder with images.npy and labels.npy.

    images.npy  uint8 (N, 150, 150)   grayscale clocks (other square sizes are accepted)
    labels.npy  integers (N, 2)       [hour 0..11, minute 0..59]
"""

from pathlib import Path

import numpy as np

IMAGES_FILE, LABELS_FILE = "images.npy", "labels.npy"


def _load_array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"missing {path}")
    try:
        return np.load(path, allow_pickle=False)  # never unpickle a stranger's file
    except Exception as error:
        raise ValueError(f"{path} is not a readable .npy array: {error}") from error


def load_leiden(folder) -> tuple:
    """Returns (images (N, H, H) uint8, labels (N, 2) int64 [hour, minute]) from a Leiden-format folder.

    Raises FileNotFoundError for missing files and ValueError naming the file for wrong
    shapes, types, label ranges or counts that do not match.
    """
    folder = Path(folder)
    images_path, labels_path = folder / IMAGES_FILE, folder / LABELS_FILE
    images, labels = _load_array(images_path), _load_array(labels_path)
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.shape[1] < 16:
        raise ValueError(f"{images_path}: expected (N, H, H) square grayscale images, got shape {images.shape}")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.number) or images.min() < 0 or images.max() > 255:
            raise ValueError(f"{images_path}: expected uint8 pixels 0..255, got {images.dtype}")
        images = images.astype(np.uint8)
    if labels.ndim != 2 or labels.shape[1] != 2 or not np.issubdtype(labels.dtype, np.number):
        raise ValueError(
            f"{labels_path}: expected (N, 2) numeric [hour, minute] labels, got {labels.dtype} {labels.shape}"
        )
    if len(labels) != len(images):
        raise ValueError(f"{labels_path} has {len(labels)} labels but {images_path} has {len(images)} images")
    labels = labels.astype(np.int64)
    if len(labels) and (labels[:, 0].min() < 0 or labels[:, 0].max() > 12
                        or labels[:, 1].min() < 0 or labels[:, 1].max() > 59):
        raise ValueError(f"{labels_path}: hours must be 0..12 and minutes 0..59")
    labels[:, 0] %= 12  # some copies write twelve o'clock as 12
    return images, labels


def save_leiden(folder, images: np.ndarray, labels: np.ndarray) -> None:
    """Writes images (N, H, H) uint8 and labels (N, 2) [hour, minute] as a Leiden-format folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / IMAGES_FILE, np.asarray(images, np.uint8))
    np.save(folder / LABELS_FILE, np.asarray(labels, np.int64))
