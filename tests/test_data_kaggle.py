"""The Kaggle 3D MNIST files: both layouts, round trips, and bad files."""

import h5py
import numpy as np
import pytest
from test_data_voxelize import blob_digits, reference_cloud, reference_voxelize

from genlab import paths
from genlab.data import DataError, load_dataset, voxelize_digits
from genlab.data.kaggle import read_point_clouds, read_vectors, write_vectors
from genlab.data.voxelize import voxelize_points


def small_vectors(tmp_path, name="full_dataset_vectors.h5"):
    digits = blob_digits(8, seed=2)
    X = voxelize_digits(digits)
    labels = np.arange(8) % 10
    path = tmp_path / name
    write_vectors(path, X[:6], labels[:6], X[6:], labels[6:])
    return path, X, labels


def write_point_clouds(path, clouds, labels):
    with h5py.File(path, "w") as file:
        for i, (cloud, label) in enumerate(zip(clouds, labels)):
            group = file.create_group(str(i))
            group.create_dataset("points", data=cloud)
            group.create_dataset("normals", data=np.zeros_like(cloud))
            group.create_dataset("img", data=np.zeros((30, 30)))
            group.attrs["label"] = label


def test_vectors_round_trip(tmp_path):
    path, X, labels = small_vectors(tmp_path)
    X_train, y_train, X_test, y_test = read_vectors(path)
    np.testing.assert_array_equal(X_train, X[:6])
    np.testing.assert_array_equal(X_test, X[6:])
    assert y_train.dtype == np.int64 and y_train.tolist() == labels[:6].tolist()
    with h5py.File(path) as file:  # the Kaggle layout: 4096-long rows
        assert file["X_train"].shape == (6, 4096) and file["y_test"].shape == (2,)


def test_kaggle_source_reads_a_vectors_file(tmp_path):
    path, X, _ = small_vectors(tmp_path)
    data = load_dataset("kaggle", path=path)
    assert data.source == "kaggle" and data.params["path"] == str(path.resolve())
    np.testing.assert_array_equal(data.X_train, X[:6])
    assert load_dataset("kaggle", path=path).fingerprint == data.fingerprint


def test_point_clouds_voxelize_like_the_procedure(tmp_path):
    digits = blob_digits(5, seed=8)
    clouds = [reference_cloud(d) for d in digits]
    np.testing.assert_array_equal(voxelize_points(clouds), voxelize_digits(digits))
    write_point_clouds(tmp_path / "train_point_clouds.h5", clouds[:3], [1, 2, 3])
    write_point_clouds(tmp_path / "test_point_clouds.h5", clouds[3:], [4, 5])
    X, y = read_point_clouds(tmp_path / "test_point_clouds.h5")
    assert y.tolist() == [4, 5]
    np.testing.assert_array_equal(X, voxelize_digits(digits[3:]))
    data = load_dataset("kaggle", path=tmp_path / "train_point_clouds.h5")  # finds its sibling
    assert data.y_train.tolist() == [1, 2, 3] and data.y_test.tolist() == [4, 5]
    np.testing.assert_array_equal(data.X_train, voxelize_digits(digits[:3]))


def test_voxelize_points_matches_searchsorted_on_random_clouds():
    rng = np.random.default_rng(0)
    clouds = [rng.normal(size=(500, 3)) * [1, 2, 0.5], rng.uniform(size=(40, 3))]
    expected = np.stack([reference_voxelize(None, 16, cloud=c) for c in clouds])
    np.testing.assert_array_equal(voxelize_points(clouds).reshape(2, -1), expected)


def test_lone_point_cloud_file_is_split(tmp_path):
    rng = np.random.default_rng(1)
    clouds = [rng.normal(size=(50, 3)) for _ in range(12)]
    write_point_clouds(tmp_path / "mine.h5", clouds, [i % 10 for i in range(12)])
    data = load_dataset("kaggle", path=tmp_path / "mine.h5")
    assert len(data.X_train) == 10 and len(data.X_test) == 2


def assert_bad(path, message):
    with pytest.raises(DataError, match=message) as caught:
        load_dataset("kaggle", path=path)
    assert path.name in str(caught.value)
    assert not paths.cache_dir().exists() or not list(paths.cache_dir().iterdir())


def test_truncated_hdf5(tmp_path):
    path, _, _ = small_vectors(tmp_path)
    path.write_bytes(path.read_bytes()[:2000])
    assert_bad(path, "corrupt or truncated")


def test_not_hdf5(tmp_path):
    path = tmp_path / "full_dataset_vectors.h5"
    path.write_text("X_train,y_train\n1,2\n")
    assert_bad(path, "not a readable HDF5 file")


def test_missing_dataset(tmp_path):
    path = tmp_path / "vectors.h5"
    with h5py.File(path, "w") as file:
        file["X_train"] = np.zeros((2, 4096))
        file["y_train"] = np.zeros(2)
        file["X_test"] = np.zeros((1, 4096))
    assert_bad(path, "missing dataset 'y_test'")


def make_vectors(path, **changes):
    arrays = {"X_train": np.zeros((3, 4096)), "y_train": np.arange(3), "X_test": np.zeros((2, 4096)),
              "y_test": np.arange(2)}
    arrays.update(changes)
    with h5py.File(path, "w") as file:
        for key, value in arrays.items():
            file[key] = value
    return path


@pytest.mark.parametrize("changes, message", [
    ({"X_train": np.zeros((3, 1000))}, r"X_train must be numeric \(N, 4096\)"),
    ({"y_test": np.arange(5)}, r"y_test must be numeric \(2,\)"),
    ({"X_test": np.full((2, 4096), np.nan)}, "X_test holds NaN"),
    ({"X_train": np.full((3, 4096), 3.0)}, r"X_train values must lie in \[0, 1\]"),
    ({"y_train": np.array([0, 1, 12])}, "y_train must hold digit labels 0..9"),
])
def test_bad_vectors(tmp_path, changes, message):
    assert_bad(make_vectors(tmp_path / "vectors.h5", **changes), message)


def test_bad_point_clouds(tmp_path):
    good = [np.zeros((5, 3)) + np.arange(3), np.ones((4, 3))]
    path = tmp_path / "clouds.h5"
    write_point_clouds(path, [good[0], np.full((4, 3), np.nan)], [1, 2])
    assert_bad(path, "sample '1' points hold NaN")
    write_point_clouds(path, [good[0], np.ones((4, 2))], [1, 2])
    assert_bad(path, r"sample '1' points must be \(P, 3\)")
    write_point_clouds(path, good, [1, 42])
    assert_bad(path, "sample '1' needs a 'label' attribute 0..9")


def test_neither_layout(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as file:
        file["weights"] = np.zeros(3)
    assert_bad(path, "neither Kaggle layout")


def test_kaggle_needs_a_path():
    with pytest.raises(ValueError, match="path=FILE"):
        load_dataset("kaggle")
    with pytest.raises(FileNotFoundError):
        load_dataset("kaggle", path="/nonexistent/full_dataset_vectors.h5")
