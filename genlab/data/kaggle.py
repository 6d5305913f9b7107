"""The "kaggle" source: the Kaggle 3D MNIST files, and our datasets written in their layout.

Two layouts (HDF5):
- vectors (`full_dataset_vectors.h5`): datasets X_train (N, 4096), y_train (N,),
  X_test (M, 4096), y_test (M,); each row a 16x16x16 grid in [0, 1] in 3D MNIST order.
- point clouds (`train_point_clouds.h5`, `test_point_clouds.h5`): one group per sample
  holding `points` (P, 3) (normalised and rotated already), `normals`, `img`, and an
  attribute `label`. Points are voxelized with step 4 of the 3D MNIST procedure.
"""

import os
from pathlib import Path

import numpy as np

from genlab.data.errors import DataError
from genlab.data.voxelize import GRID, voxelize_points
from genlab.files import atomic_write

VECTOR_KEYS = ("X_train", "y_train", "X_test", "y_test")
TEST_FRACTION = 1 / 6  # point-cloud file without its train/test sibling: last sixth is test
DEFAULT_MAX_BYTES = 2 * 2**30  # float32 voxels one file may expand to (about 130,000 digits at 16^3)
MAX_CLOUD_POINTS = 1_000_000  # points in one point-cloud sample (Kaggle's hold tens of thousands)
CHUNK_ROWS = 4096  # vectors read at a time, so reading never holds more than the result and one chunk
CHUNK_POINTS = 5_000_000  # points voxelized at a time


def max_data_bytes() -> int:
    """Returns how many bytes of float32 voxels one file may claim: $GENLAB_MAX_DATA_BYTES, else DEFAULT_MAX_BYTES."""
    value = os.environ.get("GENLAB_MAX_DATA_BYTES")
    try:
        return int(float(value)) if value else DEFAULT_MAX_BYTES
    except ValueError:
        raise ValueError(f"GENLAB_MAX_DATA_BYTES must be a number of bytes, not {value!r}") from None


