"""The dial detector: held-out synthetic scenes, time per call, and real photos drawn.

    python -m benchmarks.bench_clock_detect                       # 500 scenes, seed 2000, long side 256
    python -m benchmarks.bench_clock_detect --n 1000 --sheet detections.png --weights W.safetensors

A hit: the top detection's centre within 0.25 r of a true dial and its radius within 25%.
Real photos (../shared/data/clocks_real, a development set) carry no dial positions, so they are
only drawn on a contact sheet (top detection red, runners-up yellow) for a person to judge.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clocks_real"
PHOTO_SIDE = 256  # long side of the copy the reader hands to detect_dials
SIZE_BINS = ((0, 0.1, "small (r < 10% of the short side)"), (0.1, 0.3, "medium (10-30%)"),
             (0.3, 10, "close-up (r >= 30%)"))


def synthetic_figures(detector, n: int, seed: int, side: int) -> dict:
    """Returns top-1/top-3 hit rates of detect_dials on n held-out scenes, and times."""
    from genlab.clock import detect

    counts = {"with_clock": 0, "top1": 0, "top3": 0}
    by_size = {name: [0, 0] for _, _, name in SIZE_BINS}  # [hits, scenes] by the biggest dial's radius
    empty_scores, times = [], []
    for i in range(n):
        photo, dials = detect.render_scene(np.random.default_rng([seed, i, 7]), side)
        start = time.perf_counter()
        found = detect.detect_dials(photo, detector)
        times.append(time.perf_counter() - start)
        truth = np.concatenate([dials, np.ones((len(dials), 1), np.float32)], 1)
        if len(dials):
            counts["with_clock"] += 1
            hit = detect.hits(found, truth)
            counts["top1"] += hit
            relative = dials[:, 2].max() / min(photo.shape)
            name = next(name for lo, hi, name in SIZE_BINS if lo <= relative < hi)
            by_size[name][0] += hit
            by_size[name][1] += 1
            counts["top3"] += any(detect.hits([f], truth) for f in found)
        else:
            empty_scores.append(found[0][3] if found else 0.0)
    m = max(counts["with_clock"], 1)
    empty = np.array(empty_scores)
    return {"scenes": n, "with_clock": counts["with_clock"], "top1_hit": counts["top1"] / m,
            "top3_hit": counts["top3"] / m, "no_clock": len(empty),
            "no_clock_top_score_below_0.5": float((empty < 0.5).mean()) if len(empty) else None,
            "by_size": {name: f"{h / max(m, 1):.1%} of {m}" for name, (h, m) in by_size.items()},
            "median_ms": 1000 * float(np.median(times)), "p95_ms": 1000 * float(np.quantile(times, 0.95))}


def real_sheet(detector, folder: Path, out: str, columns: int = 8, tile: int = 200) -> int:
    """Saves a contact sheet of the real photos with their detections drawn; returns how many photos."""
    from PIL import Image, ImageDraw

    from genlab.clock.detect import detect_dials
    from genlab.clock.preprocess import open_image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    rows = -(-len(files) // columns)
    sheet = Image.new("RGB", (columns * tile, rows * tile), "white")
    for k, path in enumerate(files):
        photo = open_image(path)
        photo.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
        gray = np.asarray(photo.convert("L"))
        shown = photo.copy()
        draw = ImageDraw.Draw(shown)
        for rank, (cx, cy, r, score) in reversed(list(enumerate(detect_dials(gray, detector)))):
            colour = (255, 0, 0) if rank == 0 else (255, 220, 0)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=3 if rank == 0 else 1)
            draw.text((cx - r + 2, cy - r + 2), f"{score:.2f}", fill=colour)
        draw.text((3, 3), path.name, fill=(0, 255, 255))
        shown.thumbnail((tile, tile))
        row, col = divmod(k, columns)
        sheet.paste(shown, (col * tile, row * tile))
    sheet.save(out)
    return len(files)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="held-out synthetic scenes")
    parser.add_argument("--seed", type=int, default=2000, help="a scene seed never used for training")
    parser.add_argument("--side", type=int, default=PHOTO_SIDE, help="long side of the synthetic photos")
    parser.add_argument("--weights", default=None, help="default weights/clock_detector.safetensors")
    parser.add_argument("--folder", default=os.environ.get("GENLAB_CLOCKS_REAL", DEFAULT_FOLDER))
    parser.add_argument("--sheet", default="clock_detections.png", help="contact sheet of the real photos (PNG)")
    args = parser.parse_args(argv)
    import torch

    from genlab.clock import detect

    torch.set_num_threads(1)
    detector = detect.load_detector(args.weights or detect.DETECTOR_PATH)
    figures = synthetic_figures(detector, args.n, args.seed, args.side)
    print(f"held-out synthetic scenes (seed {args.seed}, long side {args.side}): {figures['with_clock']} with a clock: "
          f"top-1 hit {figures['top1_hit']:.1%}, top-3 {figures['top3_hit']:.1%}; "
          f"{figures['no_clock']} without: top score < 0.5 in {figures['no_clock_top_score_below_0.5']:.1%}; "
          f"detect_dials median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms (1 thread)")
    print("top-1 hit by dial size: " + ", ".join(f"{name} {text}" for name, text in figures["by_size"].items()))
    folder = Path(args.folder)
    if folder.is_dir():
        print(f"drew detections on {real_sheet(detector, folder, args.sheet)} real photos: {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
