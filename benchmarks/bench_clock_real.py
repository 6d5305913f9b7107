"""The clock reader on real photos: accuracy, calibration, breakdowns, time, and a contact sheet of misreads.

    python -m benchmarks.bench_clock_real                                   # ../shared/data/clocks_real
    python -m benchmarks.bench_clock_real --folder DIR --sheet misreads.png --weights W.safetensors
    python -m benchmarks.bench_clock_real --turn 20                         # every photo turned 20 degrees
    python -m benchmarks.bench_clock_real --small 0.1                       # each photo small in a 12-MP scene
    python -m benchmarks.bench_clock_real --small 0.2 --scene 480 640       # ... in a 640x480 one (a film still)
    python -m benchmarks.bench_clock_real --degrade dark                    # every photo dim (see --help)
    python -m benchmarks.bench_clock_real --jitter 8                        # each photo re-taken 8 times
    python -m benchmarks.bench_clock_real --turn 180 --twelve off           # ... without the twelve finder
    python -m benchmarks.bench_clock_real --detector D.safetensors          # ... with another dial detector
    python -m benchmarks.bench_clock_real --jitter 6 --readings before.json # save every reading, then after a change:
    python -m benchmarks.bench_clock_real --jitter 6 --against before.json  # ... which readings it changed

Prints figures (one line per photo with --verbose); asserts nothing. The folder is a development set.
"""

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clocks_real"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=os.environ.get("GENLAB_CLOCKS_REAL", DEFAULT_FOLDER))
    parser.add_argument("--weights", default=None, help="default weights/clock_reader.safetensors")
    parser.add_argument("--sheet", default="clock_misreads.png", help="contact sheet of the misreads (PNG)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--turn", type=float, default=0.0, metavar="DEGREES",
                        help="read every photo turned clockwise by DEGREES (a stress test: photos held at an angle)")
    parser.add_argument("--small", type=float, default=0.0, metavar="SHARE",
                        help="read every photo shrunk into a synthetic 4032x3024 scene, its long side SHARE of the "
                             "scene's short side (a stress test: a clock across a room)")
    from genlab.clock.realbench import DEGRADATIONS, SCENE

    parser.add_argument("--scene", type=int, nargs=2, default=SCENE, metavar=("HEIGHT", "WIDTH"),
                        help="with --small: the scene's size in pixels (default a phone photo's, 3024 4032; a small "
                             "one, such as 480 640, is a film still or a picture on the web)")

    parser.add_argument("--degrade", choices=list(DEGRADATIONS),
                        help="read every photo degraded, a stress test: "
                             + "; ".join(f"{name}: {words}" for name, (words, _) in DEGRADATIONS.items()))
    parser.add_argument("--jitter", type=int, default=0, metavar="N",
                        help="also read every photo re-taken N times (each a seeded, slightly turned, re-framed, "
                             "brighter or darker JPEG copy) and print the figures' mean and range over the N rounds: "
                             "how much of a difference between two readers is luck")
    parser.add_argument("--twelve", default=None, metavar="PATH|off",
                        help="the twelve finder (default weights/clock_twelve.safetensors); off: read every dial "
                             "near the turn the reader's locator finds")
    parser.add_argument("--detector", default=None, metavar="PATH",
                        help="the dial detector (default weights/clock_detector.safetensors)")
    parser.add_argument("--readings", metavar="FILE.json",
                        help="save every reading (file, true and read time, confidence; each re-taken round too)")
    parser.add_argument("--against", metavar="FILE.json",
                        help="print which readings differ from those a run with --readings saved in FILE.json")
    args = parser.parse_args(argv)
    if not 0 <= args.small <= 1:
        parser.error(f"--small must be a share between 0 and 1, got {args.small:g}")
    if min(args.scene) < 64:
        parser.error(f"--scene must be at least 64 pixels a side, got {args.scene[0]} {args.scene[1]}")
    scene = tuple(args.scene)
    import torch

    from genlab.clock.read import load_default_reader
    from genlab.clock.realbench import changed_readings, contact_sheet, read_folder, reading_record, summarise

    torch.set_num_threads(args.threads)
    if not (Path(args.folder) / "labels.json").is_file():
        print(f"no labelled photos at {args.folder} (labels.json missing)", file=sys.stderr)
        return 2
    from genlab.clock.detect import detector_option
    from genlab.clock.twelve import finder_option

    try:
        reader = load_default_reader(args.weights)
        finder = finder_option(args.twelve)
        detector = detector_option(args.detector)
        before = saved_readings(args.against) if args.against else None
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = read_folder(args.folder, reader, log=print if args.verbose else None, turn=args.turn, small=args.small,
                       degrade=args.degrade, finder=finder, detector=detector, scene=scene)
    if args.degrade:
        print(f"every photo {DEGRADATIONS[args.degrade][0]}")
    if args.turn:
        print(f"every photo turned {args.turn:g} degrees clockwise")
    if args.small:
        print(f"every photo shrunk to {args.small:g} of a {scene[1]}x{scene[0]} scene's short side")
    print(summarise(rows))
    shown = contact_sheet(rows, args.sheet)
    print(f"\ncontact sheet of {shown} misreads (> 10 min off): {args.sheet}")
    # Each set is named by how its photos were shown, so that only readings of the same photos are compared
    stresses = [f"turned {args.turn:g}"] if args.turn else []
    scene_words = f" in {scene[1]}x{scene[0]}" if scene != SCENE else ""
    stresses += [f"small {args.small:g}{scene_words}"] if args.small else []
    stresses += [args.degrade] if args.degrade else []
    shown_as = ", ".join(stresses) or "as they are"
    readings = {shown_as: reading_record(rows)}
    if args.jitter > 0:
        rounds = {}
        print("\n" + jitter_rounds(args.folder, reader, args.jitter, turn=args.turn, small=args.small,
                                    degrade=args.degrade, finder=finder, detector=detector, scene=scene,
                                    record=rounds))
        readings.update({f"{shown_as}, {name}": rows for name, rows in rounds.items()})
    if args.readings:
        networks = {key: getattr(args, key) for key in ("weights", "twelve", "detector")}
        Path(args.readings).write_text(json.dumps({"networks": networks, "readings": readings}))
        print(f"\nevery reading saved: {args.readings}")
    if before is not None:
        print(f"\nagainst {args.against}:\n" + changed_readings(before, readings))
    for words, options in (("", {}), (", a small clock in it (the detector unsure)",
                                      {"sizes": (0.03, 0.06), "drawn": (3024, 4032)})):
        wall, cpu = phone_photo_ms(reader, finder, detector, **options)
        print(f"read_clock on a 12-megapixel colour JPEG (4032x3024){words}, decoding included: median {wall:.0f} "
              f"ms wall, {cpu:.0f} ms CPU, of 20 ({args.threads} thread(s); CPU time is what a quiet core would take)")
    return 0


