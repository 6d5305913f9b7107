"""The MNIST digits shipped inside genlab: the default `mnist` source, offline on a fresh clone.

`genlab/data/embedded/mnist-digits.npz` (MNIST, CC BY-SA 3.0; see the README beside it) holds
uint8 28x28 digits and their labels, zip-deflated: `train_images` (22000, 28, 28) are MNIST
training digits 0..21999, `test_images` (1000, 28, 28) the official test set's (t10k) digits
0..999; `train_labels` and `test_labels` uint8. It was written from IDX files with

    python -m genlab.data.embedded ../shared/data/mnist
"""

import sys
import zipfile
from pathlib import Path

import numpy as np

from genlab import paths
from genlab.data.errors import DataError
from genlab.data.idx import check_digits, read_mnist

N_TRAIN, N_TEST = 22_000, 1_000  # what the file holds: the standard split's digits


def read_embedded(path=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Returns {"train": (images, labels), "test": (images, labels)}: uint8 (N, 28, 28), int64 (N,)."""
    path = Path(path or paths.EMBEDDED_MNIST)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in
                      ("train_images", "train_labels", "test_images", "test_labels")}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: genlab's embedded MNIST digits are missing from this copy "
                                "of the repository; pass an MNIST folder (--mnist-dir)") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: damaged embedded MNIST file ({type(error).__name__}: {error})") from None
    return {split: check_digits(arrays[f"{split}_images"], arrays[f"{split}_labels"], path, path)
            for split in ("train", "test")}


def write_embedded(mnist_dir, out=None, n_train=N_TRAIN, n_test=N_TEST) -> Path:
    """Writes the first n_train training and n_test test digits of an MNIST folder; returns the file."""
    out = Path(out or paths.EMBEDDED_MNIST)
    arrays = {}
    for split, count in (("train", n_train), ("test", n_test)):
        images, labels = read_mnist(mnist_dir, split)
        if len(images) < count:
            raise DataError(f"{mnist_dir}: its {split} split holds {len(images)} digits, not {count}")
        arrays[f"{split}_images"] = images[:count]
        arrays[f"{split}_labels"] = labels[:count].astype(np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return out


if __name__ == "__main__":
    print(write_embedded(sys.argv[1]))
