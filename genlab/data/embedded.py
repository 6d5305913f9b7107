"""The MNIST digits shipped inside genlab: the default `mnist` source, offline on a fresh clone.

`genlab/data/embedded/mnist-digits.npz` (MNIST, CC BY-SA 3.0; see the README beside it) holds
uint8 28x28 digits and their labels, zip-deflated: `train_images` (22000, 28, 28) are MNIST
training digits 0..21999 and `train_labels` their uint8 labels. Only training digits are shipped
(the shared data's rule for what a repository may embed), so the embedded split holds the last
N_TEST of them out as its test digits; a folder of IDX files gives MNIST's own split (t10k tests).
It was written from IDX files with

    python -m genlab.data.embedded ../shared/data/mnist
"""

import sys
import zipfile
from pathlib import Path

import numpy as np

from genlab import paths
from genlab.data.errors import DataError
from genlab.data.idx import check_digits, read_mnist

N_DIGITS = 22_000  # MNIST training digits the file holds
N_TEST = 1_000  # the last of them, held out as the embedded split's test digits
N_TRAIN = N_DIGITS - N_TEST


def read_embedded(path=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Returns {"train": (images, labels), "test": (images, labels)}: uint8 (N, 28, 28), int64 (N,);
    train: MNIST training digits 0..N_TRAIN-1, test: the N_TEST after them (never trained on)."""
    path = Path(path or paths.EMBEDDED_MNIST)
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["train_images"], data["train_labels"]
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: genlab's embedded MNIST digits are missing from this copy "
                                "of the repository; pass an MNIST folder (--mnist-dir)") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: damaged embedded MNIST file ({type(error).__name__}: {error})") from None
    images, labels = check_digits(images, labels, path, path)
    if len(images) < N_DIGITS:
        raise DataError(f"{path}: damaged embedded MNIST file ({len(images)} digits, expected {N_DIGITS})")
    return {"train": (images[:N_TRAIN], labels[:N_TRAIN]), "test": (images[N_TRAIN:N_DIGITS], labels[N_TRAIN:N_DIGITS])}


def write_embedded(mnist_dir, out=None, count=N_DIGITS) -> Path:
    """Writes the first `count` training digits of an MNIST folder (no test digits); returns the file."""
    out = Path(out or paths.EMBEDDED_MNIST)
    images, labels = read_mnist(mnist_dir, "train")
    if len(images) < count:
        raise DataError(f"{mnist_dir}: its training split holds {len(images)} digits, not {count}")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, train_images=images[:count], train_labels=labels[:count].astype(np.uint8))
    return out


if __name__ == "__main__":
    print(write_embedded(sys.argv[1]))
