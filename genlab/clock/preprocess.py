"""Turning an uploaded photo into what the reader was trained on.

Upright (EXIF orientation), at most WORK_SIDE pixels a side (JPEGs decode straight to about that
size), grayscale, and cut into square crops around where a clock may be, each resized to 150x150
like the Leiden set. Boxes are (left, top, side) in the pixels of the upright original.

    photo = open_photo("photo.jpg")
    face = crop_face(photo, (left, top, side))   # face.image: (150, 150) uint8
"""

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # bigger than any phone photo; larger files are refused as decompression bombs
WORK_SIDE = 1024  # photos are read at most about this big (long side): the reader's input is 72 px
MIN_SIDE = 32  # smaller images hold too few pixels to see hands
MARGIN = 1.12  # crop side = MARGIN * face diameter: synthetic training clocks keep a little background

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass
class Photo:
    """An upload, upright: `image` RGB at working size, `gray` (H, W) uint8 of it, and `scale`
    (working pixels per original pixel, <= 1); `size` is the original's (width, height)."""

    image: Image.Image
    gray: np.ndarray
    scale: float
    size: tuple

    @property
    def fill(self) -> int:
        """Returns the grey that crops reaching outside the photo are padded with (its median, estimated)."""
        return int(np.median(self.gray[::4, ::4]))


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


def _name(source) -> str:
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "the upload")


def open_image(source) -> Image.Image:
    """Returns an upright RGB PIL image (at working size, see WORK_SIDE) from a path, bytes, file object,
    PIL image or array.

    Raises ValueError naming the source for non-images, corrupt or truncated files,
    decompression bombs, and tiny or blank images.
    """
    return open_photo(source).image


def open_photo(source) -> Photo:
    """Returns the upload as a Photo: upright, at most WORK_SIDE a side, with its grayscale; see open_image."""
    name = _name(source)
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.dtype != np.uint8:
            raise ValueError(f"{name}: expected a uint8 (H, W) or (H, W, 3) array, got {source.dtype} {source.shape}")
        image = Image.fromarray(source)
        full = image.size
    elif isinstance(source, Image.Image):
        image, full = source, source.size
    else:
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        try:
            with warnings.catch_warnings():
                # PIL only warns between MAX_PIXELS and twice that; refuse those too.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(source)
                full = image.size
                if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale, keeping 0.9 WORK_SIDE or more
                    shrink = 0.9 * WORK_SIDE / max(image.size)
                    image.draft("RGB", (round(image.width * shrink), round(image.height * shrink)))
                image.load()  # decode now, so truncated files fail here
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ValueError(f"{name} is too large to open safely (over {MAX_PIXELS:,} pixels): {error}") from error
        except UnidentifiedImageError as error:
            raise ValueError(f"{name} is not an image PIL can read (use PNG, JPEG or WebP)") from error
        except (OSError, SyntaxError, EOFError) as error:
            raise ValueError(f"{name} is a corrupt or truncated image: {error}") from error
    if full[0] * full[1] > MAX_PIXELS:
        raise ValueError(f"{name} is too large ({full[0]}x{full[1]}); at most {MAX_PIXELS:,} pixels")
    transposed = ImageOps.exif_transpose(image)
    if transposed.size != image.size:  # a quarter turn: the original's sides swap too
        full = full[::-1]
    image = transposed
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    image = image.convert("RGB")
    if min(full) < MIN_SIDE:
        raise ValueError(f"{name} is too small ({full[0]}x{full[1]}); need at least {MIN_SIDE} pixels a side")
    if max(image.size) > WORK_SIDE:  # a box filter by a whole factor: fast, and keeps thin hands
        image = image.reduce(-(-max(image.size) // WORK_SIDE))
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


def crop_face(photo: Photo, box: tuple, source: str = "user", size: int = 150) -> Face:
    """Returns the Face of the square box (left, top, side), in original pixels, of a Photo."""
    left, top, side = box
    if not side > 0:
        raise ValueError(f"a crop needs a positive side, got {side}")
    working = (left * photo.scale, top * photo.scale, side * photo.scale)
    return Face(_crop(photo.gray, working, size, photo.fill), photo.image, tuple(float(v) for v in box), source, photo.scale)


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