def saved_readings(path) -> dict:
    """Returns the {set name: realbench.reading_record} a run with --readings saved at path; ValueError naming the
    file if it is not one."""
    try:
        readings = json.loads(Path(path).read_text())["readings"]
        if not all(isinstance(rows, list) and all(len(row) == 4 for row in rows) for rows in readings.values()):
            raise ValueError("a set is not a list of [file, true, read, confidence]")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError,
            ValueError) as error:
        raise ValueError(f"{path} is not a file of readings saved by --readings ({error})") from error
    return readings


def jitter_rounds(folder, reader, rounds: int, record: dict | None = None, **options) -> str:
    """Returns, as Markdown text, the figures of `rounds` readings of the folder with every photo re-taken
    (realbench.jitter, seeds 1..rounds): each round's, their mean and range, how many photos are read
    within 10 minutes in every round, in some, in none, and a table of the photos not read right every time (hour
    right, within 10 minutes and sure misreads, in how many rounds), fewest hours right first. record: a dict that
    gets each round's readings (realbench.reading_record) as "re-taken N"."""
    import numpy as np

    from genlab.clock.realbench import figures, read_folder, reading_record

    keys = (("hour_accuracy", "hour right"), ("within_1_min", "within 1 min"), ("within_10_min", "within 10 min"),
            ("wrong_confident_share", "misreads claiming >= 0.8"), ("ece", "ECE"), ("sure_share", "sure"))
    table, right, hours, sure_misreads = [], [], [], []
    for seed in range(1, rounds + 1):
        rows = read_folder(folder, reader, jitter_seed=seed, **options)
        table.append(figures(rows))
        if record is not None:
            record[f"re-taken {seed}"] = reading_record(rows)
        right.append([r["error"] <= 10 for r in rows])
        hours.append([r["hour_right"] for r in rows])
        sure_misreads.append([r["sure"] and r["error"] > 10 for r in rows])
    lines = ["| round | " + " | ".join(words for _, words in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    cell = lambda key, v: f"{v:.3f}" if key == "ece" else f"{100 * v:.1f}%"  # noqa: E731
    for seed, f in enumerate(table, 1):
        lines.append(f"| {seed} | " + " | ".join(cell(k, f[k]) for k, _ in keys) + " |")
    summary = {k: [f[k] for f in table] for k, _ in keys}
    lines.append("| mean (range) | " + " | ".join(f"{cell(k, np.mean(v))} ({cell(k, min(v))}-{cell(k, max(v))})"
                                                  for k, v in summary.items()) + " |")
    times, hour_times, sure_times = np.array(right).sum(0), np.array(hours).sum(0), np.array(sure_misreads).sum(0)
    lines.append(f"\nre-taken {rounds} times: {int((times == rounds).sum())} photos read within 10 min every time, "
                 f"{int(((times > 0) & (times < rounds)).sum())} sometimes, {int((times == 0).sum())} never")
    missed = [i for i in np.argsort(hour_times, kind="stable") if min(hour_times[i], times[i]) < rounds]
    if missed:
        lines += ["", f"| photo | type | hour right, of {rounds} | within 10 min | misreads sure |", "|---" * 5 + "|"]
        lines += [f"| {rows[i]['file']} | {rows[i]['type']} | {hour_times[i]} | {times[i]} | {sure_times[i]} |"
                  for i in missed]
    return "\n".join(lines)


def phone_photo_ms(reader, finder=None, detector=None, repeats: int = 20, sizes=(0.3, 0.7),
                   drawn=(360, 480)) -> tuple:
    """Returns the median (wall, CPU) ms read_clock takes on an in-memory 4032x3024 colour JPEG of a
    synthetic scene (tinted warm, so it is read in all three views, as a phone photo is), drawn at
    `drawn` (height, width) pixels with its clock photo `sizes` of its short side (synth.make_scenes)."""
    import io
    import time

    import numpy as np
    from PIL import Image

    from genlab.clock import synth
    from genlab.clock.read import read_clock

    gray = synth.make_scenes(1, seed=7, height=drawn[0], width=drawn[1], sizes=sizes)[0][0].astype(np.float32)
    tinted = np.clip(gray[..., None] * np.array([1.0, 0.85, 0.65]) + np.array([0, 10, 25]), 0, 255).astype(np.uint8)
    scene = Image.fromarray(tinted).resize((4032, 3024), Image.BICUBIC)
    buffer = io.BytesIO()
    scene.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    read_clock(data, reader=reader, finder=finder, detector=detector)  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        read_clock(data, reader=reader, finder=finder, detector=detector)
        wall.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu))
    return float(np.median(wall)), float(np.median(cpu))


if __name__ == "__main__":
    raise SystemExit(main())
