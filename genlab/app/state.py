"""The app's Streamlit state: one user's choices (st.session_state), datasets and models shared by
every session (loaded once per server, st.cache_*), and the widgets pages share."""

import json
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from genlab import paths
from genlab.app.catalogue import dataset_title, default_dataset_choice
from genlab.app.files import check_data_path, discard_upload, user_message


def view_controls(key: str) -> tuple[float, bool]:
    """Draws the 3D view's threshold slider and surface toggle (keys `{key}_threshold`, `{key}_surface`);
    returns (threshold, surface)."""
    from genlab.viz import VIEW_THRESHOLD

    left, right = st.columns([3, 1])
    threshold = left.slider("Threshold", 0.05, 0.95, VIEW_THRESHOLD, 0.05, key=f"{key}_threshold")
    surface = right.toggle("Surface", key=f"{key}_surface", help="A smooth marching-cubes surface instead of cubes")
    return threshold, surface


def owner_id() -> str:
    """Returns this browser session's id (owner of its background jobs)."""
    if "owner" not in st.session_state:
        st.session_state.owner = uuid.uuid4().hex
    return st.session_state.owner


def dataset_choice() -> dict:
    """Returns this user's dataset choice {"source", "params"[, "name"]} (the default at first)."""
    if "dataset_choice" not in st.session_state:
        st.session_state.dataset_choice = default_dataset_choice()
    return st.session_state.dataset_choice


class DatasetBuild:
    """One dataset being loaded or built on a background thread, shared by every session of the server.

    done / total count voxelized grids (total is None until the builder reports); `building`
    says whether it builds (slow, once) or reads the disk cache (quick); dataset or error is set
    once it has finished. A build runs in a child process (it would hold Python's lock for
    minutes); reading the cache, and the nearest-digit index, run on this thread. With a `delay`
    (Home starts the load for the other pages) the work begins that many seconds later, so the
    browser can draw the page first (reading the cache holds Python's lock and slows the server's
    event loop), or at once when `hurry()` says a page needs the dataset now.
    """

    def __init__(self, choice: dict, delay: float = 0.0):
        from genlab.data.dataset import is_cached

        self.choice, self.done, self.total = choice, 0, None
        self._now = threading.Event()   # set: start now, whatever the delay
        self.dataset, self.error = None, None
        try:
            self.building = not is_cached(choice["source"], choice["params"])
        except (ValueError, FileNotFoundError, OSError) as error:
            self.building, self.error = False, error
            return
        self.thread = threading.Thread(target=self._run, args=(delay,), name="dataset-build", daemon=True)
        self.thread.start()

    def hurry(self) -> None:
        """Starts the work now if it is still waiting out its delay."""
        self._now.set()

    def _run(self, delay: float) -> None:
        self._now.wait(delay)
        from genlab.data import load_dataset

        try:
            if self.building:  # minutes of voxelizing, in a child process: the server keeps its lock
                self._build_in_child()
            dataset = load_dataset(self.choice["source"], progress=self._progress, **self.choice["params"])
        except Exception as error:  # noqa: BLE001 - kept and shown to the user by load_dataset()
            self.error = error
            return
        from genlab.app.explore import prepare_nearest

        prepare_nearest(dataset)  # here, off the page: the explorer's first visit need not wait for it
        self.dataset = dataset

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def _build_in_child(self) -> None:
        """Builds the dataset's disk cache in a child process, hearing its progress; ValueError if it fails."""
        from genlab.app.jobs import ChildWork, run_in_child
        from genlab.data.dataset import build_and_cache

        ending, value = run_in_child(ChildWork(build_and_cache, {"source": self.choice["source"],
                                                                 "params": self.choice["params"]}),
                                     lambda entry: self._progress(*entry), threading.Event(), name="dataset-build",
                                     what="the dataset build")
        if ending == "failed":
            raise ValueError(value)

    @property
    def finished(self) -> bool:
        return self.dataset is not None or self.error is not None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def describe(self) -> str:
        """Returns the sentence a page shows while this dataset is being built."""
        count = f"{self.done:,} of {self.total:,} grids" if self.total else "starting"
        return (f"Building the 3D dataset from {dataset_title(self.choice)} ({count}). This happens "
                f"once: the grids are then cached on disk in `{paths.cache_dir()}` and load in seconds.")


_builds: dict[str, DatasetBuild] = {}
_builds_lock = threading.Lock()
MAX_DATASETS = 3  # datasets kept in memory at once (a full MNIST one is large)


