"""Marking the clock on a photo (genlab.app.clock_mark): the box dragged on the photo and the three sliders."""

import base64
import io

import pytest
from PIL import Image

from genlab.app import clock_mark


@pytest.mark.parametrize("mark", [(50, 50, 60), (81, 26, 28), (10, 90, 5), (0, 100, 100)])
def test_a_box_drawn_around_the_marked_square_gives_back_the_sliders(mark):
    size, scale = (4032, 3024), 1024 / 4032  # a phone photo, read at working size
    zoom = clock_mark.shown_zoom(Image.new("RGB", (1024, 768)), scale)
    assert zoom == pytest.approx(720 / 4032)
    left, top, side = clock_mark.square_from_mark(*mark, size)
    assert side == pytest.approx(mark[2] / 100 * 3024)
    assert (left + side / 2, top + side / 2) == pytest.approx((mark[0] / 100 * 4032, mark[1] / 100 * 3024))
    box = {"x": [(left + side) * zoom, left * zoom], "y": [top * zoom, (top + side) * zoom]}  # dragged right to left
    assert clock_mark.mark_from_box(box, zoom, size) == mark


def test_a_box_becomes_the_square_around_it_within_the_sliders_ranges():
    size, zoom = (900, 600), 0.8
    wide = {"x": [80, 240], "y": [80, 120]}  # 200 x 50 photo pixels around (200, 125)
    assert clock_mark.mark_from_box(wide, zoom, size) == (22, 21, 33)  # the side: the box's longer one
    assert clock_mark.mark_from_box({"x": [10, 11], "y": [10, 11]}, zoom, size)[2] == clock_mark.SIZE_RANGE[0]
    assert clock_mark.mark_from_box({"x": [700, 900], "y": [-80, 40]}, zoom, size)[:2] == (100, 0)  # off the photo


def test_the_photo_figure_is_light_selectable_and_shows_the_square():
    photo = Image.new("RGB", (1024, 768), (200, 10, 10))
    scale = 1024 / 4032
    figure = clock_mark.photo_figure(photo, scale, (1000.0, 500.0, 800.0))
    image, points = figure.data
    header, data = image.source.split(",", 1)
    shown = Image.open(io.BytesIO(base64.b64decode(data)))
    assert header == "data:image/jpeg;base64" and shown.size == (720, 540) and len(data) < 50_000
    assert shown.getpixel((360, 270))[0] > 150  # the photo's own colours
    assert len(points.x) == clock_mark.SELECTABLE ** 2 and max(points.x) < 720 and max(points.y) < 540
    (square,) = figure.layout.shapes
    zoom = clock_mark.shown_zoom(photo, scale)
    assert (square.x0, square.y0, square.x1, square.y1) == pytest.approx((1000 * zoom, 500 * zoom, 1800 * zoom,
                                                                          1300 * zoom))
    assert figure.layout.dragmode == "select" and tuple(figure.layout.yaxis.range) == (540, 0)  # rows down
    assert not clock_mark.photo_figure(photo, scale).layout.shapes