def _open(path):
    """Returns an open h5py.File, or raises DataError naming the file."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise DataError(f"{path}: not a readable HDF5 file, corrupt or truncated ({error})") from None


def _node(group, name: str, path, where: str):
    """Returns group[name] (a dataset or group) if it is stored in this file; DataError otherwise.

    Links to other files, soft links, virtual datasets and external raw storage are refused
    before anything is read through them: they would make genlab read files other than this one.
    """
    import h5py

    link = group.get(name, getlink=True)
    if link is None:
        raise DataError(f"{path}: missing {where}")
    if not isinstance(link, h5py.HardLink):
        raise DataError(
            f"{path}: {where} is a link ({type(link).__name__}); genlab reads only data stored in the file itself"
        )
    node = group[name]
    if isinstance(node, h5py.Dataset) and (node.is_virtual or node.external):
        raise DataError(
            f"{path}: {where} keeps its data outside the file "
            f"({'virtual dataset' if node.is_virtual else 'external storage'}); "
            f"genlab reads only data stored in the file itself"
        )
    return node


def _dataset(group, name: str, path, where: str):
    """Returns the h5py Dataset group[name], checked by _node."""
    import h5py

    node = _node(group, name, path, where)
    if not isinstance(node, h5py.Dataset):
        raise DataError(f"{path}: {where} is a group, not a dataset")
    return node


def _numeric(dtype) -> bool:
    return dtype.kind in "biuf"


def _over_budget(path, what: str, n_bytes: int, max_bytes: int) -> DataError:
    return DataError(f"{path}: {what} would take {n_bytes / 2**30:.1f} GiB in memory, over the "
                     f"{max_bytes / 2**30:.1f} GiB limit for one file (set GENLAB_MAX_DATA_BYTES to allow more)")


def file_layout(path) -> str:
    """Returns "vectors" or "point_clouds": which Kaggle layout an HDF5 file holds."""
    with _open(path) as file:
        if any(file.get(key, getlink=True) is not None for key in VECTOR_KEYS):
            return "vectors"
        names = list(file)[:3]
        if names and all(_is_sample(_node(file, name, path, f"sample {name!r}")) for name in names):
            return "point_clouds"
        raise DataError(f"{path}: neither Kaggle layout: expected datasets {', '.join(VECTOR_KEYS)} "
                        f"or groups with 'points'; found {', '.join(list(file)[:8]) or 'nothing'}")


def _is_sample(node) -> bool:
    # get(getlink=True), not `in`: `in` follows a link to another file to see if its target exists
    return hasattr(node, "keys") and node.get("points", getlink=True) is not None


def read_vectors(path, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns (X_train, y_train, X_test, y_test) of a vectors file: X float32 (N, 16, 16, 16), y int64.

    Shapes, types and the memory they need (at most max_bytes, default max_data_bytes()) are
    checked before anything is read; then X is read in chunks of CHUNK_ROWS rows. Raises
    DataError naming the file for missing datasets, links or storage outside the file, wrong
    shapes, sizes over the budget, NaN, values outside [0, 1] or labels outside 0..9.
    """
    max_bytes = max_data_bytes() if max_bytes is None else max_bytes
    with _open(path) as file:
        missing = [key for key in VECTOR_KEYS if file.get(key, getlink=True) is None]
        if missing:
            raise DataError(f"{path}: missing dataset {missing[0]!r} (has {', '.join(file) or 'nothing'})")
        sets = {key: _dataset(file, key, path, f"dataset {key!r}") for key in VECTOR_KEYS}
        for split in ("train", "test"):
            X, y = sets[f"X_{split}"], sets[f"y_{split}"]
            if len(X.shape) != 2 or X.shape[1] != GRID**3 or not _numeric(X.dtype):
                raise DataError(f"{path}: X_{split} must be numeric (N, {GRID**3}), got {X.dtype} {X.shape}")
            if y.shape != (X.shape[0],) or not _numeric(y.dtype):
                raise DataError(f"{path}: y_{split} must be numeric ({X.shape[0]},), got {y.dtype} {y.shape}")
        rows = sets["X_train"].shape[0] + sets["X_test"].shape[0]
        if rows * (GRID**3 * 4 + 8) > max_bytes:
            raise _over_budget(path, f"{rows:,} digits", rows * (GRID**3 * 4 + 8), max_bytes)
        out = []
        for split in ("train", "test"):
            X = _read_chunked(sets[f"X_{split}"], path, f"X_{split}")
            y = _read_chunked(sets[f"y_{split}"], path, f"y_{split}", labels=True)
            out += [X.reshape(len(X), GRID, GRID, GRID), y]
    return tuple(out)


def _read_chunked(dataset, path, name: str, labels: bool = False) -> np.ndarray:
    """Returns a vectors dataset read CHUNK_ROWS rows at a time and checked: float32 values in [0, 1],
    or (labels=True) int64 digits 0..9."""
    out = np.empty(dataset.shape, np.int64 if labels else np.float32)
    for start in range(0, dataset.shape[0], CHUNK_ROWS):
        try:
            block = dataset[start:start + CHUNK_ROWS]
        except (OSError, ValueError, TypeError) as error:
            raise DataError(f"{path}: dataset {name!r} is unreadable ({error})") from None
        if labels:
            if block.size and (not np.isfinite(block).all() or (block != np.round(block)).any()
                               or block.min() < 0 or block.max() > 9):
                raise DataError(f"{path}: {name} must hold digit labels 0..9")
        else:
            if not np.isfinite(block).all():
                raise DataError(f"{path}: {name} holds NaN or infinite values")
            if block.size and (block.min() < 0 or block.max() > 1):
                raise DataError(f"{path}: {name} values must lie in [0, 1], found {block.min():g}..{block.max():g}")
        out[start:start + CHUNK_ROWS] = block
    return out


def write_vectors(path, X_train, y_train, X_test, y_test) -> None:
    """Writes a dataset in the Kaggle vectors layout (X rows of 4096 floats), atomically."""
    import h5py

    def write(temp: Path) -> None:
        with h5py.File(temp, "w") as file:
            for key, array in zip(VECTOR_KEYS, (X_train, y_train, X_test, y_test)):
                array = np.asarray(array)
                if key.startswith("X"):
                    array = array.reshape(len(array), -1).astype(np.float32)
                file.create_dataset(key, data=array, compression="gzip", compression_opts=4)

    atomic_write(path, write)


