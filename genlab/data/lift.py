"""Lift a user's own 2D digit image (photo or drawing, any size) to a 3D MNIST voxel grid."""

import numpy as np
from PIL import Image

from genlab.data.errors import DataError
from genlab.data.voxelize import voxelize_digits
from genlab.images import read_image

MAX_SIDE = 1024  # larger pictures are shrunk first: a digit needs no more detail than that
INK_THRESHOLD = 0.25  # after contrast stretching, fainter pixels are background (paper, noise)
SPECK_SHARE = 0.02  # ink in bits holding less than this share of it is not part of the digit
LINE_SPAN, LINE_THICK = 0.8, 0.02  # _without_ruled_lines: a ruled line crosses this much, and is at most this thick
EDGE_SIDE, EDGE_REST = 0.5, 0.05  # _digit_only: ink along this share of a side is not the digit, if enough is left
PAPER_SIDE = 64  # _ink fits the paper's shading on a copy this big (short side)
PAPER_ROUNDS = 4  # ... this many times, each without the pixels the last fit calls ink


def mnist_like(image) -> np.ndarray:
    """Returns uint8 (28, 28): a digit image made to look like MNIST (bright ink, centred).

    image: a PIL image, an array (H, W) or (H, W, 3|4) (uint8, or float in [0, 1]), or the
    bytes of an image file. Steps: grayscale; the ink, bright, with the paper's shading taken out
    (_ink; dark ink on a light background or light ink on a dark one); stretch the contrast and drop
    faint pixels; leave out ruled lines, specks and a table at the edge (_without_ruled_lines,
    _digit_only); crop to the ink; fit it in 20x20, keeping its aspect ratio; centre it by mass in
    28x28, as MNIST does.
    """
    gray = _ink(_grayscale(image))
    background, top = np.median(_border(gray)), gray.max()
    if top - background < 0.1:
        raise DataError("no digit found: the image has almost no contrast")
    ink = np.clip((gray - background) / (top - background), 0, 1)
    ink[ink < INK_THRESHOLD] = 0
    ink = _digit_only(_without_ruled_lines(ink))
    if not ink.any():
        raise DataError("no digit found: only specks stand out from the background")
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


def _without_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """Returns the ink without the thin lines ruled across the whole page (a notebook's lines or squares): runs of
    rows (columns) at most LINE_THICK of the picture thick, each with ink across at least LINE_SPAN of its width
    (height). A stroke crossing such a line keeps a gap as thin as the line."""
    ink = np.where(_thin_runs((ink > 0).mean(axis=1) >= LINE_SPAN)[:, None], 0.0, ink)  # rows first, then columns
    return np.where(_thin_runs((ink > 0).mean(axis=0) >= LINE_SPAN)[None, :], 0.0, ink)


def _thin_runs(lined: np.ndarray) -> np.ndarray:
    """Returns which entries of a boolean row lie in runs of True at most LINE_THICK of its length long (at least 1)."""
    thin = np.zeros_like(lined)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], lined.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):  # each run of lined rows (columns)
        thin[start:stop] = stop - start <= max(1, LINE_THICK * len(lined))
    return thin