def dataset_build(choice: dict, delay: float = 0.0) -> DatasetBuild:
    """Returns the (possibly still running) load of a dataset choice, starting it if need be (after
    `delay` seconds, see DatasetBuild). A failed load is forgotten once reported, so the next
    request tries again.
    """
    key = json.dumps([choice["source"], choice["params"]], sort_keys=True)
    with _builds_lock:
        build = _builds.get(key)
        if build is None or (build.error is not None and getattr(build, "reported", False)):
            build = _builds[key] = DatasetBuild(choice, delay)
            finished = [k for k, b in _builds.items() if b.finished and k != key]
            for old in finished[:max(0, len(_builds) - MAX_DATASETS)]:
                del _builds[old]
    return build


def load_dataset(choice: dict):
    """Returns the VoxelDataset for a choice, loaded once per server and shared read-only.

    While it is being built (the first time, before the disk cache has it) the page shows a
    progress bar and a sentence saying it happens once. Paths in the choice must pass
    check_data_path. An upload that cannot be loaded is deleted; errors (ValueError) name uploads
    by the user's file name.
    """
    params = choice["params"]
    for key in ("path", "mnist_dir"):
        if params.get(key):
            check_data_path(params[key])
    build = dataset_build(choice)
    build.hurry()
    if not build.finished:
        if build.building:
            bar = st.progress(build.fraction, text=build.describe())
            while not build.finished:
                time.sleep(0.25)
                bar.progress(build.fraction, text=build.describe())
            bar.empty()
        else:
            with st.spinner("Loading the dataset from the disk cache…"):
                build.thread.join()
    if build.error is not None:
        build.reported = True
        if isinstance(build.error, (ValueError, OSError)):
            discard_upload(params.get("path"))
            raise ValueError(user_message(build.error)) from None
        raise build.error
    return build.dataset


def current_dataset():
    """Returns this user's VoxelDataset."""
    return load_dataset(dataset_choice())


@st.cache_data(show_spinner=False, max_entries=4)
def digit_preview(choice_json: str) -> np.ndarray | None:
    """Returns an RGB image of ten real test digits (0..9) in 3D, made in milliseconds without the
    full dataset build, or None for sources other than MNIST."""
    from genlab.data.mnist import read_splits
    from genlab.data.voxelize import voxelize_digits
    from genlab.viz import projection_grid

    choice = json.loads(choice_json)
    if choice["source"] != "mnist":
        return None
    images, labels = read_splits(choice["params"].get("mnist_dir") or paths.mnist_dir())["test"]
    firsts = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10) if (labels == digit).any()]
    return projection_grid(voxelize_digits(images[firsts]), columns=10, scale=6)


@st.cache_data(show_spinner=False, max_entries=16)
def class_indices(fingerprint: str, _labels: np.ndarray) -> dict[int, np.ndarray]:
    """Returns {digit: indices of that digit} for a dataset's labels (cached per dataset fingerprint)."""
    return {digit: np.flatnonzero(_labels == digit) for digit in range(10)}


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _load_model(path: str, modified: float):
    from genlab.models import load_model

    return load_model(path)


def load_model(path) -> object:
    """Returns the model in a checkpoint, shared by every session until the file changes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path.name} does not exist")
    try:
        return _load_model(str(path), path.stat().st_mtime)
    except (ValueError, FileNotFoundError) as error:
        discard_upload(path)
        raise type(error)(user_message(error)) from None
    except Exception as error:  # noqa: BLE001 - a stranger's file must give a message, not a traceback
        discard_upload(path)
        raise ValueError(user_message(f"{path} cannot be loaded as a genlab model: {type(error).__name__}: "
                                      f"{str(error).splitlines()[0] if str(error) else ''}")) from None


@st.cache_resource(show_spinner=False, max_entries=16)
def reference_latents(key: str, _model, _X: np.ndarray) -> np.ndarray:
    """Returns latents (N, latent_dim) of digits _X (for slider ranges, AE sampling), cached per key.

    key must name both the model and the data (e.g. a hash of checkpoint path and dataset fingerprint).
    """
    from genlab.app.explore import encode

    return encode(_model, _X)


@st.cache_resource(show_spinner=False, max_entries=256)
def computed(key: str, _compute) -> np.ndarray:
    """Returns _compute() (a numpy array), read-only, computed once per server for `key`, which must name
    everything the result depends on (model file, dataset, settings, seed). Every session opens the
    explorer on the same digit, interpolation and samples: they are decoded once, not per visitor."""
    value = np.asarray(_compute())
    value.setflags(write=False)
    return value


@st.cache_resource(show_spinner=False, max_entries=32)
def sweep_cache(context: str) -> dict:
    """Returns the dict of decoded slider-sweep grids (genlab.viz.live.slider_sweep) for `context`, shared
    by every session: it must name the model, the data, the swept slider and every other slider's value."""
    return {}
