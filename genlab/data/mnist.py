"""The "mnist" source: 3D MNIST built from MNIST IDX files with genlab's standard split."""

from pathlib import Path

import numpy as np

from genlab import paths
from genlab.data.download import download_mnist
from genlab.data.errors import DataError
from genlab.data.idx import find_mnist_files, read_mnist
from genlab.data.voxelize import voxelize_digits


def build(mnist_dir=None, n_train=7000, n_test=1000, rotated_copies=1, rotate_deg=30.0,
          test_rotated=False, jitter=0.0, seed=0, download=False):
    """Returns (X_train, y_train, X_test, y_test) voxelized from the MNIST digits in mnist_dir.

    genlab's standard split: train = digits 0 .. n_train-1 as published (canonical), plus
    `rotated_copies` copies of them each rotated at random by up to +-rotate_deg degrees
    about every axis (and jittered by `jitter`); test = the next n_test digits, canonical,
    or, with test_rotated=True, the same digits randomly rotated (another seed).
    download=True fetches the official test set into mnist_dir first when it is missing.
    """
    mnist_dir = Path(mnist_dir) if mnist_dir is not None else paths.mnist_dir()
    if download:
        fetch_if_missing(mnist_dir)
    images, labels = read_mnist(mnist_dir)
    if n_train < 1 or n_test < 1 or len(images) < n_train + n_test:
        raise DataError(f"{find_mnist_files(mnist_dir)[0]}: holds {len(images)} digits; the split "
                        f"needs n_train + n_test = {n_train} + {n_test}")
    train, test = images[:n_train], images[n_train:n_train + n_test]
    X_train = [voxelize_digits(train)]
    for copy in range(rotated_copies):
        X_train.append(voxelize_digits(train, rotate_deg=rotate_deg, jitter=jitter, seed=seed + 1 + copy))
    if test_rotated:
        X_test = voxelize_digits(test, rotate_deg=rotate_deg, jitter=jitter, seed=seed + 1_000_003)
    else:
        X_test = voxelize_digits(test)
    y_train = np.tile(labels[:n_train], 1 + rotated_copies)
    return np.concatenate(X_train), y_train, X_test, labels[n_train:n_train + n_test]


def fetch_if_missing(mnist_dir) -> None:
    """Downloads the official MNIST test set into mnist_dir unless it already holds MNIST files."""
    try:
        find_mnist_files(mnist_dir)
    except FileNotFoundError:
        download_mnist(mnist_dir)


def input_files(params) -> list[Path]:
    """Returns the IDX files a build with these parameters reads."""
    if params.get("download"):
        fetch_if_missing(params["mnist_dir"])
    return list(find_mnist_files(params["mnist_dir"]))
