"""VoxelDataset, the one in-memory form of every source, and load_dataset with its disk cache."""

import functools
import hashlib
import inspect
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genlab import names, paths
from genlab.data.errors import DataError
from genlab.data.voxelize import GRID
from genlab.files import atomic_write

CACHE_VERSION = 2  # bump when a builder's output changes, so old cache files are not reused


@dataclass(frozen=True, eq=False)
class VoxelDataset:
    """3D MNIST train and test splits.

    X_train: float32 (N, 16, 16, 16) in [0, 1]; y_train: int64 (N,) digits 0..9;
    X_test, y_test likewise (M samples). `X.reshape(N, -1)` rows are 3D MNIST vectors.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("train", "test"):
            check_split(getattr(self, f"X_{name}"), getattr(self, f"y_{name}"),
                        f"dataset {self.source!r} {name} split")

    @functools.cached_property
    def fingerprint(self) -> str:
        """Returns a short sha256 of the four arrays: equal data, equal fingerprint."""
        digest = hashlib.sha256()
        for array in (self.X_train, self.y_train, self.X_test, self.y_test):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> dict:
        """Returns a JSON-able summary (what checkpoints record about their training data)."""
        return {"source": self.source, "params": self.params, "fingerprint": self.fingerprint,
                "n_train": len(self.X_train), "n_test": len(self.X_test), "grid": GRID}


def check_split(X, y, where: str) -> None:
    """Raises DataError (naming `where`) unless X is float32 (N, 16, 16, 16) in [0, 1], y int64 (N,) in 0..9."""
    if not isinstance(X, np.ndarray) or X.dtype != np.float32 or X.shape[1:] != (GRID,) * 3:
        raise DataError(f"{where}: X must be float32 (N, {GRID}, {GRID}, {GRID}), got "
                        f"{getattr(X, 'dtype', type(X).__name__)} {getattr(X, 'shape', '')}")
    if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != (len(X),):
        raise DataError(f"{where}: y must be int64 ({len(X)},), got "
                        f"{getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}")
    low, high = (X.min(), X.max()) if X.size else (0.0, 0.0)  # NaN spreads to both; two passes, no copy
    if np.isnan(low) or np.isnan(high):
        raise DataError(f"{where}: X holds NaN values")
    if low < 0 or high > 1:  # infinities included
        raise DataError(f"{where}: X values must lie in [0, 1], found {low:g}..{high:g}")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{where}: labels must be digits 0..9, found {y.min()}..{y.max()}")


# ---------------------------------------------------------------------------------------
# Sources: each builder takes keyword parameters (its defaults are genlab's defaults) and
# returns (X_train, y_train, X_test, y_test). `files` lists the input files whose size and
# modification time go into the cache key, so a changed input is rebuilt.

@dataclass(frozen=True)
class Source:
    build: object
    files: object = lambda params: []


def _sources() -> dict:
    """Returns the registry of dataset sources (imported lazily: each pulls its own deps)."""
    from genlab.data import kaggle, mnist, synthetic
    return {
        "synthetic": Source(synthetic.build),
        "mnist": Source(mnist.build, mnist.input_files),
        "kaggle": Source(kaggle.build, kaggle.input_files),
    }


SOURCES = tuple(names.DATA_SOURCES)  # ("synthetic", "mnist", "kaggle")


def resolve_params(source: str, params: dict) -> dict:
    """Returns the full JSON-able build parameters: the source's defaults updated by params."""
    sources = _sources()
    if source not in sources:
        raise ValueError(f"unknown dataset source {source!r}; choose one of {', '.join(SOURCES)}")
    signature = inspect.signature(sources[source].build)
    try:
        bound = signature.bind(**params)
    except TypeError as error:
        raise ValueError(f"dataset source {source!r}: {error}; parameters are "
                         f"{', '.join(signature.parameters)}") from None
    bound.apply_defaults()
    resolved = dict(bound.arguments)
    resolved.pop("progress", None)  # a builder's progress callback is no build parameter
    for key, value in resolved.items():
        if isinstance(value, Path):
            resolved[key] = str(value)
    if "mnist_dir" in resolved and resolved["mnist_dir"] is None:
        resolved["mnist_dir"] = paths.mnist_dir()
    for key in ("mnist_dir", "path"):  # absolute, so the cache key does not depend on the cwd
        if resolved.get(key) is not None:
            resolved[key] = str(Path(resolved[key]).expanduser().resolve())
    json.dumps(resolved)  # parameters must be JSON-able: they go into checkpoints
    return resolved


