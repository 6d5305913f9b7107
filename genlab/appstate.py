"""What the app's pages share: the chosen dataset, the checkpoint catalogue, uploads, caches.

Pages stay thin by calling these. The pure functions (catalogue, upload checks) are tested
with plain pytest; the `st.cache_*` loaders and session helpers need a Streamlit session.
"""

import hashlib
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from genlab import checkpoint_file, names, paths
from genlab.files import atomic_write

MAX_IMAGE_BYTES = 10 * 2**20       # an uploaded digit photo or drawing
IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]  # digit image uploads (lift_upload)
MAX_CHECKPOINT_BYTES = 64 * 2**20  # shipped checkpoints are a few MB


# -- folders ---------------------------------------------------------------------------------
def runs_dir() -> Path:
    """Returns the folder where the app saves trained checkpoints (in the user cache)."""
    return paths.cache_dir() / "runs"


def uploads_dir() -> Path:
    """Returns the folder where uploaded files are kept while the app uses them."""
    return paths.cache_dir() / "uploads"


def data_dir() -> Path:
    """Returns the server folder whose files a visitor may name by path ($GENLAB_APP_DATA_DIR, else
    the shared data folder); everything else reaches the app only as an upload."""
    return Path(os.environ.get("GENLAB_APP_DATA_DIR") or paths.shared_data_dir())


def check_data_path(text) -> Path:
    """Returns a path a visitor typed, resolved, if it lies in data_dir(), the MNIST folder or the uploads.

    Elsewhere: ValueError worded the same whether or not the path exists, so the text boxes
    tell nobody what the server holds outside those folders.
    """
    path = Path(str(text)).expanduser().resolve()
    roots = [root for root in (data_dir(), paths.mnist_dir(), uploads_dir()) if root is not None]
    if any(path == root.resolve() or path.is_relative_to(root.resolve()) for root in roots):
        return path
    raise ValueError(f"{text} is outside the data folder this app reads ({data_dir()}); "
                     "upload the file instead")


def _upload_of(path) -> Path | None:
    """Returns the resolved path if it is a saved upload (in uploads_dir()), else None."""
    if not path:
        return None
    path = Path(path).resolve()
    return path if path.is_relative_to(uploads_dir().resolve()) else None


def user_message(error: Exception | str) -> str:
    """Returns an error's message with saved uploads named as their user named them, not by server path."""
    message = str(error)
    for folder in {str(uploads_dir()), str(uploads_dir().resolve())}:
        message = re.sub(re.escape(folder) + r"/[0-9a-f]{16}-([A-Za-z0-9._-]+)", r"\1", message)
    return message


def _discard_upload(path) -> None:
    """Deletes a saved upload that could not be used (an upload the app rejects is not kept)."""
    upload = _upload_of(path)
    if upload is not None:
        upload.unlink(missing_ok=True)


# -- datasets --------------------------------------------------------------------------------
def mnist_available(folder=None) -> bool:
    """Returns True if `folder` holds MNIST IDX files of both splits (train-* and a test set)."""
    from genlab.data.idx import find_mnist_files

    try:
        find_mnist_files(folder, "train"), find_mnist_files(folder, "test")
    except (FileNotFoundError, TypeError):
        return False
    return True


def default_dataset_choice() -> dict:
    """Returns the dataset the app starts on: real MNIST (GENLAB_MNIST_DIR, else the embedded digits),
    or the source GENLAB_APP_DATASET names with its default parameters (e.g. "synthetic", for quick tests)."""
    return {"source": os.environ.get("GENLAB_APP_DATASET", "mnist"), "params": {}}


def dataset_title(choice: dict) -> str:
    """Returns a short human description of a dataset choice {"source", "params"}."""
    title = names.source_title(choice["source"])
    if choice["source"] == "kaggle" and "name" in choice:
        title += f" ({choice['name']})"
    elif choice["source"] == "mnist":
        folder = choice["params"].get("mnist_dir") or paths.mnist_dir()
        title = "Real MNIST digits" + (f" from {folder}" if folder else " (embedded in genlab)")
    return title


