"""What the app's live 3D voxel view draws: the mesh payload it sends the browser, and plotly.js served locally.

The view itself, a Streamlit component, is genlab.app.live_view.live_voxel_view:
`st.plotly_chart` replaces its element on every rerun: the browser builds a new plot from
scratch and the camera the user turned snaps back. This view is a Streamlit components-v2
element whose script keeps one Plotly div and calls `Plotly.react` on it with each new mesh,
so a slider move only swaps vertex data, and the camera stays where the user left it (kept
per view key, so it also survives a model switch that remounts the element). A "Front view"
button turns the camera to face the digit. plotly.js is served by the app itself
(`static/plotly.min.js`, copied from the installed plotly package), never from a CDN.

The mesh goes to the browser as base64 typed arrays: welded vertices (float32), triangles
(uint16 or uint32) and colour values (uint8), a few tens of KB for a digit.
"""

import base64
import shutil
from pathlib import Path

import numpy as np

from genlab import paths
from genlab.viz.figures import SCREEN_AXES
from genlab.viz.mesh import surface_mesh, voxel_mesh, weld

PLOTLY_JS = paths.REPO_ROOT / "static" / "plotly.min.js"   # served at /app/static/ (enableStaticServing)
FRONT_CAMERA = dict(eye=dict(x=0.0, y=-2.1, z=0.0), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=0))



def ensure_plotly_js() -> Path:
    """Returns static/plotly.min.js, copied from the installed plotly package when missing or stale."""
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not PLOTLY_JS.exists() or PLOTLY_JS.stat().st_size != source.stat().st_size:
        PLOTLY_JS.parent.mkdir(exist_ok=True)
        temporary = PLOTLY_JS.with_suffix(".tmp")
        shutil.copyfile(source, temporary)
        temporary.replace(PLOTLY_JS)
    return PLOTLY_JS


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def live_payload(grid, threshold: float = 0.5, surface: bool = False, one_colour: bool = False,
                 note: str | None = None) -> dict:
    """Returns the JSON-able mesh a live view draws for `grid` (16, 16, 16).

    Keys: vertices (base64 float32 (V, 3) in screen axes), triangles (base64 uint16/uint32
    (T, 3)), values (base64 uint8 per triangle for cubes or per vertex for a surface, 0..255
    for 0..1; absent in one-colour mode), index_type, intensity_mode, count (T), size (grid
    side) and note (a message drawn over the view, e.g. when nothing reaches the threshold).
    """
    grid = np.asarray(grid, dtype=np.float32)
    mesh = surface_mesh(grid, threshold) if surface else voxel_mesh(grid, threshold)
    if surface:
        vertices, triangles, values = mesh.vertices, mesh.triangles, mesh.values
    else:
        vertices, triangles = weld(mesh)
        values = mesh.values[mesh.triangles[:, 0]]          # one value per triangle (its voxel's)
    index_type = "uint16" if len(vertices) < 2**16 else "uint32"
    payload = {
        "vertices": _b64(vertices[:, SCREEN_AXES].astype(np.float32)),
        "triangles": _b64(triangles.astype(index_type)),
        "index_type": index_type,
        "intensity_mode": "vertex" if surface else "cell",
        "count": int(len(triangles)),
        "size": int(max(grid.shape)),
        "note": note if note is not None else (
            f"no voxel reaches the threshold {threshold:.2f}" if mesh.is_empty else ""),
    }
    if not one_colour:
        payload["values"] = _b64(np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8))
    return payload
