"""Turning an uploaded photo into what the reader was trained on.

Upright (EXIF orientation), at most WORK_SIDE pixels a side (JPEGs decode straight to about that
size), grayscale, and cut into square crops around where a clock may be, each resized to 150x150
like the Leiden set. Boxes are (left, top, side) in the pixels of the upright original.

    photo = open_photo("photo.jpg")
    face = crop_face(photo, (left, top, side))   # face.image: (150, 150) uint8
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from genlab.images import read_photo, source_name

WORK_SIDE = 1024  # photos are read at most about this big (long side): the reader's input is 72 px
MIN_SIDE = 32  # smaller images hold too few pixels to see hands
# A photo has colour when more than COLOURED[1] of its pixels have channels COLOURED[0] or more apart
# (a grey photo saved as a colour JPEG stays grey); only then is it read in three views (Photo.views).
COLOURED = (24, 0.001)
MARGIN = 1.12  # crop side = MARGIN * face diameter: synthetic training clocks keep a little background
FLAT_RANGE = 128  # a crop whose grey levels (1st to 99th percentile) span fewer is stretched (stretch_flat)


@dataclass
class Photo:
    """An upload, upright: `image` RGB at working size, `gray` (H, W) uint8 of it, and `scale`
    (working pixels per original pixel, <= 1); `size` is the original's (width, height)."""

    image: Image.Image
    gray: np.ndarray
    scale: float
    size: tuple

    @cached_property
    def fill(self) -> int:
        """Returns the grey that crops reaching outside the photo are padded with (its median, estimated)."""
        return int(np.median(self.gray[::4, ::4]))

    @cached_property
    def views(self) -> list:
        """Returns the (H, W) uint8 grayscale renderings the reader reads and averages: the luminance
        (`gray`), then each pixel's brightest and its darkest colour channel, so that a coloured hand
        drops out in one (a red second hand on a white face) and stays dark in the other (a red hour
        hand); only the luminance for a photo without colour (COLOURED)."""
        rgb = np.asarray(self.image)
        red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        brightest, darkest = np.maximum(np.maximum(red, green), blue), np.minimum(np.minimum(red, green), blue)
        chroma = brightest[::2, ::2] - darkest[::2, ::2]
        if np.count_nonzero(chroma > COLOURED[0]) <= COLOURED[1] * chroma.size:
            return [self.gray]
        return [self.gray, brightest, darkest]


@dataclass
class Face:
    """A square crop of an upload: what the reader sees and where it came from.

    image: (size, size) uint8 grayscale, what the reader sees.
    photo: the upright RGB upload at working size (for drawing on); `scale` its pixels per original pixel.
    box: (left, top, side) of the square crop in original pixels; may reach outside the photo.
    source: why this crop: "user" (a box the user marked), "detected" (a dial the detector found),
    "centre" (the centre square) or "whole" (the whole photo, padded square); "+recentred" when
    it was re-centred on the dial the reader's face locator found.
    """

    image: np.ndarray
    photo: Image.Image
    box: tuple
    source: str
    scale: float = 1.0


def open_image(source) -> Image.Image:
    """Returns an upright RGB PIL image (at working size, see WORK_SIDE) from a path, bytes, file object,
    PIL image or array.

    Raises ValueError naming the source for non-images, corrupt or truncated files,
    decompression bombs, and tiny or blank images.
    """
    return open_photo(source).image


