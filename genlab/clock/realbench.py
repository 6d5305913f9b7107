"""Reading a folder of real, labelled clock photos: accuracy, calibration and a contact sheet of misreads.

    from genlab.clock.realbench import read_folder, summarise
    rows = read_folder("../shared/data/clocks_real")     # one dict per photo
    print(summarise(rows))                               # the figures, as text

The folder holds images and a `labels.json` list of {"file", "hour" 0..11, "minute", "type", ...}
(the layout of ../shared/data/clocks_real). A development set: measure on it, never train on it.
"""

import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from genlab.clock import synth
from genlab.clock.models import common_sense_error
from genlab.clock.preprocess import open_image
from genlab.clock.read import SURE_CONFIDENCE, format_time, read_clock

CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001)
SCENE = (3024, 4032)  # read_folder(small=...): by default a phone photo's (height, width), a shrunk photo placed in it


def _thumbnail(photo: Image.Image, side: int = 160) -> Image.Image:
    """Returns the photo shrunk so that its long side is at most `side` pixels."""
    photo = photo.copy()
    photo.thumbnail((side, side), Image.BICUBIC)
    return photo


def _shaken(photo: Image.Image, share: float = 0.015, angle: float = 20.0) -> Image.Image:
    """Returns the photo as if the camera moved while the shutter was open: each pixel the mean of the photo along a
    line `share` of its long side long, `angle` degrees from the horizontal (motion blur)."""
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32)
    steps = 2 * round(share * max(photo.size) / 2) + 1  # odd, so the line is centred on the pixel
    dx, dy = np.cos(np.radians(angle)), -np.sin(np.radians(angle))
    total = np.zeros_like(pixels)
    for k in range(steps):
        offset = k - steps // 2
        total += np.roll(pixels, (round(offset * dy), round(offset * dx)), axis=(0, 1))
    return Image.fromarray(np.clip(total / steps + 0.5, 0, 255).astype(np.uint8))


def _glare(photo: Image.Image, share: float = 0.14, strength: float = 0.85) -> Image.Image:
    """Returns the photo with a soft white highlight on it, as a lamp or window reflected in a clock's glass: a
    Gaussian blob `share` of the short side across (its standard deviation), up and left of the centre, where most
    photos' dials are, whitening up to `strength` of the way."""
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32)
    height, width = pixels.shape[:2]
    ys, xs = np.ogrid[:height, :width]
    spread = share * min(height, width)
    blob = strength * np.exp(-0.5 * (((xs - 0.42 * width) / spread) ** 2 + ((ys - 0.38 * height) / spread) ** 2))
    return Image.fromarray(np.clip(pixels + blob[..., None] * (255 - pixels) + 0.5, 0, 255).astype(np.uint8))


def _out_of_focus(share: float):
    """Returns a function that blurs a photo as if out of focus: a Gaussian blur whose standard deviation is `share`
    of the photo's long side."""
    return lambda photo: photo.convert("RGB").filter(ImageFilter.GaussianBlur(share * max(photo.size)))


def _grainy(photo: Image.Image, strength: float = 18.0) -> Image.Image:
    """Returns the photo with a high-ISO camera's grain on it: Gaussian noise of standard deviation `strength`
    (of 255) in brightness, and 0.6 of that in each colour on its own; the same grain for photos of one size."""
    rng = np.random.default_rng(photo.size)
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32)
    grain = rng.normal(0, strength, pixels.shape[:2])[..., None] + rng.normal(0, 0.6 * strength, pixels.shape)
    return Image.fromarray(np.clip(pixels + grain + 0.5, 0, 255).astype(np.uint8))


def _warm(photo: Image.Image) -> Image.Image:
    """Returns the photo as a lamp's light shows it without white balance: red x1.15, green x0.85, blue x0.45."""
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32) * np.array([1.15, 0.85, 0.45], np.float32)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


