"""The "kaggle" source: the Kaggle 3D MNIST files, and our datasets written in their layout.

Two layouts (HDF5):
- vectors (`full_dataset_vectors.h5`): datasets X_train (N, 4096), y_train (N,),
  X_test (M, 4096), y_test (M,); each row a 16x16x16 grid in [0, 1] in 3D MNIST order.
- point clouds (`train_point_clouds.h5`, `test_point_clouds.h5`): one group per sample
  holding `points` (P, 3) (normalised and rotated already), `normals`, `img`, and an
  attribute `label`. Points are voxelized with step 4 of the 3D MNIST procedure.
"""

from pathlib import Path

import numpy as np

from genlab.data.errors import DataError
from genlab.data.voxelize import GRID, voxelize_points

VECTOR_KEYS = ("X_train", "y_train", "X_test", "y_test")
TEST_FRACTION = 1 / 6  # point-cloud file without its train/test sibling: last sixth is test


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


def file_layout(path) -> str:
    """Returns "vectors" or "point_clouds": which Kaggle layout an HDF5 file holds."""
    with _open(path) as file:
        if any(key in file for key in VECTOR_KEYS):
            return "vectors"
        if len(file) and all(_is_sample(file[key]) for key in list(file)[:3]):
            return "point_clouds"
        raise DataError(f"{path}: neither Kaggle layout: expected datasets {', '.join(VECTOR_KEYS)} "
                        f"or groups with 'points'; found {', '.join(list(file)[:8]) or 'nothing'}")


def _is_sample(node) -> bool:
    return hasattr(node, "keys") and "points" in node


def read_vectors(path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns (X_train, y_train, X_test, y_test) of a vectors file: X float32 (N, 16, 16, 16), y int64.

    Raises DataError naming the file for missing datasets, wrong shapes, NaN, values
    outside [0, 1] or labels outside 0..9.
    """
    arrays = {}
    with _open(path) as file:
        for key in VECTOR_KEYS:
            if key not in file:
                raise DataError(f"{path}: missing dataset {key!r} (has {', '.join(file) or 'nothing'})")
            try:
                arrays[key] = file[key][()]
            except (OSError, ValueError, TypeError) as error:
                raise DataError(f"{path}: dataset {key!r} is unreadable ({error})") from None
    out = []
    for split in ("train", "test"):
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if X.ndim != 2 or X.shape[1] != GRID**3 or not np.issubdtype(X.dtype, np.number):
            raise DataError(f"{path}: X_{split} must be numeric (N, {GRID**3}), got {X.dtype} {X.shape}")
        if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.number):
            raise DataError(f"{path}: y_{split} must be numeric ({len(X)},), got {y.dtype} {y.shape}")
        if not np.isfinite(X).all():
            raise DataError(f"{path}: X_{split} holds NaN or infinite values")
        if X.size and (X.min() < 0 or X.max() > 1):
            raise DataError(f"{path}: X_{split} values must lie in [0, 1], found {X.min():g}..{X.max():g}")
        if y.size and (not np.isfinite(y).all() or (y != np.round(y)).any() or y.min() < 0 or y.max() > 9):
            raise DataError(f"{path}: y_{split} must hold digit labels 0..9")
        out += [X.astype(np.float32).reshape(len(X), GRID, GRID, GRID), y.astype(np.int64)]
    return tuple(out)


def write_vectors(path, X_train, y_train, X_test, y_test) -> None:
    """Writes a dataset in the Kaggle vectors layout (X rows of 4096 floats), atomically."""
    import h5py

    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp")
    try:
        with h5py.File(temp, "w") as file:
            for key, array in zip(VECTOR_KEYS, (X_train, y_train, X_test, y_test)):
                array = np.asarray(array)
                if key.startswith("X"):
                    array = array.reshape(len(array), -1).astype(np.float32)
                file.create_dataset(key, data=array, compression="gzip", compression_opts=4)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def read_point_clouds(path, resolution=GRID) -> tuple[np.ndarray, np.ndarray]:
    """Returns (X float32 (N, r, r, r), y int64 (N,)) from a point-cloud file, samples in name order."""
    clouds, labels, grids = [], [], []
    with _open(path) as file:
        names = sorted(file, key=lambda name: (not name.isdigit(), int(name) if name.isdigit() else 0, name))
        if not names:
            raise DataError(f"{path}: holds no samples")
        for name in names:
            node = file[name]
            if not _is_sample(node):
                raise DataError(f"{path}: sample {name!r} has no 'points' dataset")
            try:
                points = node["points"][()]
            except (OSError, ValueError, TypeError) as error:
                raise DataError(f"{path}: sample {name!r} points are unreadable ({error})") from None
            if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
                raise DataError(f"{path}: sample {name!r} points must be (P, 3), got {points.shape}")
            if not np.issubdtype(points.dtype, np.number) or not np.isfinite(points).all():
                raise DataError(f"{path}: sample {name!r} points hold NaN, infinite or non-numeric values")
            label = node.attrs.get("label")
            if label is None or np.ndim(label) != 0 or label != int(label) or not 0 <= int(label) <= 9:
                raise DataError(f"{path}: sample {name!r} needs a 'label' attribute 0..9, got {label!r}")
            clouds.append(points)
            labels.append(int(label))
            if len(clouds) == 500:  # Kaggle clouds hold ~20,000 points each: a few hundred at a time
                grids.append(voxelize_points(clouds, resolution))
                clouds = []
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
