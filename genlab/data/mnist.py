"""The "mnist" source: 3D MNIST built from real MNIST digits with MNIST's own split.

The digits come from an MNIST folder of IDX files (`mnist_dir`, or GENLAB_MNIST_DIR), or, when
no folder is given, from the digits embedded in genlab (genlab.data.embedded), so a fresh
clone builds real 3D MNIST offline.
"""

import threading
from pathlib import Path

import numpy as np

from genlab import paths
from genlab.data.download import download_mnist
from genlab.data.embedded import N_TEST, N_TRAIN, read_embedded
from genlab.data.errors import DataError
from genlab.data.idx import find_mnist_files, read_mnist
from genlab.data.voxelize import voxelize_digits


def build(mnist_dir=None, n_train=N_TRAIN, n_test=N_TEST, rotated_copies=1, rotate_deg=30.0,
          test_rotated=False, jitter=0.0, seed=0, download=False, progress=None):
    """Returns (X_train, y_train, X_test, y_test) voxelized from MNIST digits.

    genlab's standard split: train = MNIST training digits 0 .. n_train-1 as published
    (canonical), plus `rotated_copies` copies of them each rotated at random by up to
    +-rotate_deg degrees about every axis (and jittered by `jitter`); test = from a folder,
    MNIST's test (t10k) digits 0 .. n_test-1; from the embedded digits (mnist_dir=None, which
    hold training digits only), the training digits after those trained on (see
    genlab.data.embedded); canonical, or, with test_rotated=True, the same digits randomly
    rotated (another seed); download=True
    fetches the official files into mnist_dir first when they are missing. progress(done,
    total), if given, hears how many of the grids are voxelized.
    """
    splits = read_splits(mnist_dir, download)
    for split, count in (("train", n_train), ("test", n_test)):
        available = len(splits[split][0])
        if count < 1 or available < count:
            raise DataError(f"{source_name(mnist_dir, split)}: holds {available} {split} digits; "
                            f"the split needs n_{split} = {count}")
    train, train_labels = splits["train"][0][:n_train], splits["train"][1][:n_train]
    test, test_labels = splits["test"][0][:n_test], splits["test"][1][:n_test]

    total, done, lock = n_train * (1 + rotated_copies) + n_test, [0], threading.Lock()

    def counted(count):  # called from voxelize_digits' worker threads
        with lock:
            done[0] += count
            if progress is not None:
                progress(done[0], total)

    X_train = [voxelize_digits(train, on_chunk=counted)]
    for copy in range(rotated_copies):
        X_train.append(voxelize_digits(train, rotate_deg=rotate_deg, jitter=jitter, seed=seed + 1 + copy,
                                       on_chunk=counted))
    if test_rotated:
        X_test = voxelize_digits(test, rotate_deg=rotate_deg, jitter=jitter, seed=seed + 1_000_003,
                                 on_chunk=counted)
    else:
        X_test = voxelize_digits(test, on_chunk=counted)
    return np.concatenate(X_train), np.tile(train_labels, 1 + rotated_copies), X_test, test_labels


def read_splits(mnist_dir=None, download=False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Returns {"train": (images, labels), "test": (images, labels)} from a folder or the embedded digits."""
    if mnist_dir is None:
        return read_embedded()
    if download:
        fetch_if_missing(mnist_dir)
    return {split: read_mnist(mnist_dir, split) for split in ("train", "test")}


def source_name(mnist_dir, split: str) -> Path:
    """Returns the file a split's digits come from (for error messages)."""
    return paths.EMBEDDED_MNIST if mnist_dir is None else find_mnist_files(mnist_dir, split)[0]


def fetch_if_missing(mnist_dir) -> None:
    """Downloads the official MNIST files into mnist_dir unless it already holds both splits."""
    try:
        find_mnist_files(mnist_dir, "train"), find_mnist_files(mnist_dir, "test")
    except FileNotFoundError:
        download_mnist(mnist_dir)


def input_files(params) -> list[Path]:
    """Returns the files a build with these parameters reads."""
    if params["mnist_dir"] is None:
        return [paths.EMBEDDED_MNIST]
    if params.get("download"):
        fetch_if_missing(params["mnist_dir"])
    return [file for split in ("train", "test") for file in find_mnist_files(params["mnist_dir"], split)]
