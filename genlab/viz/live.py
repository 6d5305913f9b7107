"""What the app's live 3D voxel view draws: grids, sweeps and surface meshes, and plotly.js served locally.

The view itself, a Streamlit component, is genlab.app.live_view.live_voxel_view:

`st.plotly_chart` replaces its element on every rerun: the browser builds a new plot from
scratch and the camera the user turned snaps back. This view is a Streamlit components-v2
element whose script keeps one Plotly div and calls `Plotly.react` on it with each new mesh,
so the camera stays where the user left it (kept per view key, so it also survives a model
switch that remounts the element). A "Front view" button turns the camera to face the digit.
plotly.js is served by the app itself, never from a CDN: `static/plotly-gl3d.min.js`, plotly.js's
own 3D-only build (1.7 MB instead of 4.8 MB, so the browser reads it in half the time; MIT,
from npm `plotly.js-gl3d-dist-min`, the version the installed plotly package draws with).

Cubes go to the browser as the grid itself, one byte per voxel (`grid_levels`), and the
script builds the culled cube faces (live_view.js `gridMesh`, the faces of `voxel_mesh`).
A server round trip per slider step is what a user would wait for, so the page may also send
a `Sweep`: the grids decoded at the neighbouring stops of the slider the user last moved, and
at a few stops spread over its whole range. The script watches that slider (a Streamlit
slider, found by its label) and redraws a move from the sweep at once: exactly for a nearby
stop, as a preview from the nearest spread stop for a long drag. The rerun the move starts
still runs on the server, which stays the source of truth, and its answer replaces the view
only when it differs. A smooth surface
(marching cubes) is built on the server and waits for the round trip.
"""

import base64
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab import paths
from genlab.viz.figures import SCREEN_AXES
from genlab.viz.mesh import surface_mesh


def plotly_js_version(path: Path = paths.PLOTLY_JS) -> str:
    """Returns the plotly.js version a bundle names in its header (e.g. "4.1.1")."""
    header = path.read_bytes()[:300].decode("ascii", "replace")
    found = re.search(r"plotly\.js \(gl3d - minified\) v(\d+\.\d+\.\d+)", header)
    if not found:
        raise ValueError(f"{path.name} is not plotly.js's 3D build")
    return found.group(1)


LEVELS = 200   # grid values travel as floor(value * LEVELS): exact for thresholds in steps of 1 / LEVELS
SWEEP_REACH = 10    # a sweep decodes the slider stops this many steps either side of its value
SWEEP_SPREAD = 25   # and this many stops over the slider's whole range (previews of long drags)
CACHED_GRIDS = 400  # grids a sweep cache keeps (6.5 MB of float32 16^3): a few sweeps of one slider


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def grid_levels(grids) -> np.ndarray:
    """Returns grids (..., D, H, W) with values in [0, 1] as uint8 levels floor(value * LEVELS).

    floor(v * LEVELS) >= n exactly when v >= n / LEVELS, so for a threshold that is a multiple
    of 1 / LEVELS (every step of the threshold slider) a level test picks the same voxels as
    `grid >= threshold` does in `voxel_mesh`.
    """
    values = np.clip(np.asarray(grids, dtype=np.float64), 0.0, 1.0)
    return np.floor(values * LEVELS).astype(np.uint8)


def _packed_levels(grids) -> str:
    return base64.b64encode(zlib.compress(grid_levels(grids).tobytes(), 6)).decode("ascii")


@dataclass(frozen=True)
class Sweep:
    """Decoded grids along one slider, so the browser can redraw a move of it without the server.

    label: the slider's label as drawn (the browser finds the slider by it); values: its
    positions, ascending; grids: (len(values), D, H, W), the grid decoded at each position;
    at: the index of the slider's current position; others: the label -> value of every other
    slider the grids assume (a move is drawn from the sweep only while those still hold);
    snap: a slider value this close to a position is drawn from that position's grid (a
    preview, until the server answers, when it is not the position itself).
    """

    label: str
    values: list[float]
    grids: np.ndarray
    at: int
    others: dict[str, float]
    snap: float = 0.0


