"""Hostile or unlucky input files: HDF5 that lies about its size or points elsewhere, 16-bit images, pickles."""

import io
import os
import struct
import time

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import DataError, load_dataset
from genlab.data import kaggle
from genlab.data.kaggle import read_vectors, write_vectors
from genlab.models import load_model, save_model

from test_data_kaggle import make_vectors, small_vectors, write_point_clouds


# -- HDF5 that claims more than it holds ------------------------------------------------------------
def huge_claim(path, rows=10**7):
    """Writes a small Kaggle-layout file whose X_train claims rows x 4096 float32 (chunked, compressed, empty)."""
    with h5py.File(path, "w") as file:
        file.create_dataset("X_train", shape=(rows, 4096), dtype="f4", chunks=(1, 4096), compression="gzip")
        file.create_dataset("y_train", shape=(rows,), dtype="i8", chunks=(4096,), compression="gzip")
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    return path


def test_a_file_claiming_a_huge_shape_is_refused_before_reading(tmp_path):
    path = huge_claim(tmp_path / "liar.h5")
    assert path.stat().st_size < 1_000_000
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"liar\.h5: 10,000,001 digits would take 152\.7 GiB.*GENLAB_MAX_DATA_BYTES"):
        load_dataset("kaggle", path=path)
    assert time.perf_counter() - started < 2


def test_the_size_budget_is_configurable(tmp_path, monkeypatch):
    path, X, _ = small_vectors(tmp_path)  # 8 digits: 131 KB as float32
    monkeypatch.setenv("GENLAB_MAX_DATA_BYTES", "100000")
    with pytest.raises(DataError, match="over the 0.0 GiB limit"):
        read_vectors(path)
    monkeypatch.setenv("GENLAB_MAX_DATA_BYTES", "200000")
    np.testing.assert_array_equal(read_vectors(path)[0], X[:6])
    with pytest.raises(DataError, match="over the"):
        read_vectors(path, max_bytes=1000)


def test_vectors_are_read_in_chunks_with_the_same_result(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(11, 16, 16, 16)).astype(np.float32)
    y = rng.integers(0, 10, 11)
    write_vectors(tmp_path / "v.h5", X[:7], y[:7], X[7:], y[7:])
    reads = []
    original = h5py.Dataset.__getitem__

    def counting(self, key):
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(kaggle, "CHUNK_ROWS", 3)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    X_train, y_train, X_test, y_test = read_vectors(tmp_path / "v.h5")
    np.testing.assert_array_equal(X_train, X[:7])
    np.testing.assert_array_equal(X_test, X[7:])
    assert y_train.tolist() == y[:7].tolist() and y_test.tolist() == y[7:].tolist()
    assert reads == [slice(0, 3), slice(3, 6), slice(6, 9)] * 2 + [slice(0, 3), slice(3, 6)] * 2  # 7 + 4 rows


def test_a_non_numeric_dataset_is_refused_before_reading(tmp_path):
    path = make_vectors(tmp_path / "strings.h5", X_train=np.array([[b"a"] * 4096] * 3))
    with pytest.raises(DataError, match=r"X_train must be numeric \(N, 4096\), got \|S1"):
        load_dataset("kaggle", path=path)


def test_a_point_cloud_sample_claiming_too_many_points_is_refused(tmp_path):
    path = tmp_path / "clouds.h5"
    write_point_clouds(path, [np.zeros((5, 3))], [1])
    with h5py.File(path, "a") as file:
        group = file.create_group("1")
        group.create_dataset("points", shape=(10**9, 3), dtype="f8", chunks=(1000, 3), compression="gzip")
        group.attrs["label"] = 2
    with pytest.raises(DataError, match="sample '1' claims 1,000,000,000 points"):
        load_dataset("kaggle", path=path)


# -- HDF5 that reads other files --------------------------------------------------------------------
SECRET = np.full((2, 4096), 0.5, np.float32)


def secret_file(tmp_path):
    """A file the server holds that a visitor must not read through an upload."""
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET.tobytes())
    return path


def test_external_storage_is_refused(tmp_path):
    secret = secret_file(tmp_path)
    path = tmp_path / "upload.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("X_train", shape=(2, 4096), dtype="f4", external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
        file["y_train"] = np.zeros(2, np.int64)
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    with h5py.File(path) as file:  # what the old reader returned: another file's bytes
        np.testing.assert_array_equal(file["X_train"][()], SECRET)
    with pytest.raises(DataError, match="X_train' keeps its data outside the file \\(external storage\\)"):
        load_dataset("kaggle", path=path)


def test_a_virtual_dataset_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["data"] = SECRET
    layout = h5py.VirtualLayout(shape=(2, 4096), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "data", shape=(2, 4096))
    path = tmp_path / "upload.h5"
    with h5py.File(path, "w") as file:
        file.create_virtual_dataset("X_train", layout)
        file["y_train"] = np.zeros(2, np.int64)
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    with pytest.raises(DataError, match=r"X_train' keeps its data outside the file \(virtual dataset\)"):
        load_dataset("kaggle", path=path)


@pytest.mark.parametrize("link", ["external", "soft"])
def test_links_are_refused_without_following_them(tmp_path, link):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["data"] = SECRET
    path = tmp_path / "upload.h5"
    with h5py.File(path, "w") as file:
        file["real"] = SECRET
        file["X_train"] = h5py.ExternalLink(str(other), "data") if link == "external" else h5py.SoftLink("/real")
        file["y_train"] = np.zeros(2, np.int64)
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    with pytest.raises(DataError, match=r"upload\.h5: dataset 'X_train' is a link"):
        load_dataset("kaggle", path=path)


def test_a_point_cloud_linking_to_another_file_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    write_point_clouds(other, [np.ones((4, 3))], [3])
    path = tmp_path / "clouds.h5"
    write_point_clouds(path, [np.zeros((5, 3)) + np.arange(3)] * 2, [1, 2])
    with h5py.File(path, "a") as file:
        file["1"]["points"].attrs["x"] = 1
        del file["1"]["points"]
        file["1"]["points"] = h5py.ExternalLink(str(other), "0/points")
    with pytest.raises(DataError, match="sample '1' points is a link"):
        load_dataset("kaggle", path=path)
