"""The "synthetic" source: procedural handwriting-like digits, offline and in seconds.

Each digit 0-9 has a stroke skeleton (polylines and arcs in a unit box, y pointing down).
A sample jitters the skeleton's points, slants, rotates and scales it, picks a pen width
and a position, draws it at 4x resolution with round pen ends, and shrinks it to 28x28
uint8 (ink bright on black, in about 20x20 and centred by mass, like MNIST). The 3D MNIST procedure then lifts it.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from genlab.data.voxelize import voxelize_digits

_SCALE = 4  # drawing resolution: 4x the 28x28 output, then box-filtered down


def _arc(cx, cy, rx, ry, start_deg, end_deg, points=14):
    """Returns (points, 2) along an elliptic arc; angles clockwise from +x (y points down)."""
    t = np.deg2rad(np.linspace(start_deg, end_deg, points))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*xy):
    """Returns (points, 2) of a polyline through the given (x, y) pairs."""
    return np.array(xy, dtype=float)


# Stroke skeletons: for each digit, a list of strokes, each (points, 2) in [0, 1]^2.
SKELETONS = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, -90, 270, 28)],
    1: [_line((0.38, 0.18), (0.55, 0.03), (0.55, 0.97))],
    2: [np.concatenate([_arc(0.5, 0.3, 0.3, 0.26, 190, 360 + 30, 12),
                        _line((0.62, 0.6), (0.18, 0.96), (0.85, 0.96))])],
    3: [np.concatenate([_arc(0.48, 0.27, 0.3, 0.23, 200, 360 + 90, 14),
                        _arc(0.48, 0.73, 0.33, 0.24, -90, 160, 14)])],
    4: [_line((0.62, 0.03), (0.15, 0.66), (0.88, 0.66)), _line((0.66, 0.3), (0.66, 0.98))],
    5: [np.concatenate([_line((0.8, 0.04), (0.3, 0.04), (0.25, 0.45)),
                        _arc(0.48, 0.68, 0.32, 0.28, -120, 150, 14)])],
    6: [np.concatenate([_arc(0.85, 0.6, 0.6, 0.58, 255, 180, 8), _arc(0.5, 0.72, 0.27, 0.25, 180, 540, 20)])],
    7: [_line((0.14, 0.05), (0.86, 0.05), (0.42, 0.97))],
    8: [_arc(0.5, 0.26, 0.22, 0.22, 90, 450, 20), _arc(0.5, 0.72, 0.28, 0.25, -90, 270, 22)],
    9: [np.concatenate([_arc(0.48, 0.3, 0.27, 0.26, 0, 360, 20), _line((0.75, 0.3), (0.62, 0.97))])],
}


def render_digit(label: int, rng: np.random.Generator) -> np.ndarray:
    """Returns one random handwriting-like digit `label` as uint8 (28, 28), ink bright."""
    strokes = [stroke + rng.normal(0, 0.025, size=stroke.shape) for stroke in SKELETONS[label]]
    # Shape: slant (shear), a small rotation, width and height, all about the centre.
    slant = rng.uniform(-0.4, 0.1)
    angle = np.deg2rad(rng.uniform(-10, 10))
    size = rng.uniform(0.75, 0.95)
    width = size * rng.uniform(0.75, 1.1) * (0.55 if label == 1 else 1.0)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1.0, slant], [0.0, 1.0]])
    transform = rotate @ shear @ np.diag([width, size])
    centre = np.array([14.0, 14.0])  # drawn in a 20-pixel box, then centred by mass below
    pen = rng.uniform(1.8, 3.6) * _SCALE

    canvas = Image.new("L", (28 * _SCALE, 28 * _SCALE), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        xy = ((stroke - 0.5) @ transform.T * 20 + centre) * _SCALE
        points = [tuple(p) for p in xy]
        draw.line(points, fill=255, width=int(round(pen)), joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends
            r = pen / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    canvas = canvas.filter(ImageFilter.GaussianBlur(_SCALE * 0.5))  # a soft pen edge
    # Centre by mass, as MNIST does, give or take a pixel.
    ink = np.asarray(canvas, dtype=np.float64)
    grid = np.arange(ink.shape[0]) + 0.5
    mass = (ink.sum(axis=0) @ grid / ink.sum(), ink.sum(axis=1) @ grid / ink.sum())  # (x, y)
    target = (14 + rng.uniform(-1, 1, size=2)) * _SCALE
    shift_x, shift_y = np.array(mass) - target
    canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, 0, shift_x, 0, 1, shift_y),
                              resample=Image.Resampling.BILINEAR)
    small = canvas.resize((28, 28), Image.Resampling.BOX)
    image = np.asarray(small, dtype=np.float32) * rng.uniform(0.85, 1.0)
    # Every non-zero pixel becomes a 3D box: drop the faintest antialiasing fringe.
    image[image < 20] = 0
    return image.astype(np.uint8)


def synthetic_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns uint8 digits (count, 28, 28) and int64 labels (count,), balanced over 0-9, by seed."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % 10).astype(np.int64)
    images = np.stack([render_digit(int(label), rng) for label in labels]) if count else \
        np.zeros((0, 28, 28), dtype=np.uint8)
    return images, labels


def build(n_train=6000, n_test=1000, seed=0):
    """Returns (X_train, y_train, X_test, y_test): synthetic digits lifted to 3D (test uses seed + 1)."""
    if n_train < 1 or n_test < 1:
        raise ValueError(f"synthetic dataset needs n_train and n_test >= 1, got {n_train}, {n_test}")
    train_images, y_train = synthetic_digits(n_train, seed)
    test_images, y_test = synthetic_digits(n_test, seed + 1)
    return voxelize_digits(train_images), y_train, voxelize_digits(test_images), y_test