# read_folder(degrade=...): everyday faults of a user's photo, as stress tests; name -> (words, function)
DEGRADATIONS = {
    "dark": ("brightness x0.3 (a dim room)", lambda photo: ImageEnhance.Brightness(photo.convert("RGB")).enhance(0.3)),
    "flat": ("contrast x0.4 (haze, glare on the glass)",
             lambda photo: ImageEnhance.Contrast(photo.convert("RGB")).enhance(0.4)),
    "jpeg": ("saved as a JPEG of quality 10 (a copy passed around)",
             lambda photo: synth.jpeg_copy(photo.convert("RGB"), 10)),
    "thumbnail": ("shrunk to 160 px on the long side (a thumbnail)", _thumbnail),
    "shake": ("motion-blurred along 1.5% of the long side (a shaken camera)", _shaken),
    "glare": ("a white highlight up and left of the centre (a lamp reflected in the glass)", _glare),
    "blur": ("out of focus: a Gaussian blur, its standard deviation 1% of the long side", _out_of_focus(0.01)),
    "blur2": ("far out of focus: a Gaussian blur, its standard deviation 2% of the long side", _out_of_focus(0.02)),
    "grain": ("a high-ISO camera's grain (noise of 18 in 255, in brightness and colour)", _grainy),
    "warm": ("lit by a lamp, without white balance (red x1.15, green x0.85, blue x0.45)", _warm),
}
JITTER_TURN = 5.0  # jitter(): degrees either way
JITTER_KEEP = 0.9  # jitter(): the least share of each side a re-framed photo keeps


def jitter(photo: Image.Image, seed: int) -> Image.Image:
    """Returns the photo as if taken again a moment later: seeded, turned by up to JITTER_TURN degrees either way,
    re-framed (keeping JITTER_KEEP to all of each side, anywhere), its brightness x0.85-1.15, saved as a JPEG of
    quality 70-95. Reading many such copies measures a reader on the photos with less luck in it than one
    reading each."""
    rng = np.random.default_rng([seed, 11])
    photo = photo.convert("RGB").rotate(float(rng.uniform(-JITTER_TURN, JITTER_TURN)), Image.BICUBIC,
                                        fillcolor=(128,) * 3)
    width, height = photo.size
    keep = rng.uniform(JITTER_KEEP, 1.0, size=2)
    w, h = round(width * keep[0]), round(height * keep[1])
    left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    photo = ImageEnhance.Brightness(photo.crop((left, top, left + w, top + h))).enhance(float(rng.uniform(0.85, 1.15)))
    return synth.jpeg_copy(photo, int(rng.integers(70, 96)))


FACE_SIZE_BINS = ((0, 0.15, "small (< 15% of the short side)"), (0.15, 0.35, "medium (15-35%)"),
                  (0.35, 10, "large (> 35%)"))


def load_labels(folder) -> list:
    """Returns the labels.json entries of a folder of labelled clock photos; ValueError if missing or malformed."""
    path = Path(folder) / "labels.json"
    try:
        labels = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read the labels ({error})") from error
    if not isinstance(labels, list) or not all({"file", "hour", "minute"} <= set(e) for e in labels):
        raise ValueError(f"{path}: expected a list of {{'file', 'hour', 'minute', ...}} entries")
    return labels


def read_folder(folder, reader=None, log=None, turn: float = 0.0, small: float = 0.0,
                degrade: str | None = None, jitter_seed: int | None = None, finder=None, detector=None,
                scene: tuple = SCENE) -> list:
    """Returns one row per labelled photo: truth, reading, confidence, error in minutes, type, face size, ms.

    turn: read each photo turned clockwise by this many degrees (the whole photo, grown to hold it, the new
    corners grey): a stress test, the photos held at an angle. small: read each photo shrunk into a bigger
    scene (in_scene) of `scene` (height, width) pixels: a stress test, a clock across a room (or, in a small scene, a
    film still or a picture on the web). degrade: a DEGRADATIONS name, applied before those.
    jitter_seed: read each photo re-taken (jitter, seeded by jitter_seed and the photo's place), before all else.
    finder: read_clock's twelve finder (default the shipped one; False: none); detector: its dial detector (default
    the shipped one).
    """
    if degrade is not None and degrade not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {degrade!r}; choose from {', '.join(DEGRADATIONS)}")
    folder = Path(folder)
    rows = []
    for index, entry in enumerate(load_labels(folder)):
        photo = folder / entry["file"]
        if turn or small or degrade or jitter_seed is not None:
            photo = open_image(photo)
        if jitter_seed is not None:
            photo = jitter(photo, 1000 * jitter_seed + index)
        if degrade:
            photo = DEGRADATIONS[degrade][1](photo)
        if turn:
            photo = photo.rotate(-turn, Image.BICUBIC, expand=True, fillcolor=(128,) * 3)
        if small:
            photo = in_scene(photo, small, seed=index, scene=scene)
        start = time.perf_counter()
        reading = read_clock(photo, reader=reader, finder=finder, detector=detector)
        ms = 1000 * (time.perf_counter() - start)
        true = 60 * (entry["hour"] % 12) + entry["minute"]
        read = 60 * reading.hour + reading.minute
        face = reading.face  # the dial is in original pixels, the photo at working size: face.scale apart
        face_share = 2 * reading.dial[2] * face.scale / min(face.photo.size) if reading.dial else float("nan")
        row = {
            "file": entry["file"],
            "type": entry.get("type", "?"),
            "true": format_time(entry["hour"], entry["minute"]),
            "read": reading.text,
            "confidence": reading.confidence,
            "sure": reading.sure,
            "error": int(common_sense_error(true, read)),
            "hour_right": true // 60 == read // 60,
            "face_share": face_share,
            "ms": ms,
            "reading": reading,
        }
        rows.append(row)
        if log:
            log(f"{row['file']:>9} {row['type'][:22]:<22} true {row['true']:>5} read {row['read']:>5} "
                f"conf {row['confidence']:.2f} err {row['error']:3d} min  {ms:6.0f} ms")
    return rows


