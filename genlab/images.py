"""Reading a user's image: any file Pillow opens, in any mode, as an upright 8-bit picture.

One place for what every upload path needs (the clock reader, the digit lift, the Data page's
preview): refuse non-images, damaged files and decompression bombs with a message naming the
file; turn the picture upright (EXIF); put transparent drawings on white paper; and bring every
Pillow mode to 8 bits. High-depth grayscale (I;16, I, F) is scaled by the range its pixels
actually span, so a 16-bit photo keeps its contrast instead of clipping to white.

    image = read_image(data, "photo.png")   # PIL image, mode "L" or "RGB"
"""

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # pixels decoded; more are refused as a decompression bomb
# A JPEG decodes at 1/2 to 1/8 scale where it is bigger than wanted (max_side) or than MAX_PIXELS, so it may hold
# this many: a 48- to 200-MP phone photo, still under MAX_PIXELS decoded.
MAX_JPEG_PIXELS = 210_000_000
HIGH_DEPTH = ("I", "F")  # with the I;16 family: grayscale with more than 8 bits

Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS  # Pillow's own check, at opening; read_photo applies MAX_PIXELS


def source_name(source) -> str:
    """Returns how to name an image source in messages: its path, its file object's name, or "the upload"."""
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", None) or "the upload"


def read_image(source, name: str | None = None) -> Image.Image:
    """Returns an upright 8-bit PIL image (mode "L" or "RGB") from a path, bytes, file object or PIL image.

    Raises ValueError naming the file (`name`, else source_name) for missing files, folders, non-images,
    corrupt or truncated files and images over MAX_PIXELS. A JPEG of up to MAX_JPEG_PIXELS is read at the largest of
    1/2, 1/4 or 1/8 scale that decodes at most MAX_PIXELS.
    """
    return read_photo(source, name)[0]


def read_photo(source, name: str | None = None, max_side: int | None = None) -> tuple:
    """Returns (read_image's image, the upright original's (width, height)); see read_image for errors.

    max_side: bring the long side down to about max_side (between 0.9 and 1 times it, or the
    original's where smaller): JPEGs decode straight to 1/2, 1/4 or 1/8 scale, the rest shrink by
    a whole factor (a box filter, which keeps thin lines).
    """
    name = name or source_name(source)
    if isinstance(source, Image.Image):
        image = source
        full = image.size
        if full[0] * full[1] > MAX_PIXELS:
            raise ValueError(f"{name} is too large to open safely ({full[0]}x{full[1]}; "
                             f"at most {MAX_PIXELS:,} pixels)")
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = io.BytesIO(bytes(source))
        try:
            with warnings.catch_warnings():
                # PIL only warns between MAX_IMAGE_PIXELS and twice that; refuse those too.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(source)
                full = image.size
                jpeg = image.format == "JPEG"
                if full[0] * full[1] > (MAX_JPEG_PIXELS if jpeg else MAX_PIXELS):
                    raise Image.DecompressionBombError(f"{full[0]}x{full[1]} pixels")
                if jpeg:
                    _draft(image, max_side)
                    if image.width * image.height > MAX_PIXELS:  # what will be decoded
                        raise Image.DecompressionBombError(f"{full[0]}x{full[1]} pixels, decoded at {image.size}")
                image.load()  # decode now, so truncated files fail here
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ValueError(f"{name} is too large to open safely (over {MAX_PIXELS:,} pixels, or a JPEG over "
                             f"{MAX_JPEG_PIXELS:,}): {error}") from None
        except UnidentifiedImageError:
            if _is_heif(source):
                raise ValueError(f"{name} is a HEIC/HEIF photo (an iPhone's usual format), which genlab cannot "
                                 "read: share or export it as JPEG") from None
            raise ValueError(f"{name} is not an image genlab can read (use JPEG, PNG, WebP, TIFF, BMP or "
                             "GIF)") from None
        except FileNotFoundError:
            raise ValueError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise ValueError(f"{name} is a folder, not an image") from None
        except (OSError, SyntaxError, EOFError, ValueError) as error:
            raise ValueError(f"{name} is a corrupt or truncated image: {error}") from None
    if max_side and max(image.size) > max_side:
        image = _reducible(image).reduce(-(-max(image.size) // max_side))
    try:
        upright = ImageOps.exif_transpose(image)
        if upright.size != image.size:  # a quarter turn: the original's sides swap too
            full = full[::-1]
        return to_8bit(upright), tuple(full)
    except (OSError, ValueError) as error:  # a mode Pillow cannot convert
        raise ValueError(f"{name} has an image mode genlab cannot read ({image.mode}): {error}") from None


HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")  # ISO-BMFF 'ftyp' brands


def _is_heif(source) -> bool:
    """Returns whether a file (path or file object) starts as a HEIC/HEIF image does: a 'ftyp' box of a HEIF brand."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as file:
                head = file.read(12)
        else:
            source.seek(0)
            head = source.read(12)
    except (OSError, AttributeError, ValueError):
        return False
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _draft(jpeg: Image.Image, max_side: int | None) -> None:
    """Makes an opened JPEG decode at 1/2, 1/4 or 1/8 scale where it is bigger than max_side (to 0.9 of it or more)
    or than MAX_PIXELS (the largest of those scales that decodes at most MAX_PIXELS); as it is otherwise."""
    wanted = 0.9 * max_side / max(jpeg.size) if max_side and max(jpeg.size) > max_side else 1.0
    fits = next((s for s in (1, 1 / 2, 1 / 4) if jpeg.width * jpeg.height * s ** 2 <= MAX_PIXELS), 1 / 8)
    scale = min(wanted, fits)  # draft picks the smallest decode at least this big
    if scale < 1:
        jpeg.draft(jpeg.mode, (max(1, int(jpeg.width * scale)), max(1, int(jpeg.height * scale))))


def _reducible(image: Image.Image) -> Image.Image:
    """Returns `image` in a mode that Image.reduce averages: a palette image as RGBA (averaging its indices would
    mix unrelated colours), 1-bit as L, 16-bit as 32-bit I (Image.reduce refuses those three); others as they are.
    Its info (EXIF orientation included) goes with it."""
    if image.mode in ("P", "PA"):
        return image.convert("RGBA")
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16"):
        return image.convert("I")
    return image


def to_8bit(image: Image.Image) -> Image.Image:
    """Returns `image` as 8-bit "L" or "RGB".

    I;16, I and F are scaled from their darkest to their brightest pixel onto 0..255 (NaN
    becomes black); a transparent image (RGBA, LA, PA, or P with transparency) is put on white
    paper; any other mode (P, 1, CMYK, YCbCr, LAB, HSV...) is converted by Pillow.
    """
    mode = image.mode
    if mode in HIGH_DEPTH or mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(values)
        low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0.0, 0.0)
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        return Image.fromarray(np.round(np.where(finite, scaled, 0)).astype(np.uint8), "L")
    if mode in ("RGBA", "LA", "PA") or (mode in ("P", "L", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        on_paper = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        return on_paper.convert("L" if mode in ("LA", "L") else "RGB")
    if mode in ("L", "RGB"):
        return image
    return image.convert("L" if mode == "1" else "RGB")
