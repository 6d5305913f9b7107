"""The live 3D view (genlab.viz.live + live_view.js): what goes to the browser, and the mesh the browser builds."""

import base64
import json
import shutil
import subprocess
import zlib

import numpy as np
import pytest

from genlab import paths
from genlab.app import live_view
from genlab.viz import voxel_mesh
from genlab.viz.live import (
    CACHED_GRIDS,
    LEVELS,
    SWEEP_SPREAD,
    Sweep,
    grid_levels,
    live_payload,
    plotly_js_version,
    slider_sweep,
    sweep_payload,
    sweep_positions,
)


def unpacked(text: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), np.uint8)


def digit_like(seed: int) -> np.ndarray:
    """Returns a (16, 16, 16) grid with a blob of values spread over [0, 1], some exactly on thresholds."""
    rng = np.random.default_rng(seed)
    grid = rng.random((16, 16, 16)).astype(np.float32) * 0.3
    grid[4:12, 5:11, 3:13] = rng.random((8, 6, 10))
    grid[5, 6, 7], grid[0, 0, 0], grid[15, 15, 15] = 0.5, 0.55, 1.0     # on a threshold, at the corners
    return grid


def test_levels_pick_the_same_voxels_as_the_threshold_for_every_slider_step():
    grid = digit_like(0)
    levels = grid_levels(grid)
    assert levels.dtype == np.uint8 and levels.min() >= 0 and levels.max() == LEVELS
    for threshold in np.arange(0.05, 0.951, 0.05):
        threshold = round(float(threshold), 2)       # the slider's values
        expected = grid >= threshold
        assert np.array_equal(levels >= round(threshold * LEVELS), expected), threshold


def test_cubes_travel_as_levels_and_a_surface_as_a_mesh():
    grid = digit_like(1)
    cubes = live_payload(grid, threshold=0.35)
    assert cubes["shape"] == [16, 16, 16] and cubes["threshold_level"] == 70
    shown = np.frombuffer(base64.b64decode(cubes["levels"]), np.uint8)  # not compressed: drawn on arrival
    assert np.array_equal(shown.reshape(16, 16, 16), grid_levels(grid))
    assert len(json.dumps(cubes)) < 8_000                  # a few KB per grid, not a mesh of tens of KB
    surface = live_payload(grid, surface=True)
    mesh = surface["mesh"]
    vertices = np.frombuffer(base64.b64decode(mesh["vertices"]), np.float32).reshape(-1, 3)
    assert len(np.frombuffer(base64.b64decode(mesh["values"]), np.uint8)) == len(vertices)
    assert mesh["count"] > 0 and "values" not in live_payload(grid, surface=True, one_colour=True)["mesh"]
    assert live_payload(grid, one_colour=True)["one_colour"] is True


def test_sweep_positions_are_the_slider_stops_around_the_value():
    positions, at = sweep_positions(0.37, -3.0, 3.0, 0.05, reach=2, spread=0)
    assert positions[at] == 0.37 and positions == [0.25, 0.3, 0.35, 0.37, 0.4, 0.45]
    positions, at = sweep_positions(2.9, -3.0, 3.0, 0.1, reach=3, spread=0)       # cut at the slider's end
    assert positions == [2.6, 2.7, 2.8, 2.9, 3.0] and at == 3
    positions, at = sweep_positions(-3.0, -3.0, 3.0, 0.05, reach=1, spread=0)
    assert positions == [-3.0, -2.95] and at == 0
    # Spread stops cover the whole range (for previews of long drags), each once.
    positions, at = sweep_positions(0.37, -3.0, 3.0, 0.05, reach=2, spread=5)
    assert positions == [-3.0, -1.5, 0.0, 0.25, 0.3, 0.35, 0.37, 0.4, 0.45, 1.5, 3.0] and positions[at] == 0.37
    positions, _ = sweep_positions(0.0, -3.0, 3.0, 0.05, reach=1, spread=3)
    assert positions == [-3.0, -0.05, 0.0, 0.05, 3.0]


def test_a_sweep_carries_every_grid_and_the_sliders_it_assumes():
    grids = np.stack([digit_like(seed) for seed in range(3)])
    payload = sweep_payload(Sweep("z[4]", [0.1, 0.15, 0.2], grids, 1, {"z[0]": 1.5}, snap=0.25))
    assert payload["label"] == "z[4]" and payload["values"] == [0.1, 0.15, 0.2] and payload["at"] == 1
    assert payload["snap"] == 0.25
    assert payload["others"] == {"z[0]": 1.5}
    assert np.array_equal(unpacked(payload["levels"]).reshape(3, 16, 16, 16), grid_levels(grids))


def test_a_slider_sweep_decodes_every_position_once_and_returns_the_current_grid():
    calls = []

    def decode_at(positions):
        calls.append(positions)
        return np.stack([np.full((16, 16, 16), (p + 3) / 6, np.float32) for p in positions])

    grid, sweep = slider_sweep("PC1 (σ = 2)", 0.5, -3.0, 3.0, 0.1, {"PC2 (σ = 1)": 0.0}, decode_at)
    assert len(calls) == 1 and list(calls[0]) == pytest.approx(sweep.values)   # one batch
    assert sweep.values[sweep.at] == 0.5 and np.allclose(grid, (0.5 + 3) / 6)
    assert sweep.grids.shape == (len(sweep.values), 16, 16, 16)
    assert sweep.others == {"PC2 (σ = 1)": 0.0}
    # Any value is within snap of a position, and snap is no wider than the spread stops need.
    assert max(np.diff(sweep.values)) <= 2 * sweep.snap + 1e-9
    assert sweep.snap <= (6 / (SWEEP_SPREAD - 1) + 0.1) / 2
    assert {-3.0, 3.0} <= set(sweep.values)


