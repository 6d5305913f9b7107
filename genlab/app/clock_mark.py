"""Marking the clock on a photo (the Clock reader page): a box dragged on the photo, or three sliders.

The mark is kept as the sliders' three percentages: the square's centre across and down the photo, and
its side as a share of the photo's short side. A box the user drags on the photo (a Plotly box
selection) sets them; the sliders then refine it.

    figure = photo_figure(photo.image, photo.scale, square)            # the photo, the square drawn on it
    zoom = shown_zoom(photo.image, photo.scale)
    mark = mark_from_box(event.selection.box[0], zoom, photo.size)     # -> (x %, y %, size %)
    square = square_from_mark(*mark, photo.size)                       # -> (left, top, side), photo pixels
"""

import base64
import io

import numpy as np

from genlab.clock.read import YELLOW

SHOWN_SIDE = 720  # the photo is drawn at most this big (long side): a light page, a box placed to a few pixels
SELECTABLE = 24  # an invisible grid of this many points a side lets plotly.js report a box drawn anywhere
SIZE_RANGE = (5, 100)  # the size slider's range: % of the short side


def square_from_mark(x: float, y: float, size: float, photo_size: tuple) -> tuple:
    """Returns the square (left, top, side) in the pixels of a photo of photo_size (width, height) whose centre is
    x % across and y % down and whose side is size % of the short side."""
    width, height = photo_size
    side = size / 100 * min(width, height)
    return x / 100 * width - side / 2, y / 100 * height - side / 2, side


def shown_zoom(image, scale: float) -> float:
    """Returns photo_figure's pixels per original pixel for a working-size photo `image` at `scale` working pixels
    per original pixel."""
    return scale * min(1.0, SHOWN_SIDE / max(image.size))


def mark_from_box(box: dict, zoom: float, photo_size: tuple) -> tuple:
    """Returns the sliders' (x %, y %, size %), whole numbers in their ranges, for a box selection
    {"x": [x0, x1], "y": [y0, y1]} drawn on photo_figure's photo: the square around the box, its side the
    box's longer one.

    zoom: the shown photo's pixels per pixel of the photo of photo_size (width, height): shown_zoom.
    """
    width, height = photo_size
    (x0, x1), (y0, y1) = sorted(box["x"]), sorted(box["y"])
    side = max(x1 - x0, y1 - y0) / zoom
    x, y = (x0 + x1) / 2 / zoom / width, (y0 + y1) / 2 / zoom / height
    size = np.clip(round(100 * side / min(width, height)), *SIZE_RANGE)
    return int(np.clip(round(100 * x), 0, 100)), int(np.clip(round(100 * y), 0, 100)), int(size)


def photo_figure(image, scale: float, square: tuple | None = None):
    """Returns a Plotly figure of a PIL photo (drawn at most SHOWN_SIDE px, in the page as a JPEG) set for box
    selection, with the square (left, top, side; pixels of the original photo, `scale` working pixels per
    original pixel as preprocess.Photo has them) drawn on it."""
    import plotly.graph_objects as go

    zoom = shown_zoom(image, scale)
    shrink = zoom / scale
    shown = image.resize((max(1, round(image.width * shrink)), max(1, round(image.height * shrink))))
    buffer = io.BytesIO()
    shown.convert("RGB").save(buffer, "JPEG", quality=85)
    source = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    width, height = shown.size
    ys, xs = np.mgrid[0:height:height / SELECTABLE, 0:width:width / SELECTABLE]
    figure = go.Figure([
        go.Image(source=source, hoverinfo="skip"),
        go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="markers", marker={"opacity": 0, "size": 2}, hoverinfo="skip",
                   showlegend=False),
    ])
    if square is not None:
        left, top, side = (v * zoom for v in square)
        figure.add_shape(type="rect", x0=left, y0=top, x1=left + side, y1=top + side,
                         line={"color": f"rgb{YELLOW}", "width": 3})
    figure.update_layout(dragmode="select", margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=min(480, height + 10),
                         xaxis={"visible": False, "range": [0, width]},
                         yaxis={"visible": False, "range": [height, 0], "scaleanchor": "x"})
    return figure