def rotate_grid(grid, max_degrees: float, seed: int = 0) -> np.ndarray:
    """Returns grid (16, 16, 16) turned by random angles in [-max_degrees, max_degrees] about each axis.

    A preview of what randomly rotated training copies look like (nearest-voxel resampling,
    which keeps the voxels' own values rather than blurring them).
    """
    from scipy import ndimage

    angles = np.random.default_rng(seed).uniform(-max_degrees, max_degrees, size=3)
    rotated = np.asarray(grid, dtype=np.float32)
    for angle, plane in zip(angles, [(1, 2), (0, 2), (0, 1)]):
        rotated = ndimage.rotate(rotated, angle, axes=plane, reshape=False, order=0, mode="constant")
    return np.clip(rotated, 0.0, 1.0)


def save_upload(name: str, data: bytes) -> Path:
    """Returns the path of a copy of uploaded bytes, named by content hash (safe file name)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-80:] or "upload"
    path = uploads_dir() / f"{digest}-{safe}"
    if not path.exists():
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path


def read_image_upload(name: str, data: bytes):
    """Returns an uploaded image as an upright 8-bit PIL image ("L" or "RGB": fit to show or lift);
    ValueError naming the file if it is not a usable image (see genlab.images.read_image)."""
    from genlab.images import read_image

    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{name} is {len(data) / 2**20:.1f} MB; images up to "
                         f"{MAX_IMAGE_BYTES // 2**20} MB are accepted")
    return read_image(data, name)


def lift_upload(name: str, data: bytes) -> np.ndarray:
    """Returns the (16, 16, 16) voxel grid of an uploaded 2D digit image; ValueError if unusable."""
    from genlab.data import lift_image

    image = read_image_upload(name, data)
    try:
        return lift_image(image)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


# -- checkpoints ------------------------------------------------------------------------------
def read_checkpoint_info(path) -> dict:
    """Returns a genlab checkpoint's JSON metadata without loading its tensors (nor torch); ValueError if unreadable."""
    return checkpoint_file.read_info(path, checkpoint_file.MODEL)


