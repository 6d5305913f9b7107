"""Lift a user's own 2D digit image (photo or drawing, any size) to a 3D MNIST voxel grid."""

import numpy as np
from PIL import Image

from genlab.data.errors import DataError
from genlab.data.voxelize import voxelize_digits
from genlab.images import read_image

MAX_SIDE = 1024  # larger pictures are shrunk first: a digit needs no more detail than that
INK_THRESHOLD = 0.25  # after contrast stretching, fainter pixels are background (paper, noise)


def mnist_like(image) -> np.ndarray:
    """Returns uint8 (28, 28): a digit image made to look like MNIST (bright ink, centred).

    image: a PIL image, an array (H, W) or (H, W, 3|4) (uint8, or float in [0, 1]), or the
    bytes of an image file. Steps: grayscale; invert if the background is light; stretch
    the contrast and drop faint pixels; crop to the ink; fit it in 20x20, keeping its
    aspect ratio; centre it by mass in 28x28, as MNIST does.
    """
    gray = _grayscale(image)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # dark ink on light paper: make the ink bright
        gray = 1.0 - gray
        border = 1.0 - border
    background, top = np.median(border), gray.max()
    if top - background < 0.1:
        raise DataError("no digit found: the image has almost no contrast")
    ink = np.clip((gray - background) / (top - background), 0, 1)
    ink[ink < INK_THRESHOLD] = 0
    rows, cols = np.nonzero(ink)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]

    height, width = ink.shape
    scale = 20 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float64)
    small[small < 0.1 * small.max()] = 0  # no faint resampling halo: each pixel becomes a box
    canvas = np.zeros((28, 28))
    mass = small.sum()
    centre_row = (small.sum(axis=1) @ np.arange(small.shape[0])) / mass
    centre_col = (small.sum(axis=0) @ np.arange(small.shape[1])) / mass
    top_row = int(np.clip(round(13.5 - centre_row), 0, 28 - small.shape[0]))
    left_col = int(np.clip(round(13.5 - centre_col), 0, 28 - small.shape[1]))
    canvas[top_row:top_row + small.shape[0], left_col:left_col + small.shape[1]] = small
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8)


def lift_image(image) -> np.ndarray:
    """Returns float32 (16, 16, 16): a 2D digit image (see mnist_like) lifted by the 3D MNIST procedure."""
    return voxelize_digits(mnist_like(image)[None])[0]


def _grayscale(image) -> np.ndarray:
    """Returns float64 (H, W) in [0, 1] from a PIL image, an array or image-file bytes."""
    if isinstance(image, (bytes, bytearray, memoryview, Image.Image)):
        try:  # upright, 8-bit whatever the mode (16-bit included), transparent drawings on white paper
            image = read_image(image, "the image").convert("L")
        except ValueError as error:
            raise DataError(f"not a readable image file: {error}") from None
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        return np.asarray(image, dtype=np.float64) / 255.0
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = array[..., :3] @ np.array([0.299, 0.587, 0.114])
    if array.ndim != 2 or min(array.shape) < 1 or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"a digit image must be 2D (H, W) or (H, W, 3|4), got {array.dtype} {array.shape}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise DataError("the digit image holds NaN or infinite values")
    if array.max() > 1.0:
        array = array / 255.0
    if max(array.shape) > MAX_SIDE:
        return _grayscale(Image.fromarray(np.clip(array * 255, 0, 255).astype(np.uint8)))
    return np.clip(array, 0, 1)