def _digit_only(ink: np.ndarray) -> np.ndarray:
    """Returns the ink without its connected parts that are not the digit, which would otherwise widen the crop
    around it: specks (less than SPECK_SHARE of the ink: grain, dust) and, if the rest holds at least EDGE_REST of
    it, parts lying along at least EDGE_SIDE of a side of the picture (a table beside the page, its shadow), where a
    digit's strokes only end."""
    from skimage.measure import label

    parts = label(ink > 0, connectivity=2)
    mass = np.bincount(parts.ravel(), weights=ink.ravel())
    keep = mass >= SPECK_SHARE * mass[1:].sum()
    keep[0] = False  # the background
    along = np.zeros(len(mass), bool)
    for side in (parts[0], parts[-1], parts[:, 0], parts[:, -1]):
        along |= np.bincount(side, minlength=len(mass)) >= EDGE_SIDE * len(side)
    edge = keep & along
    if edge.any() and mass[keep & ~edge].sum() >= EDGE_REST * mass[keep].sum():
        keep &= ~edge
    return np.where(keep[parts], ink, 0.0)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Returns float64 (H, W) in [0, 1]: how much ink each pixel holds, bright ink on a dark background, with the
    paper's own shading taken out (a phone photo of a page is lit unevenly, and its dim side is not ink).

    The paper is a smooth surface of brightness: a quadratic in x and y, fitted by least squares to a small copy,
    again and again without the pixels further from it than 3 robust standard deviations, which are ink (the first
    fit: to the pixels near the picture's median level). A stroke of any width drops out, as long as the paper is
    most of the picture. The ink is dark on light paper when those pixels lie below the paper on the whole, else
    light on dark paper. Ink is the darkening relative to the paper, or the brightening above it. A picture whose
    border is mostly lighter than the fitted paper is a digit cropped tight (its strokes most of the picture), and a
    blank one has no ink to fit around: for those the paper is the border's level, as its border says. A digit
    cropped so tight that its strokes fill most of its border as well can still be taken for the paper."""
    height, width = gray.shape
    shrink = min(1.0, PAPER_SIDE / min(height, width))
    small = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    small = small.resize((max(1, round(width * shrink)), max(1, round(height * shrink))), Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float64).ravel() / 255.0
    terms = np.stack([np.broadcast_to(term, small.size[::-1]).ravel() for term in _quadratic_terms(*small.size[::-1])],
                     axis=1)
    paper_pixels = _near_middle(values)  # first guess: the paper is most of the picture
    for _ in range(PAPER_ROUNDS):
        coefficients = np.linalg.lstsq(terms[paper_pixels], values[paper_pixels], rcond=None)[0]
        off = values - terms @ coefficients
        paper_pixels = _near_middle(off, paper_pixels)
    on_paper = _border(paper_pixels.reshape(small.size[::-1]))
    surround = _border(off.reshape(small.size[::-1]))[~on_paper]  # the border's pixels that are not paper, vs the fit
    if paper_pixels.all() or (on_paper.mean() < 0.5 and np.median(surround) > 0):
        # A blank picture, or one whose border is mostly lighter than what the fit calls paper: not a light page on
        # a darker table but a digit cropped so tight that its strokes are most of the picture. The paper is then
        # the border's level, all over.
        level = np.median(_border(gray))
        light_paper, paper = level > 0.5, np.full_like(gray, level)
    else:
        light_paper = off[~paper_pixels].sum() < 0
        paper = sum(c * term for c, term in zip(coefficients, _quadratic_terms(height, width)))
    if light_paper:
        return np.clip((paper - gray) / np.maximum(paper, 0.2), 0, 1)
    return np.clip(gray - paper, 0, 1)


def _border(image: np.ndarray) -> np.ndarray:
    """Returns the pixels along the four sides of a (H, W) array, as one row."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def _near_middle(values: np.ndarray, among=None) -> np.ndarray:
    """Returns which values lie within 3 robust standard deviations (1.4826 median absolute deviations, at least
    0.0067) of the median of those `among` (default all)."""
    among = values if among is None else values[among]
    middle = np.median(among)
    spread = 1.4826 * np.median(np.abs(among - middle))
    return np.abs(values - middle) <= 3 * max(spread, 0.0067)


def _quadratic_terms(height: int, width: int) -> list:
    """Returns 1, x, y, x^2, xy, y^2 as arrays that broadcast to (height, width): x and y at each pixel's centre,
    from -0.5 to 0.5 across the picture."""
    y = (np.arange(height)[:, None] + 0.5) / height - 0.5
    x = (np.arange(width)[None] + 0.5) / width - 0.5
    return [np.ones((1, 1)), x, y, x * x, x * y, y * y]


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
