"""The app's folders and uploads: where runs and uploads are kept, which server paths a visitor may
name, and the checks an uploaded file passes. Pure functions: no streamlit."""

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from genlab import paths
from genlab.files import atomic_write

MAX_IMAGE_BYTES = 40 * 2**20       # an uploaded image (a clock or digit photo, a drawing): a 48- to 200-MP phone
                                   # JPEG is 8-40 MB (genlab.images decodes it at 1/2 to 1/8 scale)
# image uploads (clock photos, digit images): what genlab.images reads ("jfif" is how Windows browsers often save a
# JPEG), and an iPhone's HEIC, which it cannot: let through, it is refused with what to do instead (the uploader's
# own refusal was a red mark without a word)
IMAGE_TYPES = ["png", "jpg", "jpeg", "jfif", "webp", "bmp", "gif", "tif", "tiff", "heic", "heif"]
MAX_CHECKPOINT_BYTES = 64 * 2**20  # shipped checkpoints are a few MB


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


def discard_upload(path) -> None:
    """Deletes a saved upload that could not be used (an upload the app rejects is not kept)."""
    upload = _upload_of(path)
    if upload is not None:
        upload.unlink(missing_ok=True)


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

    check_image_size(name, data)
    return read_image(data, name)


def check_image_size(name: str, data: bytes) -> None:
    """Raises ValueError naming the file if an uploaded image is over MAX_IMAGE_BYTES."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{name} is {len(data) / 2**20:.1f} MB; images up to "
                         f"{MAX_IMAGE_BYTES // 2**20} MB are accepted")


def lift_upload(name: str, data: bytes) -> np.ndarray:
    """Returns the (16, 16, 16) voxel grid of an uploaded 2D digit image; ValueError if unusable."""
    from genlab.data import lift_image

    image = read_image_upload(name, data)
    try:
        return lift_image(image)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
