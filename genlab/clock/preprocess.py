"""Turning an uploaded photo into what the reader was trained on.

Upright (EXIF orientation), grayscale, cropped to the clock face (the strongest large circle
found by a Hough transform, else the centre square), resized to 150x150 like the Leiden set.

    face = preprocess_upload("photo.jpg")   # face.image: (150, 150) uint8
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from genlab.images import read_image, source_name

MIN_SIDE = 32  # smaller images hold too few pixels to see hands
DETECT_SIDE = 120  # circles are searched on a copy this size: fast, and plenty for a face outline
MIN_VOTES = 0.45  # share of a circle's outline that must be edge pixels (spurious small circles reach ~0.4)
MARGIN = 1.12  # crop side = MARGIN * face diameter: synthetic training clocks keep a little background
# Off-centre crops (side OFF_CENTRE_ZOOM of the short side; corner at these fractions of the free
# space) for clocks the circle search misses away from the middle. With the face reader they lift
# clocks in scenes from 59.0% to 66.5% hour accuracy and cost pre-cropped clocks 1 point (98.0 -> 97.0%).
OFF_CENTRE_ZOOM = 0.6
OFF_CENTRE = ((0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0))


@dataclass
class Face:
    """A preprocessed upload: the clock image and where it came from.

    image: (size, size) uint8 grayscale, what the reader sees.
    photo: the upright RGB upload (for drawing on).
    box: (left, top, side) of the square crop in photo pixels; may reach outside the photo.
    found_circle: whether a clock face was detected (else the centre square was used).
    """

    image: np.ndarray
    photo: Image.Image
    box: tuple
    found_circle: bool


def open_image(source) -> Image.Image:
    """Returns an upright RGB PIL image from a path, bytes, file object, PIL image or array.

    Raises ValueError naming the source for non-images, corrupt or truncated files,
    decompression bombs, and tiny or blank images.
    """
    return _open_with_gray(source)[0]


def _open_with_gray(source) -> tuple:
    """Returns (open_image(source), its (H, W) uint8 grayscale array), converting to gray once."""
    name = source_name(source)
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.dtype != np.uint8:
            raise ValueError(f"{name}: expected a uint8 (H, W) or (H, W, 3) array, got {source.dtype} {source.shape}")
        source = Image.fromarray(source)
    image = read_image(source, name).convert("RGB")  # any mode, 16-bit included, as 8-bit, upright
    if min(image.size) < MIN_SIDE:
        raise ValueError(f"{name} is too small ({image.width}x{image.height}); need at least {MIN_SIDE} pixels a side")
    gray = np.asarray(image.convert("L"))
    if gray.std() < 2:
        raise ValueError(f"{name} is blank (a single flat colour); upload a photo of a clock")
    return image, gray


def find_face(gray: np.ndarray):
    """Returns (cx, cy, r) of the clock face in a (H, W) uint8 image, or None if no clear circle.

    Searches circles of radius 15-52% of the short side on a DETECT_SIDE copy; among the
    strong candidates it takes the largest (the rim, not an inner chapter ring).
    """
    from skimage.feature import canny
    from skimage.transform import hough_circle

    h, w = gray.shape
    scale = DETECT_SIDE / max(h, w)
    small = np.asarray(Image.fromarray(gray).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                    Image.BILINEAR), np.float32) / 255
    edges = canny(small, sigma=2)
    short = min(small.shape)
    radii = np.arange(max(4, int(0.15 * short)), int(0.52 * short) + 1, 2)
    if edges.sum() < 20 or len(radii) == 0:
        return None
    votes = hough_circle(edges, radii)  # (R, h, w), normalised by each circle's perimeter
    flat = votes.reshape(len(radii), -1)
    best_at = flat.argmax(1)
    strengths = flat[np.arange(len(radii)), best_at]
    if strengths.max() < MIN_VOTES:
        return None
    k = np.flatnonzero(strengths >= 0.8 * strengths.max()).max()  # the largest strong circle
    y, x = divmod(int(best_at[k]), small.shape[1])
    return x / scale, y / scale, radii[k] / scale


def _crop(gray: np.ndarray, box: tuple, size: int) -> np.ndarray:
    """Returns the (size, size) uint8 square box (left, top, side) of gray; outside parts get its median grey."""
    left, top, side = box
    source_image = Image.fromarray(gray)
    factor = max(1, int(side // (2 * size)))
    if factor > 1:  # a big downscale: average first so thin hands survive
        source_image = source_image.reduce(factor)
    x0, y0, s = left / factor, top / factor, side / factor
    face = source_image.transform((size, size), Image.EXTENT, (x0, y0, x0 + s, y0 + s), Image.BILINEAR,
                                  fillcolor=int(np.median(gray)))
    return np.asarray(face, np.uint8)


def face_candidates(source, size: int = 150, crop: bool = True) -> list:
    """Returns the Faces worth reading in an upload, the most likely first.

    crop=True: the detected circle (if any), the centre square, two closer centre crops (a clock
    that fills only the middle of the photo) and six off-centre crops (see OFF_CENTRE); crop=False:
    the centre square only. See open_image for errors.
    """
    photo, gray = _open_with_gray(source)
    h, w = gray.shape
    short = min(h, w)
    boxes = []
    circle = find_face(gray) if crop else None
    if circle is not None and circle[2] < 0.42 * short:
        cx, cy, r = circle
        boxes.append(((cx - r * MARGIN, cy - r * MARGIN, 2 * r * MARGIN), True))
    for zoom in ((1.0, 0.75, 0.55) if crop else (1.0,)):
        side = zoom * short
        boxes.append((((w - side) / 2, (h - side) / 2, side), False))
    if crop:
        side = OFF_CENTRE_ZOOM * short
        boxes += [(((w - side) * fx, (h - side) * fy, side), False) for fx, fy in OFF_CENTRE]
    return [Face(_crop(gray, box, size), photo, box, found) for box, found in boxes]


def preprocess_upload(source, size: int = 150, crop: bool = True) -> Face:
    """Returns the most likely Face (size x size grayscale crop) of an upload; see open_image for errors."""
    return face_candidates(source, size, crop)[0]


def gamma_view(image: np.ndarray, gamma: float) -> np.ndarray:
    """Returns the (H, W) uint8 image after skimage.exposure.adjust_gamma (for showing what gamma does)."""
    from skimage.exposure import adjust_gamma

    return adjust_gamma(image, gamma)