def in_scene(photo: Image.Image, share: float, seed: int = 0, scene: tuple = SCENE) -> Image.Image:
    """Returns an RGB photo of `scene` (height, width) pixels, by default phone-sized, of a synthetic wall, wood or
    cluttered scene (synth.background_scene) with `photo` shrunk into it, its long side `share` of the scene's short
    side, at a seeded place."""
    if not 0 < share <= 1:
        raise ValueError(f"a photo's share of the scene must be in (0, 1], got {share}")
    rng = np.random.default_rng([seed, 7])
    height, width = scene
    picture = synth.background_scene(rng, height, width).convert("RGB")
    zoom = share * min(height, width) / max(photo.size)
    photo = photo.convert("RGB").resize((max(1, round(photo.width * zoom)), max(1, round(photo.height * zoom))),
                                        Image.LANCZOS)
    left, top = int(rng.integers(0, width - photo.width + 1)), int(rng.integers(0, height - photo.height + 1))
    picture.paste(photo, (left, top))
    return picture


def figures(rows: list) -> dict:
    """Returns the headline figures of read_folder rows (shares in [0, 1], ECE, counts)."""
    errors = np.array([r["error"] for r in rows])
    conf = np.array([r["confidence"] for r in rows])
    right = errors <= 10  # "right" for calibration: within 10 minutes
    wrong = ~right
    ece = sum(abs(conf[m].mean() - right[m].mean()) * m.sum() for m in _bins(conf)) / len(rows)
    sure = np.array([r["sure"] for r in rows])
    return {
        "n": len(rows),
        "hour_accuracy": float(np.mean([r["hour_right"] for r in rows])),
        "within_1_min": float((errors <= 1).mean()),
        "within_10_min": float(right.mean()),
        "wrong_confident_share": float((conf[wrong] >= SURE_CONFIDENCE).mean()) if wrong.any() else 0.0,
        "ece": float(ece),
        "sure_share": float(sure.mean()),
        "sure_within_10_min": float(right[sure].mean()) if sure.any() else float("nan"),
        "median_ms": float(np.median([r["ms"] for r in rows])),
    }


def reading_record(rows: list) -> list:
    """Returns [file, true time, read time, confidence] for each read_folder row: what two versions of the reader
    are compared on (changed_readings)."""
    return [[r["file"], r["true"], r["read"], round(float(r["confidence"]), 4)] for r in rows]