def sweep_positions(value: float, low: float, high: float, step: float, reach: int = SWEEP_REACH,
                    spread: int = SWEEP_SPREAD) -> tuple[list[float], int]:
    """Returns (positions, index of value): value, the slider stops up to `reach` steps either side,
    and `spread` stops evenly over the whole range (low and high included when spread >= 2).

    A slider's stops are low + n * step; a value between stops (a start latent) is kept as is,
    since a step from it lands on the next stop.
    """
    nearest = round((value - low) / step)
    stops = [low + n * step for n in range(nearest - reach, nearest + reach + 1)]
    if spread >= 2:
        last = round((high - low) / step)
        stops += [low + round(k * last / (spread - 1)) * step for k in range(spread)]
    kept = []
    for stop in sorted(round(s, 6) for s in stops if low - 1e-9 <= s <= high + 1e-9):
        if abs(stop - value) > step / 4 and (not kept or stop - kept[-1] > step / 4):
            kept.append(stop)
    positions = sorted([*kept, float(value)])
    return positions, positions.index(float(value))


def slider_sweep(label: str, value: float, low: float, high: float, step: float, others: dict[str, float],
                 decode_at, cache: dict | None = None) -> tuple[np.ndarray, Sweep]:
    """Returns (the grid at the slider's value, a Sweep of the slider), decoding in one call of decode_at.

    decode_at(positions (N,) float32) -> grids (N, D, H, W): the grids with the slider at each
    position and every other slider where it is (as `others` says). With a `cache` (a dict of
    position -> grid for this model and `others`, which sessions may share), only positions not
    decoded before are decoded: a step of the slider decodes one or two grids, not the sweep. The
    cache keeps at most CACHED_GRIDS grids, and is only read and added to, so sharing it is safe.
    """
    positions, at = sweep_positions(value, low, high, step)
    if cache is None:
        grids = decode_at(np.asarray(positions, np.float32))
    else:
        keys = [round(p, 6) for p in positions]
        found = {key: grid for key in keys if (grid := cache.get(key)) is not None}
        missing = [key for key in keys if key not in found]
        if missing:
            found.update(zip(missing, decode_at(np.asarray(missing, np.float32))))
            if len(cache) + len(missing) > CACHED_GRIDS:
                cache.clear()
            cache.update({key: found[key] for key in missing})
        grids = np.stack([found[key] for key in keys])
    snap = float(np.diff(positions).max()) / 2 if len(positions) > 1 else 0.0   # half the widest gap
    return grids[at], Sweep(label, positions, grids, at, others, snap)


def live_payload(grid, threshold: float = 0.5, surface: bool = False, one_colour: bool = False) -> dict:
    """Returns the JSON-able picture of `grid` (16, 16, 16) that a live view draws.

    Cubes: {"levels": base64 uint8 levels (D*H*W, see grid_levels; 5.5 KB, not compressed, so the
    browser can draw them the moment they arrive, without waiting on an asynchronous inflate
    behind the rest of the page), "shape", "threshold_level"}; the browser builds the culled faces.
    Surface: {"mesh": marching-cubes vertices (base64 float32 (V, 3) in screen axes), triangles
    (base64 uint16/uint32 (T, 3)), values (base64 uint8 per vertex, 0..255 for 0..1; absent in
    one-colour mode), index_type, count (T)}. Both: threshold, one_colour.
    """
    grid = np.asarray(grid, dtype=np.float32)
    payload = {"threshold": float(threshold), "one_colour": bool(one_colour)}
    if not surface:
        payload.update(levels=_b64(grid_levels(grid)), shape=list(grid.shape),
                       threshold_level=int(round(threshold * LEVELS)))
        return payload
    mesh = surface_mesh(grid, threshold)
    index_type = "uint16" if len(mesh.vertices) < 2**16 else "uint32"
    payload["mesh"] = {
        "vertices": _b64(mesh.vertices[:, SCREEN_AXES].astype(np.float32)),
        "triangles": _b64(mesh.triangles.astype(index_type)),
        "index_type": index_type,
        "count": int(len(mesh.triangles)),
    }
    if not one_colour:
        payload["mesh"]["values"] = _b64(np.rint(np.clip(mesh.values, 0, 1) * 255).astype(np.uint8))
    return payload


def sweep_payload(sweep: Sweep) -> dict:
    """Returns the JSON-able sweep: label, values, at, snap, others and levels (every grid, packed)."""
    return {"label": sweep.label, "values": [float(v) for v in sweep.values], "at": int(sweep.at),
            "snap": float(sweep.snap),
            "others": {label: float(value) for label, value in sweep.others.items()},
            "levels": _packed_levels(sweep.grids)}
