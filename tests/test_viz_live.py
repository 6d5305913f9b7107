"""The live 3D view's payload (genlab.viz.live): what goes to the browser on every slider move."""

import base64

import numpy as np

from genlab.viz import voxel_mesh
from genlab.viz.live import ensure_plotly_js, live_payload


def decoded(payload: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    vertices = np.frombuffer(base64.b64decode(payload["vertices"]), np.float32).reshape(-1, 3)
    triangles = np.frombuffer(base64.b64decode(payload["triangles"]), payload["index_type"]).reshape(-1, 3)
    values = (np.frombuffer(base64.b64decode(payload["values"]), np.uint8) if "values" in payload else None)
    return vertices, triangles, values


def test_cubes_are_welded_and_coloured_per_triangle_in_screen_axes():
    grid = np.zeros((16, 16, 16), np.float32)
    grid[3, 4, 5] = 0.6
    grid[3, 4, 6] = 1.0
    payload = live_payload(grid, threshold=0.5)
    vertices, triangles, values = decoded(payload)
    assert payload["count"] == len(triangles) == len(voxel_mesh(grid, 0.5).triangles) == 20
    assert len(vertices) == 12                              # a 1x1x2 box: 12 shared corners
    assert payload["intensity_mode"] == "cell" and sorted(set(values)) == [153, 255]
    # Screen x <- array axis 2, y <- axis 1, z (up) <- axis 0.
    assert vertices.min(axis=0).tolist() == [5, 4, 3] and vertices.max(axis=0).tolist() == [7, 5, 4]
    assert triangles.max() < len(vertices) and payload["note"] == ""


def test_one_colour_surface_and_empty_grids():
    grid = np.zeros((16, 16, 16), np.float32)
    grid[4:8, 4:8, 4:8] = 1.0
    assert "values" not in live_payload(grid, one_colour=True)
    surface = live_payload(grid, surface=True)
    assert surface["intensity_mode"] == "vertex"
    vertices, _, values = decoded(surface)
    assert len(values) == len(vertices)
    empty = live_payload(np.zeros((16, 16, 16)), threshold=0.3)
    assert empty["count"] == 0 and "no voxel reaches the threshold 0.30" in empty["note"]


def test_plotly_js_is_served_from_the_app_not_a_cdn():
    path = ensure_plotly_js()
    assert path.parent.name == "static" and path.stat().st_size > 1_000_000
    assert b"plotly.js" in path.read_bytes()[:2000].lower()