def changed_readings(before: dict, after: dict) -> str:
    """Returns, as text, which readings differ between two {set name: reading_record} dicts (bench_clock_real
    --readings / --against): per set in both, how many changed, each change, and the largest change in confidence."""
    lines = []
    for name in [name for name in after if name in before]:
        old = {row[0]: row for row in before[name]}
        new = [row for row in after[name] if row[0] in old]
        changed = [(old[file], (file, true, read, confidence)) for file, true, read, confidence in new
                   if old[file][2] != read]
        shift = max((abs(old[row[0]][3] - row[3]) for row in new), default=0.0)
        lines.append(f"{name}: {len(changed)} of {len(new)} readings changed, confidence by up to {shift:.3f}")
        lines += [f"  {file} (true {true}): {was[2]} ({was[3]:.2f}) -> {read} ({confidence:.2f})"
                  for was, (file, true, read, confidence) in changed]
    unmatched = sorted(set(before) ^ set(after))
    if unmatched:
        lines.append("only in one of the two: " + ", ".join(unmatched))
    return "\n".join(lines)


def _bins(conf: np.ndarray) -> list:
    """Returns one boolean mask per non-empty CONFIDENCE_BINS bin."""
    masks = [(conf >= lo) & (conf < hi) for lo, hi in zip(CONFIDENCE_BINS[:-1], CONFIDENCE_BINS[1:])]
    return [m for m in masks if m.any()]


def summarise(rows: list) -> str:
    """Returns the figures, a reliability table and breakdowns by type and face size, as Markdown text."""
    f = figures(rows)
    lines = [
        f"{f['n']} photos: hour right {100 * f['hour_accuracy']:.1f}%, within 1 min {100 * f['within_1_min']:.1f}%, "
        f"within 10 min {100 * f['within_10_min']:.1f}%",
        f"of readings more than 10 min off, {100 * f['wrong_confident_share']:.0f}% claim confidence >= "
        f"{SURE_CONFIDENCE}; expected calibration error {f['ece']:.3f} (right = within 10 min)",
        f"'sure' readings: {100 * f['sure_share']:.0f}% of photos, of which {100 * f['sure_within_10_min']:.0f}% "
        f"within 10 min; median read_clock time {f['median_ms']:.0f} ms",
        "",
        "| confidence | photos | mean confidence | share within 10 min |",
        "| --- | --- | --- | --- |",
    ]
    conf = np.array([r["confidence"] for r in rows])
    right = np.array([r["error"] <= 10 for r in rows])
    for lo, hi in zip(CONFIDENCE_BINS[:-1], CONFIDENCE_BINS[1:]):
        m = (conf >= lo) & (conf < hi)
        if m.any():
            lines.append(
                f"| {lo:.1f}-{min(hi, 1):.1f} | {m.sum()} | {conf[m].mean():.2f} | {100 * right[m].mean():.0f}% |"
            )
    lines += ["", "| group | photos | hour right | within 1 min | within 10 min |", "| --- | --- | --- | --- | --- |"]
    groups = {}
    for r in rows:
        groups.setdefault(f"type: {r['type']}", []).append(r)
    for lo, hi, name in FACE_SIZE_BINS:
        groups[f"face: {name}"] = [r for r in rows if lo <= r["face_share"] < hi]
    groups["face: none located"] = [r for r in rows if np.isnan(r["face_share"])]
    for name, members in groups.items():
        if members:
            e = np.array([r["error"] for r in members])
            hours = np.mean([r["hour_right"] for r in members])
            lines.append(f"| {name} | {len(members)} | {100 * hours:.0f}% | {100 * (e <= 1).mean():.0f}% | "
                         f"{100 * (e <= 10).mean():.0f}% |")
    return "\n".join(lines)


def contact_sheet(rows: list, path, tile: int = 220, columns: int = 6) -> int:
    """Saves a PNG grid of the readings more than 10 minutes off (photo around the dial, read hands drawn,
    true and read time); returns how many it shows."""
    from genlab.clock.read import draw_reading

    misreads = sorted((r for r in rows if r["error"] > 10), key=lambda r: -r["error"])
    if not misreads:
        return 0
    rows_n = -(-len(misreads) // columns)
    sheet = Image.new("RGB", (columns * tile, rows_n * (tile + 30)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(misreads):
        x, y = (i % columns) * tile, (i // columns) * (tile + 30)
        thumb = draw_reading(r["reading"], max_side=tile - 4)
        sheet.paste(thumb, (x + (tile - thumb.width) // 2, y + (tile - thumb.height) // 2))
        draw.text((x + 4, y + tile + 2), f"{r['file']} true {r['true']} read {r['read']} ({r['confidence']:.2f})",
                  fill="black")
    sheet.save(path)
    return len(misreads)