def open_photo(source) -> Photo:
    """Returns the upload as a Photo: upright, at most WORK_SIDE a side, with its grayscale; see open_image.
    A Photo is returned as it is (opened once, read many times)."""
    if isinstance(source, Photo):
        return source
    name = source_name(source)
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.dtype != np.uint8:
            raise ValueError(f"{name}: expected a uint8 (H, W) or (H, W, 3) array, got {source.dtype} {source.shape}")
        source = Image.fromarray(source)
    image, full = read_photo(source, name, max_side=WORK_SIDE)  # any mode, 16-bit included, as 8-bit, upright
    image = image.convert("RGB")
    if min(full) < MIN_SIDE:
        raise ValueError(f"{name} is too small ({full[0]}x{full[1]}); need at least {MIN_SIDE} pixels a side")
    gray = np.asarray(image.convert("L"))
    if gray.std() < 2:
        raise ValueError(f"{name} is blank (a single flat colour); upload a photo of a clock")
    return Photo(image, gray, image.width / full[0], tuple(full))


def _crop(gray: np.ndarray, box: tuple, size: int, fill: int | None = None) -> np.ndarray:
    """Returns the (size, size) uint8 square box (left, top, side) of gray; outside parts get `fill`
    (default: gray's median)."""
    left, top, side = box
    source_image = Image.fromarray(gray)
    factor = max(1, int(side // (2 * size)))
    if factor > 1:  # a big downscale: average first so thin hands survive
        source_image = source_image.reduce(factor)
    x0, y0, s = left / factor, top / factor, side / factor
    face = source_image.transform((size, size), Image.EXTENT, (x0, y0, x0 + s, y0 + s), Image.BILINEAR,
                                  fillcolor=int(np.median(gray)) if fill is None else fill)
    return np.asarray(face, np.uint8)


def stretch_flat(image: np.ndarray) -> np.ndarray:
    """Returns a (H, W) uint8 crop stretched so that its 1st to 99th percentile grey levels span 0..255 when they
    span fewer than FLAT_RANGE (a dim, hazy or flat photo), else the crop as it is."""
    low, high = np.percentile(image, [1, 99])
    if not 8 < high - low < FLAT_RANGE:  # a near-uniform crop holds nothing to stretch
        return image
    return np.clip((image.astype(np.float32) - low) * (255 / (high - low)), 0, 255).astype(np.uint8)


def crop_face(photo: Photo, box: tuple, source: str = "user", size: int = 150, view: int = 0) -> Face:
    """Returns the Face of the square box (left, top, side), in original pixels, of a Photo's
    `view` (an index into Photo.views; 0 is the luminance), stretched if flat (stretch_flat)."""
    left, top, side = box
    if not side > 0:
        raise ValueError(f"a crop needs a positive side, got {side}")
    working = (left * photo.scale, top * photo.scale, side * photo.scale)
    return Face(
        stretch_flat(_crop(photo.views[view], working, size, photo.fill)), photo.image, tuple(float(v) for v in box),
        source,
        photo.scale,
    )


def square_around(left: float, top: float, width: float, height: float) -> tuple:
    """Returns the (left, top, side) square centred on a (left, top, width, height) rectangle, side its longer side."""
    side = max(width, height)
    return left + (width - side) / 2, top + (height - side) / 2, side


def start_boxes(photo: Photo, crop: bool = True) -> list:
    """Returns (box, source) squares to start reading from, in original pixels: the centre square and,
    for a photo far from square, the whole photo padded square (crop=False: the centre square only)."""
    w, h = photo.size
    short, long = min(w, h), max(w, h)
    boxes = [(((w - short) / 2, (h - short) / 2, short), "centre")]
    if crop and long > 1.15 * short:
        boxes.append((((w - long) / 2, (h - long) / 2, long), "whole"))
    return boxes


def preprocess_upload(source, size: int = 150) -> Face:
    """Returns the centre-square Face (size x size grayscale crop) of an upload; see open_image for errors."""
    photo = open_photo(source)
    return crop_face(photo, start_boxes(photo, crop=False)[0][0], "centre", size)


def gamma_view(image: np.ndarray, gamma: float) -> np.ndarray:
    """Returns the (H, W) uint8 image after skimage.exposure.adjust_gamma (for showing what gamma does)."""
    from skimage.exposure import adjust_gamma

    return adjust_gamma(image, gamma)