def read_point_clouds(path, resolution=GRID, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (X float32 (N, r, r, r), y int64 (N,)) from a point-cloud file, samples in name order.

    The number of samples (their voxels must fit max_bytes, default max_data_bytes()) and each
    sample's points (at most MAX_CLOUD_POINTS) are checked before they are read; links and
    storage outside the file are refused (see _node).
    """
    max_bytes = max_data_bytes() if max_bytes is None else max_bytes
    clouds, labels, grids, pending = [], [], [], 0
    with _open(path) as file:
        names = sorted(file, key=lambda name: (not name.isdigit(), int(name) if name.isdigit() else 0, name))
        if not names:
            raise DataError(f"{path}: holds no samples")
        if len(names) * resolution**3 * 4 > max_bytes:
            raise _over_budget(path, f"{len(names):,} samples", len(names) * resolution**3 * 4, max_bytes)
        for name in names:
            node = _node(file, name, path, f"sample {name!r}")
            if not _is_sample(node):
                raise DataError(f"{path}: sample {name!r} has no 'points' dataset")
            dataset = _dataset(node, "points", path, f"sample {name!r} points")
            shape = dataset.shape
            if len(shape) != 2 or shape[1] != 3 or shape[0] == 0:
                raise DataError(f"{path}: sample {name!r} points must be (P, 3), got {shape}")
            if shape[0] > MAX_CLOUD_POINTS:
                raise DataError(f"{path}: sample {name!r} claims {shape[0]:,} points; at most "
                                f"{MAX_CLOUD_POINTS:,} are read")
            if not _numeric(dataset.dtype):
                raise DataError(f"{path}: sample {name!r} points hold NaN, infinite or non-numeric values")
            try:
                points = dataset[()]
            except (OSError, ValueError, TypeError) as error:
                raise DataError(f"{path}: sample {name!r} points are unreadable ({error})") from None
            if not np.isfinite(points).all():
                raise DataError(f"{path}: sample {name!r} points hold NaN, infinite or non-numeric values")
            label = node.attrs.get("label")
            if label is None or np.ndim(label) != 0 or label != int(label) or not 0 <= int(label) <= 9:
                raise DataError(f"{path}: sample {name!r} needs a 'label' attribute 0..9, got {label!r}")
            clouds.append(points)
            labels.append(int(label))
            pending += len(points)
            if pending >= CHUNK_POINTS:  # voxelize a batch of clouds at a time: memory stays bounded
                grids.append(voxelize_points(clouds, resolution))
                clouds, pending = [], 0
    if clouds:
        grids.append(voxelize_points(clouds, resolution))
    return np.concatenate(grids), np.array(labels, dtype=np.int64)


def _sibling(path: Path):
    """Returns the train/test partner of a Kaggle point-cloud file, or None."""
    for mine, other in (("train_", "test_"), ("test_", "train_")):
        if path.name.startswith(mine):
            partner = path.with_name(other + path.name[len(mine):])
            return partner if partner.is_file() else None
    return None


def build(path=None):
    """Returns (X_train, y_train, X_test, y_test) from a Kaggle 3D MNIST file.

    A vectors file gives its own split. A point-cloud file is paired with its
    train_/test_ sibling when that is beside it; alone, its last sixth becomes the test split.
    """
    if path is None:
        raise ValueError("the kaggle source needs path=FILE (full_dataset_vectors.h5 or *_point_clouds.h5)")
    path = Path(path)
    if file_layout(path) == "vectors":
        return read_vectors(path)
    partner = _sibling(path)
    if partner is not None:
        train, test = (path, partner) if path.name.startswith("train_") else (partner, path)
        return (*read_point_clouds(train), *read_point_clouds(test))
    X, y = read_point_clouds(path)
    n_test = max(1, int(round(len(X) * TEST_FRACTION)))
    if len(X) < 2:
        raise DataError(f"{path}: a point-cloud file alone needs at least 2 samples to split")
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]


def input_files(params) -> list[Path]:
    """Returns the files a build with these parameters reads."""
    if params.get("path") is None:
        return []
    path = Path(params["path"])
    partner = _sibling(path) if path.is_file() else None
    return [path] + ([partner] if partner else [])