def cache_path(source: str, params: dict) -> Path:
    """Returns the cache file for a source and resolved parameters (keyed by both and the inputs)."""
    stamps = []
    for file in _sources()[source].files(params):
        stat = Path(file).stat()
        stamps.append([str(file), stat.st_size, stat.st_mtime_ns])
    key = json.dumps({"source": source, "params": params, "inputs": stamps,
                      "version": CACHE_VERSION}, sort_keys=True)
    return paths.cache_dir() / f"{source}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def load_dataset(source: str = "synthetic", cache: bool = True, progress=None, **params) -> VoxelDataset:
    """Returns a VoxelDataset, built once and then reloaded from the disk cache.

    source: "synthetic" (offline procedural digits, the default), "mnist" (real MNIST digits:
    IDX files in mnist_dir, default GENLAB_MNIST_DIR, else the digits embedded in genlab) or
    "kaggle" (path=FILE). params override the source's defaults (see the builders in
    genlab.data.synthetic / mnist / kaggle). cache=False always builds and writes nothing.
    progress(done, total), if given, hears how a build advances (builders that report it).
    """
    params = resolve_params(source, params)
    if cache:
        path = cache_path(source, params)
        if path.exists():
            try:
                return read_cache(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                path.unlink(missing_ok=True)  # a damaged cache file is rebuilt, not trusted
    build = _sources()[source].build
    options = {"progress": progress} if progress and "progress" in inspect.signature(build).parameters else {}
    dataset = VoxelDataset(*build(**params, **options), source=source, params=params)
    if cache:
        write_cache(dataset, path)
    return dataset


def build_and_cache(report, stop_event, source: str, params: dict) -> None:
    """Builds a dataset and writes its disk cache, reporting (done, total) to report((done, total)).

    The work the app hands to a child process (genlab.app.jobs.ChildWork), so that a build does
    not hold the server's lock; this module imports no streamlit or torch, so the child starts
    quickly. A build runs to its end: stop_event is not polled.
    """
    load_dataset(source, progress=lambda done, total: report((done, total)), **params)


def is_cached(source: str, params: dict) -> bool:
    """Returns True if load_dataset(source, **params) would read its cache instead of building."""
    return cache_path(source, resolve_params(source, params)).exists()


def write_cache(dataset: VoxelDataset, path) -> None:
    """Writes a dataset as an uncompressed npz, atomically: a temp file, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"source": dataset.source, "params": dataset.params,
                       "fingerprint": dataset.fingerprint, "created": time.time()})

    def write(temp: Path) -> None:
        with open(temp, "wb") as file:
            np.savez(file, X_train=dataset.X_train, y_train=dataset.y_train,
                     X_test=dataset.X_test, y_test=dataset.y_test, meta=np.array(meta))

    atomic_write(path, write)


def read_cache(path) -> VoxelDataset:
    """Returns the dataset in a cache file written by write_cache (checked like any dataset)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        dataset = VoxelDataset(data["X_train"], data["y_train"], data["X_test"], data["y_test"],
                               source=meta["source"], params=meta["params"])
    dataset.__dict__["fingerprint"] = meta["fingerprint"]  # computed when it was written
    return dataset


def cached_datasets() -> list[dict]:
    """Returns a summary of each dataset in the cache folder (for `genlab data info`)."""
    found = []
    for path in sorted(paths.cache_dir().glob("*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                meta["n_train"], meta["n_test"] = len(data["y_train"]), len(data["y_test"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            meta = {"error": f"unreadable ({error})"}
        meta["path"] = str(path)
        meta["megabytes"] = round(path.stat().st_size / 1e6, 1)
        found.append(meta)
    return found
