"""Benchmark: server-side cost of one latent-slider step in the app (decode + mesh + figure).

    python -m benchmarks.bench_viz [--repeats 200] [--dataset mnist]

For each backbone, builds an untrained AE (genlab.models.build_model), and loads the shipped
checkpoints when weights/ has them, and times, per step at the app's view threshold: decode
one latent vector as the explorer does (model.generate: the decoder, then the output curve where
the model has one), build the culled voxel mesh, build the Plotly figure; and the same plus
the JSON encoding Streamlit sends to the browser; and the explorer's sweep (the grids the
browser draws slider moves from, genlab.viz.live.slider_sweep): decoded and packed from
scratch, and for one slider step with the earlier grids kept (what a step costs the server),
with its size in KB of JSON. A digit-shaped grid is timed too (mesh and
figure only, cubes and smooth surface). Prints medians in milliseconds; the target is well
under 30 ms on one CPU thread. Then the explorer's other per-step work: the live view's
payload (genlab.viz.live) and the exact nearest training digit (genlab.app.explore.nearest_training)
over the whole training split of `--dataset`. What a user waits for in the browser is
measured by benchmarks/bench_browser.py.
"""

import argparse
import itertools
import json

import numpy as np
import torch

from genlab.app.explore import nearest_training
from genlab.data import load_dataset
from genlab.models import BACKBONES, build_model, load_model, shipped_models
from genlab.timing import median_seconds
from genlab.viz import VIEW_THRESHOLD, voxel_figure, voxel_mesh
from genlab.viz.live import live_payload, slider_sweep, sweep_payload, sweep_positions


def median_ms(step, repeats: int) -> float:
    """Returns the median wall time of step() in milliseconds, after one warm-up call."""
    return 1e3 * median_seconds(step, repeats)


def digit_like_grid() -> np.ndarray:
    """Returns a (16, 16, 16) grid shaped like an extruded '7' (the thickness of a real digit)."""
    grid = np.zeros((16, 16, 16), np.float32)
    grid[12:15, 5:11, 3:13] = 0.9                 # the bar
    for row in range(12):                         # the diagonal stroke
        column = 4 + row * 8 // 12
        grid[row, 5:11, column:column + 3] = 0.7
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--dataset", default="mnist", help="source for the nearest-digit search (default mnist)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one core, as a busy shared machine would give the app

    sweep_size = len(sweep_positions(0.0, -3.0, 3.0, 0.05)[0])
    print(f"{'model':<22}{'faces':>7}{'decode':>9}{'+mesh':>9}{'+figure':>9}{'+json':>9}{'sweep':>9}{'step':>9}"
          f"{'KB':>6}   (median ms; sweep: decode of its {sweep_size} grids + packing; step: the same "
          f"after one slider step, earlier grids kept)")
    models = [(f"untrained ae/{backbone}", build_model("ae", backbone).eval()) for backbone in BACKBONES]
    models += [(entry["name"], load_model(entry["path"])) for entry in shipped_models()]
    for name, model in models:
        z = torch.randn(1, model.latent_dim, generator=torch.Generator().manual_seed(0))

        def decode():
            with torch.no_grad():
                return model.generate(z)[0].numpy()

        grid = decode()
        faces = len(voxel_mesh(grid, VIEW_THRESHOLD).triangles) // 2
        decode_ms = median_ms(decode, args.repeats)
        mesh_ms = median_ms(lambda: voxel_mesh(decode(), VIEW_THRESHOLD), args.repeats)
        figure_ms = median_ms(lambda: voxel_figure(decode(), VIEW_THRESHOLD), args.repeats)
        json_ms = median_ms(lambda: voxel_figure(decode(), VIEW_THRESHOLD).to_json(), args.repeats)

        def decode_at(positions):                 # z[0] swept, as the explorer sweeps a slider
            batch = z.repeat(len(positions), 1)
            batch[:, 0] = torch.from_numpy(positions)
            with torch.no_grad():
                return model.generate(batch).numpy()

        def first_sweep():
            return sweep_payload(slider_sweep("z[0]", 0.0, -3.0, 3.0, 0.05, {}, decode_at)[1])

        cache, stops = {}, itertools.cycle([round(-3.0 + 0.05 * n, 2) for n in range(121)])

        def step():                               # the next stop, with the grids of the previous ones kept
            return sweep_payload(slider_sweep("z[0]", next(stops), -3.0, 3.0, 0.05, {}, decode_at, cache)[1])

        sweep_ms = median_ms(first_sweep, max(5, args.repeats // 10))
        step_ms = median_ms(step, max(5, args.repeats // 10))
        sweep_kb = len(json.dumps(first_sweep())) / 1024
        print(f"{name:<22}{faces:>7}{decode_ms:>9.2f}{mesh_ms:>9.2f}{figure_ms:>9.2f}{json_ms:>9.2f}"
              f"{sweep_ms:>9.2f}{step_ms:>9.2f}{sweep_kb:>6.0f}")

    grid = digit_like_grid()
    faces = len(voxel_mesh(grid).triangles) // 2
    print(f"{'digit grid':<22}{faces:>7}{'-':>9}{median_ms(lambda: voxel_mesh(grid), args.repeats):>9.2f}"
          f"{median_ms(lambda: voxel_figure(grid), args.repeats):>9.2f}"
          f"{median_ms(lambda: voxel_figure(grid).to_json(), args.repeats):>9.2f}")
    print(f"{'digit surface':<22}{'':>7}{'-':>9}{'-':>9}"
          f"{median_ms(lambda: voxel_figure(grid, surface=True), args.repeats):>9.2f}"
          f"{median_ms(lambda: voxel_figure(grid, surface=True).to_json(), args.repeats):>9.2f}")

    payload_ms = median_ms(lambda: json.dumps(live_payload(grid, VIEW_THRESHOLD)), args.repeats)
    size = len(json.dumps(live_payload(grid, VIEW_THRESHOLD)))
    print(f"\nlive view payload (digit grid): {payload_ms:.2f} ms, {size / 1024:.1f} KB of JSON")
    dataset = load_dataset(args.dataset)
    nearest_training(grid, dataset)   # the first call also squares the training rows once
    repeats = max(5, args.repeats // 10)
    print(f"nearest training digit over {len(dataset.X_train):,} training digits ({args.dataset}): "
          f"{median_ms(lambda: nearest_training(grid, dataset), repeats):.1f} ms (k=1), "
          f"{median_ms(lambda: nearest_training(np.stack([grid] * 4), dataset, k=5), repeats):.1f} ms "
          f"(batch of 4, k=5)")


if __name__ == "__main__":
    main()
