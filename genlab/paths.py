"""Where genlab finds and keeps things: one place for every path."""

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"
RESULTS_DIR = REPO_ROOT / "results"
APP_ICON = REPO_ROOT / "genlab" / "assets" / "icon.png"  # the app's favicon, served by Streamlit itself (offline)
# plotly.js's 3D-only build for the live 3D view (genlab.viz.live), served at /app/static/ (offline)
PLOTLY_JS = REPO_ROOT / "static" / "plotly-gl3d.min.js"
# Real MNIST digits shipped inside the package (see genlab/data/embedded/README.md): the
# default `mnist` source, so a fresh clone opens on real 3D MNIST with no download.
EMBEDDED_MNIST = REPO_ROOT / "genlab" / "data" / "embedded" / "mnist-digits.npz"


def cache_dir() -> Path:
    """Returns the user cache folder for built datasets (GENLAB_CACHE_DIR overrides)."""
    override = os.environ.get("GENLAB_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "genlab"


def shared_data_dir() -> Path:
    """Returns the shared data folder beside the repo (GENLAB_SHARED_DATA overrides)."""
    return Path(os.environ.get("GENLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def mnist_dir() -> Path | None:
    """Returns the folder of MNIST IDX files given by GENLAB_MNIST_DIR, or None: the embedded digits."""
    folder = os.environ.get("GENLAB_MNIST_DIR")
    return Path(folder) if folder else None


def standard_mnist_dir() -> Path | None:
    """Returns the MNIST folder that training and evaluation from the command line read: GENLAB_MNIST_DIR,
    else the shared data's MNIST folder where it exists (MNIST's own t10k test digits), else None (the
    embedded digits, which hold training digits only and test on held-out ones)."""
    shared = shared_data_dir() / "mnist"
    return mnist_dir() or (shared if shared.is_dir() else None)


def dataset_options(source: str) -> dict:
    """Returns the load_dataset options the command line adds for a source: the standard MNIST folder for "mnist"."""
    folder = standard_mnist_dir() if source == "mnist" else None
    return {"mnist_dir": folder} if folder is not None else {}


def shipped_manifest() -> list[dict]:
    """Returns the entries of weights/manifest.json (name, kind, backbone, path, metrics, ...); [] if none.

    genlab.models.shipped_models returns the same; this one needs no torch (the app's Home page
    lists the shipped models without waiting for torch to load).
    """
    manifest = WEIGHTS_DIR / "manifest.json"
    if not manifest.is_file():
        return []
    entries = json.loads(manifest.read_text())["models"]
    return [{**entry, "path": str(WEIGHTS_DIR / entry["file"])} for entry in entries]
