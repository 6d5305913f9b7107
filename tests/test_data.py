"""IDX files, VoxelDataset, load_dataset and its cache."""

import gzip

import numpy as np
import pytest
from test_data_voxelize import blob_digits

from genlab import paths
from genlab.data import DataError, VoxelDataset, load_dataset, read_idx, read_mnist, write_idx
from genlab.data import dataset as dataset_module


def make_mnist_folder(folder, count=14, test_prefix="t10k"):
    """Writes a small MNIST folder of blocky digits: `count` training digits (train-*, labels
    9, 8, ...) and `count` test digits (`test_prefix`-*, labels 0, 1, ...); returns
    {"train": (images, labels), "test": (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, prefix, seed in (("train", "train", 6), ("test", test_prefix, 5)):
        images = blob_digits(count, seed=seed)
        labels = np.arange(count) % 10
        labels = (9 - labels if split == "train" else labels).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        written[split] = images, labels
    return written


@pytest.mark.parametrize("name", ["a-idx3-ubyte.gz", "a-idx3-ubyte"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_idx_round_trip(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_reads_the_shared_mnist_digits(shared_data):
    images, labels = read_mnist(shared_data / "mnist")
    assert images.shape == (8000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_non_idx_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "notes-images-idx3-ubyte"
    bad.write_text("hello, this is not MNIST")
    with pytest.raises(DataError, match="notes-images-idx3-ubyte.*not an IDX file"):
        read_idx(bad)


def test_truncated_idx_is_named_in_the_error(tmp_path):
    path = tmp_path / "x-images-idx3-ubyte"
    write_idx(path, np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"x-images-idx3-ubyte.*\(4, 28, 28\).*truncated"):
        read_idx(path)


def test_corrupt_gzip_is_named_in_the_error(tmp_path):
    path = tmp_path / "x-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataError, match="x-images-idx3-ubyte.gz.*gzip"):
        read_idx(path)


def test_idx_header_claiming_a_huge_array_is_refused(tmp_path):
    path = tmp_path / "huge-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3 + b"\x00" * 64)
    with pytest.raises(DataError, match="huge-images-idx3-ubyte.*truncated or corrupt"):
        read_idx(path)


def test_gzip_bomb_is_refused(tmp_path, monkeypatch):
    from genlab.data import idx

    monkeypatch.setattr(idx, "MAX_BYTES", 10_000)
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (10**6).to_bytes(4, "big") + bytes(10**6)))
    with pytest.raises(DataError, match="bomb-images-idx3-ubyte.gz.*more than 10000 bytes"):
        read_idx(path)


def test_mnist_labels_must_match_images(tmp_path):
    make_mnist_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz.*14 labels"):
        read_mnist(tmp_path)


def test_missing_mnist_folder_says_how_to_set_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="GENLAB_MNIST_DIR"):
        read_mnist(tmp_path / "nowhere")


def test_mnist_dataset_split_and_cache(tmp_path):
    digits = make_mnist_folder(tmp_path / "mnist")
    data = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=1)
    assert data.X_train.shape == (20, 16, 16, 16) and data.X_test.shape == (4, 16, 16, 16)
    # MNIST's own split: training digits from train-*, test digits from t10k-*
    assert data.y_train.tolist() == digits["train"][1][:10].tolist() * 2
    assert data.y_test.tolist() == digits["test"][1][:4].tolist()
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    # the canonical half differs from its rotated copies; test is canonical by default
    assert not np.array_equal(data.X_train[:10], data.X_train[10:])
    from genlab.data import voxelize_digits
    np.testing.assert_array_equal(data.X_train[:10], voxelize_digits(digits["train"][0][:10]))
    np.testing.assert_array_equal(data.X_test, voxelize_digits(digits["test"][0][:4]))

    cached = list(paths.cache_dir().glob("mnist-*.npz"))
    assert len(cached) == 1 and not list(paths.cache_dir().glob("*.tmp"))
    again = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=1)
    assert again.fingerprint == data.fingerprint
    np.testing.assert_array_equal(again.X_train, data.X_train)
    assert again.describe() == data.describe()
    assert data.describe()["n_train"] == 20 and data.describe()["params"]["rotated_copies"] == 1


def test_rotated_test_split_uses_the_same_digits_rotated(tmp_path):
    make_mnist_folder(tmp_path / "mnist")
    common = dict(mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=0)
    plain = load_dataset("mnist", **common)
    rotated = load_dataset("mnist", test_rotated=True, **common)
    assert rotated.y_test.tolist() == plain.y_test.tolist()
    assert not np.array_equal(rotated.X_test, plain.X_test)
    np.testing.assert_array_equal(rotated.X_train, plain.X_train)
    assert rotated.fingerprint != plain.fingerprint


def test_cache_is_keyed_by_parameters_and_inputs(tmp_path):
    make_mnist_folder(tmp_path / "mnist")
    load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=0)
    load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=9, n_test=4, rotated_copies=0)
    assert len(list(paths.cache_dir().glob("mnist-*.npz"))) == 2
    make_mnist_folder(tmp_path / "mnist", count=15)  # the input changed: rebuilt
    data = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=5, rotated_copies=0)
    assert len(data.X_test) == 5


def test_reloads_from_cache_without_building(tmp_path, monkeypatch):
    make_mnist_folder(tmp_path / "mnist")
    first = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=0)
    from genlab.data import mnist

    def fail(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(mnist, "voxelize_digits", fail)
    again = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=0)
    assert again.fingerprint == first.fingerprint


def test_damaged_cache_file_is_rebuilt(tmp_path):
    make_mnist_folder(tmp_path / "mnist")
    first = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=0)
    (cached,) = paths.cache_dir().glob("mnist-*.npz")
    cached.write_bytes(cached.read_bytes()[:1000])
    again = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4, rotated_copies=0)
    assert again.fingerprint == first.fingerprint


def test_failed_build_leaves_no_cache_behind(tmp_path):
    make_mnist_folder(tmp_path / "mnist")
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 10))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4)
    assert not paths.cache_dir().exists() or not list(paths.cache_dir().iterdir())


def test_interrupted_cache_write_leaves_nothing(tmp_path, monkeypatch):
    make_mnist_folder(tmp_path / "mnist")
    data = load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4,
                        rotated_copies=0, cache=False)
    assert not paths.cache_dir().exists()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        dataset_module.write_cache(data, paths.cache_dir() / "x.npz")
    assert list(paths.cache_dir().iterdir()) == []


def test_split_too_large_for_the_file(tmp_path):
    make_mnist_folder(tmp_path / "mnist")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: holds 14 test digits"):
        load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=20)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: holds 14 train digits"):
        load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=15, n_test=4)


def test_a_folder_without_training_digits_says_which_file_is_missing(tmp_path):
    make_mnist_folder(tmp_path / "mnist")
    for file in (tmp_path / "mnist").glob("train-*"):
        file.unlink()
    with pytest.raises(FileNotFoundError, match="no MNIST train images file"):
        load_dataset("mnist", mnist_dir=tmp_path / "mnist", n_train=10, n_test=4)


def test_the_shared_folder_splits_into_training_and_t10k_digits(shared_data):
    train, train_labels = read_mnist(shared_data / "mnist", "train")
    test, test_labels = read_mnist(shared_data / "mnist", "test")
    assert train.shape == (22000, 28, 28) and test.shape == (8000, 28, 28)
    assert train_labels[:5].tolist() == [5, 0, 4, 1, 9] and test_labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_embedded_digits_are_the_first_mnist_training_digits_with_the_last_held_out(shared_data):
    from genlab.data.embedded import N_DIGITS, N_TRAIN, read_embedded

    embedded = read_embedded()
    images, labels = read_mnist(shared_data / "mnist", "train")
    for split, part in (("train", slice(0, N_TRAIN)), ("test", slice(N_TRAIN, N_DIGITS))):
        np.testing.assert_array_equal(embedded[split][0], images[part])
        np.testing.assert_array_equal(embedded[split][1], labels[part])
        assert embedded[split][1].dtype == np.int64
    with np.load(paths.EMBEDDED_MNIST) as data:
        assert sorted(data.files) == ["train_images", "train_labels"]  # no test (t10k) digits are shipped


def test_embedded_file_is_compact_and_licensed():
    assert paths.EMBEDDED_MNIST.stat().st_size < 5 * 2**20
    notice = (paths.EMBEDDED_MNIST.parent / "README.md").read_text()
    assert "CC BY-SA 3.0" in notice and "LeCun" in notice


def test_mnist_without_a_folder_builds_from_the_embedded_digits(monkeypatch):
    from genlab.data import voxelize_digits
    from genlab.data.embedded import read_embedded

    monkeypatch.delenv("GENLAB_MNIST_DIR", raising=False)
    reports = []
    data = load_dataset("mnist", n_train=30, n_test=10, rotated_copies=1,
                        progress=lambda done, total: reports.append((done, total)))
    embedded = read_embedded()
    assert data.params["mnist_dir"] is None and "progress" not in data.params
    assert data.X_train.shape == (60, 16, 16, 16) and data.y_test.tolist() == embedded["test"][1][:10].tolist()
    np.testing.assert_array_equal(data.X_test, voxelize_digits(embedded["test"][0][:10]))
    assert reports[-1] == (70, 70) and [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert dataset_module.is_cached("mnist", {"n_train": 30, "n_test": 10, "rotated_copies": 1})


def test_damaged_embedded_file_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("GENLAB_MNIST_DIR", raising=False)
    damaged = tmp_path / "mnist-digits.npz"
    damaged.write_bytes(paths.EMBEDDED_MNIST.read_bytes()[:5000])
    monkeypatch.setattr(paths, "EMBEDDED_MNIST", damaged)
    with pytest.raises(DataError, match="mnist-digits.npz: damaged embedded MNIST file"):
        load_dataset("mnist", n_train=10, n_test=4)


def test_unknown_source_and_parameter():
    with pytest.raises(ValueError, match="unknown dataset source 'nope'"):
        load_dataset("nope")
    with pytest.raises(ValueError, match="'mnist'.*banana"):
        load_dataset("mnist", banana=1)


def valid_arrays(n=3):
    X = np.zeros((n, 16, 16, 16), dtype=np.float32)
    return X, np.zeros(n, dtype=np.int64), X[:2], np.zeros(2, dtype=np.int64)


@pytest.mark.parametrize("change, message", [
    (lambda a: (a[0].astype(np.float64),) + a[1:], "float32"),
    (lambda a: (a[0][:, :8],) + a[1:], "float32"),
    (lambda a: (a[0], a[1][:2]) + a[2:], "int64"),
    (lambda a: (a[0] + np.float32(np.nan),) + a[1:], "NaN"),
    (lambda a: (a[0] + 2,) + a[1:], r"\[0, 1\]"),
    (lambda a: (a[0], a[1] + 10) + a[2:], "0..9"),
])
def test_voxel_dataset_rejects_bad_arrays(change, message):
    with pytest.raises(DataError, match=message):
        VoxelDataset(*change(valid_arrays()), source="test")


def test_fingerprint_depends_on_the_data():
    a = VoxelDataset(*valid_arrays(), source="test")
    arrays = valid_arrays()
    arrays[0][0, 0, 0, 0] = 0.5
    b = VoxelDataset(*arrays, source="test")
    assert len(a.fingerprint) == 16 and a.fingerprint != b.fingerprint
    assert a.fingerprint == VoxelDataset(*valid_arrays(), source="test").fingerprint