def test_a_cached_sweep_decodes_only_the_new_positions_of_a_step():
    decoded = []

    def decode_at(positions):
        decoded.extend(positions.tolist())
        return np.stack([np.full((16, 16, 16), (p + 3) / 6, np.float32) for p in positions])

    cache = {}
    slider_sweep("z[0]", 0.5, -3.0, 3.0, 0.05, {}, decode_at, cache)
    first = len(decoded)
    grid, sweep = slider_sweep("z[0]", 0.55, -3.0, 3.0, 0.05, {}, decode_at, cache)   # one step right
    assert 1 <= len(decoded) - first <= 2                       # the new stop at the far end (and a spread one)
    uncached = slider_sweep("z[0]", 0.55, -3.0, 3.0, 0.05, {}, decode_at)[1]
    assert sweep.values == uncached.values and np.allclose(sweep.grids, uncached.grids)
    assert np.allclose(grid, (0.55 + 3) / 6) and set(cache) >= {round(v, 6) for v in sweep.values}
    again = len(decoded)
    slider_sweep("z[0]", 0.5, -3.0, 3.0, 0.05, {}, decode_at, cache)   # back: every grid is still there
    assert len(decoded) == again


def test_a_full_sweep_cache_starts_afresh_instead_of_growing():
    def decode_at(positions):
        return np.stack([np.full((16, 16, 16), p, np.float32) for p in positions])

    cache = {}
    for start in np.arange(-3.0, 3.0, 0.013):       # many starts between the stops: new positions each time
        grid, sweep = slider_sweep("z[0]", float(start), -3.0, 3.0, 0.05, {}, decode_at, cache)
        assert len(cache) <= CACHED_GRIDS
        assert np.allclose(sweep.grids[:, 0, 0, 0], sweep.values, atol=1e-6)   # every grid its own position


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_builds_the_faces_of_voxel_mesh():
    grids = [digit_like(2), np.zeros((16, 16, 16), np.float32), np.ones((16, 16, 16), np.float32)]
    thresholds = [0.05, 0.5, 0.95]
    module = base64.b64encode(live_view.SCRIPT.read_bytes()).decode()
    script = f"""
globalThis.window = globalThis;
globalThis.document = {{ body: {{}} }};
globalThis.MutationObserver = class {{ observe() {{}} }};
const {{ gridMesh }} = await import("data:text/javascript;base64,{module}");
const cases = JSON.parse(require_input());
const out = cases.map(([levels, at]) => {{
  const m = gridMesh(Uint8Array.from(levels), [16, 16, 16], at);
  const xyz = (n) => [m.x[n], m.y[n], m.z[n]];
  return {{ triangles: Array.from(m.i, (_, t) => [xyz(m.i[t]), xyz(m.j[t]), xyz(m.k[t])]),
            cell: Array.from(m.cell), vertices: m.x.length }};
}});
process.stdout.write(JSON.stringify(out));
function require_input() {{ return require("fs").readFileSync(0, "utf8"); }}
"""
    script = 'import { createRequire } from "module"; const require = createRequire(import.meta.url);\n' + script
    cases = [(grid_levels(g).ravel().tolist(), round(t * LEVELS)) for g in grids for t in thresholds]
    result = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(cases),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    for (grid, threshold), mesh in zip([(g, t) for g in grids for t in thresholds], built):
        expected = voxel_mesh(grid, threshold)
        corners = expected.vertices[expected.triangles][:, :, [2, 1, 0]]   # screen axes: x <- axis 2, z <- axis 0
        assert np.array_equal(np.array(mesh["triangles"]).reshape(-1, 3, 3), corners.reshape(-1, 3, 3))
        values = grid_levels(expected.values[expected.triangles[:, 0]])
        assert mesh["cell"] == values.tolist()
        assert mesh["vertices"] == len(np.unique(expected.vertices, axis=0))     # welded: shared corners


def test_plotly_js_is_served_from_the_app_not_a_cdn():
    import plotly.offline

    # The 3D build the live view loads is in the repository (offline), with its licence, and is the
    # plotly.js version the installed plotly package writes figures for.
    assert paths.PLOTLY_JS.parent.name == "static" and paths.PLOTLY_JS.stat().st_size > 1_000_000
    assert plotly_js_version() == plotly.offline.get_plotlyjs_version()
    assert "MIT License" in paths.PLOTLY_JS.with_name("plotly-gl3d.LICENSE").read_text()


def test_a_bundle_that_is_not_plotly_js_3d_build_is_refused(tmp_path):
    other = tmp_path / "plotly.min.js"
    other.write_text("/**\n* plotly.js v4.1.1\n*/")
    with pytest.raises(ValueError, match="not plotly.js's 3D build"):
        plotly_js_version(other)
