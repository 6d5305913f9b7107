"""Gaussian noise and lifting a user's 2D digit image to 3D."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from genlab.data import DataError, add_gaussian_noise, lift_image, voxelize_digits
from genlab.data.lift import mnist_like
from genlab.data.synthetic import synthetic_digits


def test_noise_is_seeded_clipped_and_has_the_variance():
    X = np.full((20, 16, 16, 16), 0.5, dtype=np.float32)
    noisy = add_gaussian_noise(X, variance=0.01, seed=3)
    assert noisy.shape == X.shape and noisy.dtype == np.float32
    assert abs(float((noisy - X).var()) - 0.01) < 0.0005 and abs(float(noisy.mean()) - 0.5) < 0.002
    np.testing.assert_array_equal(noisy, add_gaussian_noise(X, variance=0.01, seed=3))
    assert not np.array_equal(noisy, add_gaussian_noise(X, variance=0.01, seed=4))
    heavy = add_gaussian_noise(X)  # the experiments' variance 0.1, clipped to [0, 1]
    np.testing.assert_array_equal(heavy, add_gaussian_noise(X, variance=0.1, seed=0))
    assert heavy.min() == 0.0 and heavy.max() == 1.0
    np.testing.assert_array_equal(add_gaussian_noise(X, variance=0.0), X)


def photo_of(digit, scale=9, dark_on_light=True, rgb=False):
    """Returns a big 'photo' of a 28x28 digit: upscaled, on paper, with some grain."""
    rng = np.random.default_rng(0)
    big = np.kron(digit.astype(float) / 255, np.ones((scale, scale)))
    big = np.pad(big, ((30, 50), (70, 20)))  # off-centre, not square
    paper = 1 - big * 0.8 if dark_on_light else 0.1 + big * 0.8
    paper = np.clip(paper + rng.normal(0, 0.03, size=paper.shape), 0, 1)
    image = (paper * 255).astype(np.uint8)
    return np.stack([image] * 3, axis=-1) if rgb else image


def correlation(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


@pytest.mark.parametrize("kind", ["array", "rgb", "pil", "png_bytes", "light_on_dark"])
def test_lifts_a_photo_of_a_digit_like_the_digit_itself(kind):
    images, _ = synthetic_digits(3, seed=2)
    for digit in images:
        photo = photo_of(digit, dark_on_light=kind != "light_on_dark", rgb=kind == "rgb")
        if kind == "pil":
            photo = Image.fromarray(photo)
        elif kind == "png_bytes":
            buffer = io.BytesIO()
            Image.fromarray(photo).save(buffer, format="PNG")
            photo = buffer.getvalue()
        grid = lift_image(photo)
        assert grid.shape == (16, 16, 16) and grid.dtype == np.float32 and grid.max() == 1.0
        assert correlation(grid, voxelize_digits(digit[None])[0]) > 0.6


def test_mnist_like_crops_fits_and_centres():
    images, _ = synthetic_digits(1, seed=5)
    digit = mnist_like(photo_of(images[0], scale=15))
    rows, cols = np.nonzero(digit)
    assert digit.dtype == np.uint8 and digit.shape == (28, 28) and digit.max() > 200
    extent = max(np.ptp(rows), np.ptp(cols)) + 1
    assert 18 <= extent <= 20
    mass = digit.astype(float)
    assert abs((mass.sum(axis=1) @ np.arange(28)) / mass.sum() - 13.5) <= 1
    assert abs((mass.sum(axis=0) @ np.arange(28)) / mass.sum() - 13.5) <= 1


@pytest.mark.parametrize("shade", [0.3, 0.5, 0.7])
def test_a_page_lit_unevenly_is_lifted_like_one_lit_evenly(shade):
    images, _ = synthetic_digits(3, seed=7)
    for digit in images:
        photo = photo_of(digit).astype(float)
        height, width = photo.shape
        y, x = np.mgrid[0:height, 0:width] / max(height, width)
        lit = np.clip(photo * (1 - shade * (0.8 * x + 0.6 * y)), 0, 255).astype(np.uint8)  # darker towards a corner
        assert correlation(mnist_like(lit), mnist_like(photo.astype(np.uint8))) > 0.9


@pytest.mark.parametrize("width", [0.1, 0.25, 0.35])
def test_a_fat_stroke_is_lifted_whole(width):
    canvas = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(canvas).line([(40, 40), (160, 40), (90, 170)], fill=0, width=int(width * 200), joint="curve")
    digit = mnist_like(np.asarray(canvas))  # a "7" drawn with a marker, filling the canvas
    ink = digit > 0
    assert (digit[ink] > 128).mean() > 0.85  # solid, no hole where the paper was guessed under the ink


def test_a_speck_away_from_the_digit_does_not_shrink_it():
    images, _ = synthetic_digits(1, seed=5)
    photo = photo_of(images[0], scale=15)
    clean = mnist_like(photo)
    photo[5:9, 5:9] = 0  # a fleck of dust in the corner of the page
    digit = mnist_like(photo)
    assert correlation(digit, clean) > 0.99
    rows, cols = np.nonzero(digit)
    assert 18 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 20


@pytest.mark.parametrize("page", [[(0, 0), (1000, 0), (1050, 900), (0, 900)],         # the table along one side
                                  [(200, 120), (1000, 100), (1050, 820), (150, 850)]])  # all round the page
def test_a_page_photographed_on_a_table_is_lifted_without_the_table(page):
    def photo(box):
        picture = Image.new("L", (1200, 900), 60)
        draw = ImageDraw.Draw(picture)
        draw.polygon(box, fill=225)
        draw.line([(480, 300), (720, 290), (560, 650)], fill=40, width=28, joint="curve")  # a handwritten "7"
        grain = np.random.default_rng(0).normal(0, 6, (900, 1200))
        return np.clip(np.asarray(picture, float) + grain, 0, 255).astype(np.uint8)

    whole_page = mnist_like(photo([(0, 0), (1200, 0), (1200, 900), (0, 900)]))
    assert correlation(mnist_like(photo(page)), whole_page) > 0.95


@pytest.mark.parametrize("squared", [False, True])
def test_a_digit_on_ruled_paper_is_lifted_without_the_lines(squared):
    def photo(lines):
        picture = Image.new("RGB", (1000, 800), (240, 240, 235))
        draw = ImageDraw.Draw(picture)
        for y in range(40, 800, 60) if lines else ():
            draw.line([(0, y), (1000, y)], fill=(150, 180, 230), width=3)  # a notebook's light blue lines
        for x in range(30, 1000, 60) if lines and squared else ():
            draw.line([(x, 0), (x, 800)], fill=(150, 180, 230), width=3)
        draw.line([(380, 250), (620, 240), (460, 600)], fill=(20, 30, 90), width=22, joint="curve")  # a "7" in ink
        return np.asarray(picture)

    digit, clean = mnist_like(photo(lines=True)), mnist_like(photo(lines=False))
    rows, cols = np.nonzero(digit)
    assert np.ptp(rows) + 1 == 20  # the digit fills the 20x20 box, as without the lines
    # the same 7, maybe a pixel lower or higher (the gaps the lines leave move its centre of mass)
    assert max(correlation(np.roll(digit, (dy, dx), (0, 1)), clean) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) > 0.9


def test_a_chalk_digit_on_a_board_lit_unevenly_is_lifted_like_one_lit_evenly():
    def board(glow):
        picture = Image.new("L", (1000, 750), 45)
        ImageDraw.Draw(picture).line([(380, 230), (620, 225), (470, 580)], fill=215, width=20, joint="curve")
        y, x = np.mgrid[0:750, 0:1000] / 1000
        light = glow * np.exp(-((x - 0.2) ** 2 + (y - 0.1) ** 2) / 0.08)  # a lamp's glow towards a corner
        grain = np.random.default_rng(0).normal(0, 6, light.shape)
        return np.clip(np.asarray(picture, float) + light + grain, 0, 255).astype(np.uint8)

    digit, clean = mnist_like(board(60)), mnist_like(board(0))
    assert max(correlation(np.roll(digit, (dy, dx), (0, 1)), clean) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) > 0.9


@pytest.mark.parametrize("width", [40, 70, 120])
def test_a_digit_cropped_tight_is_lifted_whole(width):
    canvas = Image.new("L", (width, 400), 235)
    ImageDraw.Draw(canvas).line([(width - 20, 8), (18, 392)], fill=30, width=25 + (width == 40) * 5)  # a "1"
    digit = mnist_like(np.asarray(canvas))
    rows, cols = np.nonzero(digit > 128)
    assert np.ptp(rows) + 1 >= 18 and np.ptp(cols) + 1 <= 10  # the stroke, tall and narrow; not the paper beside it


def test_transparent_drawing():
    canvas = np.zeros((200, 120, 4), dtype=np.uint8)
    canvas[20:180, 50:70] = (0, 0, 0, 255)  # a black "1" on a transparent canvas
    grid = lift_image(Image.fromarray(canvas, "RGBA"))
    assert grid.shape == (16, 16, 16) and grid.max() == 1.0


def test_bad_images_are_clear_errors():
    with pytest.raises(DataError, match="not a readable image"):
        lift_image(b"definitely not a PNG")
    with pytest.raises(DataError, match="no digit found"):
        lift_image(np.full((50, 50), 255, dtype=np.uint8))
    with pytest.raises(DataError, match="2D"):
        lift_image(np.zeros((4, 4, 4, 4)))
    with pytest.raises(DataError, match="NaN"):
        lift_image(np.full((8, 8), np.nan))