def list_checkpoints() -> list[dict]:
    """Returns every checkpoint the app can load: shipped ones first, then trained runs (newest first).

    Each entry: name, origin ("shipped" | "trained"), path, kind, backbone, latent_dim,
    dataset (source), fingerprint (of the training data), metrics, val_loss (the trainer's best
    validation value of the loss it stops early on, which differs by kind, so it compares runs
    of one kind only) and cancelled. Trained files that cannot be read come last, with "error".
    """
    def described(entry: dict, info: dict, default_source: str | None = None) -> dict:
        training = info.get("training") or {}
        return {**entry, "kind": info.get("kind"), "backbone": info.get("backbone"),
                "latent_dim": info.get("latent_dim"),
                "dataset": (info.get("dataset") or {}).get("source", default_source),
                "fingerprint": (info.get("dataset") or {}).get("fingerprint"),
                "metrics": info.get("metrics", {}),
                "val_loss": training.get("best_val_loss"), "cancelled": bool(training.get("cancelled"))}

    entries = [described({"name": model["name"], "origin": "shipped", "path": model["path"]}, model, "mnist")
               for model in paths.shipped_manifest()]
    unreadable = []
    runs = sorted(runs_dir().glob("*.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in runs:
        entry = {"name": path.stem, "origin": "trained", "path": str(path)}
        try:
            info = read_checkpoint_info(path)
        except ValueError as error:
            unreadable.append({**entry, "error": str(error)})
            continue
        entries.append(described(entry, info))
    return entries + unreadable


# Data that shipped weights were trained on before MNIST's own split became the standard one.
EARLIER_SPLITS = {"c7e8621eeedc1be8": "MNIST test (t10k) digits 0–6,999 and a rotated copy of each for "
                                      "training, 7,000–7,999 for testing"}


def checkpoint_rows(entries: list[dict]) -> list[dict]:
    """Returns one display row per checkpoint (for the Home table); numbers as text, "–" where not recorded."""
    def number(value) -> str:
        return "–" if value is None else f"{value:.4f}"

    rows = []
    for entry in entries:
        canonical = (entry.get("metrics") or {}).get("canonical") or {}
        status = entry.get("error") or ("cancelled (kept)" if entry.get("cancelled") else "ready")
        rows.append({"name": entry["name"], "origin": entry["origin"],
                     "kind": names.kind_title(entry.get("kind") or "?"),
                     "backbone": names.backbone_title(entry.get("backbone") or "?"),
                     "latent dim": entry.get("latent_dim"),
                     "trained on": names.source_short(entry.get("dataset")),
                     "validation loss": number(entry.get("val_loss")),
                     "test BCE": number(canonical.get("bce")), "test MSE": number(canonical.get("mse")),
                     "status": status})
    return rows


def earlier_split_note(entries: list[dict]) -> str:
    """Returns a sentence naming the checkpoints trained on an earlier split of MNIST and that split ("" if none)."""
    notes = []
    for fingerprint, split in EARLIER_SPLITS.items():
        names = [e["name"] for e in entries if e.get("fingerprint") == fingerprint]
        if names:
            who = "The shipped models were" if len(names) == sum(e["origin"] == "shipped" for e in entries) \
                else ", ".join(names) + (" was" if len(names) == 1 else " were")
            notes.append(
                f"{who} trained and tested on an earlier split: {split}; their figures are on those test digits."
            )
    return " ".join(notes)


def checkpoint_label(entry: dict) -> str:
    """Returns how a checkpoint is named in select boxes."""
    if "error" in entry:
        return f"{entry['name']} (unreadable)"
    return f"{entry['name']} · {entry['origin']} · {entry['kind']}/{entry['backbone']}"


# -- Streamlit: per-user state and shared caches ------------------------------------------------
_frame_checked = False


def require_frame() -> None:
    """Makes sure a page runs inside app.py's navigation frame; call it first in every page.

    Streamlit quirk: with a pages/ folder beside app.py, the first request a fresh server gets,
    if it is a deep link (e.g. /explore), runs that page alone, the old pages-folder way, and
    the server stays in that mode until someone opens "/". Leaving that mode and rerunning
    makes Streamlit run app.py, whose st.navigation then opens the page asked for. Once per
    process is enough (and AppTest, which re-enters that mode on every run, keeps its clicks).
    """
    global _frame_checked
    if _frame_checked:
        return
    _frame_checked = True
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this quirk
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


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
    once it has finished.
    """

    def __init__(self, choice: dict):
        from genlab.data.dataset import is_cached

        self.choice, self.done, self.total = choice, 0, None
        self.dataset, self.error = None, None
        try:
            self.building = not is_cached(choice["source"], choice["params"])
        except (ValueError, FileNotFoundError, OSError) as error:
            self.building, self.error = False, error
            return
        self.thread = threading.Thread(target=self._run, name="dataset-build", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from genlab.data import load_dataset

        def progress(done, total):
            self.done, self.total = done, total

        try:
            self.dataset = load_dataset(self.choice["source"], progress=progress, **self.choice["params"])
        except Exception as error:  # noqa: BLE001 - kept and shown to the user by load_dataset()
            self.error = error

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
MAX_DATASETS = 3  # datasets kept in memory at once (the MNIST one is ~0.7 GB)


def dataset_build(choice: dict) -> DatasetBuild:
    """Returns the (possibly still running) load of a dataset choice, starting it if need be.

    A failed load is forgotten once reported, so the next request tries again.
    """
    key = json.dumps([choice["source"], choice["params"]], sort_keys=True)
    with _builds_lock:
        build = _builds.get(key)
        if build is None or (build.error is not None and getattr(build, "reported", False)):
            build = _builds[key] = DatasetBuild(choice)
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
            _discard_upload(params.get("path"))
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
        _discard_upload(path)
        raise type(error)(user_message(error)) from None
    except Exception as error:  # noqa: BLE001 - a stranger's file must give a message, not a traceback
        _discard_upload(path)
        raise ValueError(user_message(f"{path} cannot be loaded as a genlab model: {type(error).__name__}: "
                                      f"{str(error).splitlines()[0] if str(error) else ''}")) from None


@st.cache_resource(show_spinner=False, max_entries=16)
def reference_latents(key: str, _model, _X: np.ndarray) -> np.ndarray:
    """Returns latents (N, latent_dim) of digits _X (for slider ranges, AE sampling), cached per key.

    key must name both the model and the data (e.g. a hash of checkpoint path and dataset fingerprint).
    """
    from genlab.explore import encode

    return encode(_model, _X)


# -- evaluation tables ----------------------------------------------------------------------------
# The Compare table's headline columns (summary_rows keys): heading, number format (None: text).
HEADLINE_COLUMNS = {
    "name": ("Model", None), "kind": ("Kind", None), "backbone": ("Backbone", None),
    "bce": ("BCE", "%.4f"), "bce_paper": ("BCE, paper", "%.4f"), "mse": ("MSE", "%.4f"),
    "mse_paper": ("MSE, paper", "%.4f"), "iou": ("IoU", "%.3f"), "noisy_bce": ("BCE, noisy input", "%.4f"),
    "sampling": ("Samples from", None), "fd": ("FD", "%.1f"), "precision": ("Precision", "%.2f"),
    "recall": ("Recall", "%.2f"), "params": ("Parameters", "localized"), "train_seconds": ("Training (s)", "%.0f"),
}


def column_heading(key: str) -> str:
    """Returns how a comparison column is headed: the headline name, else its key in words ("fd_low" -> "Fd low")."""
    return HEADLINE_COLUMNS[key][0] if key in HEADLINE_COLUMNS else key.replace("_", " ").capitalize()


def readable_table(table):
    """Returns a comparison DataFrame for people: kinds and backbones as written in the paper
    ("VAE", "CNN+MLP"), columns headed by column_heading."""
    shown = table.assign(kind=table["kind"].map(names.kind_title), backbone=table["backbone"].map(names.backbone_title))
    return shown.rename(columns={key: column_heading(key) for key in shown.columns})


def paper_table():
    """Returns a DataFrame of the paper's test figures: kind, backbone, bce_paper, mse_paper."""
    import pandas as pd

    from genlab.eval.paper import PAPER_BCE, PAPER_MSE

    rows = [{"kind": kind, "backbone": backbone, "bce_paper": PAPER_BCE[kind][backbone],
             "mse_paper": PAPER_MSE[kind][backbone]}
            for kind in PAPER_BCE for backbone in PAPER_BCE[kind]]
    return pd.DataFrame(rows)


def evaluation() -> dict | None:
    """Returns the shipped evaluation (results/evaluation.json), or None if there is none yet.

    A file that is there but unreadable raises ValueError naming it.
    """
    from genlab.eval import load_results

    try:
        return load_results()
    except FileNotFoundError:
        return None


def comparison_table(results: dict):
    """Returns a DataFrame with one row per evaluated model: our figures beside the paper's."""
    import pandas as pd

    from genlab.eval.report import summary_rows

    return pd.DataFrame(summary_rows(results))


def versus_paper(table, metric: str):
    """Returns a long DataFrame (kind, backbone, source "genlab" | "paper", value) for one metric.

    table: comparison_table() or paper_table() rows; metric: "bce" or "mse". Rows without a
    value (e.g. no evaluation yet) are left out.
    """
    import pandas as pd

    parts = []
    for source, column in (("genlab", metric), ("paper", f"{metric}_paper")):
        if column in table:
            part = table[["kind", "backbone", column]].rename(columns={column: "value"})
            parts.append(part.assign(source=source))
    long = pd.concat(parts, ignore_index=True)
    return long.dropna(subset=["value"])
