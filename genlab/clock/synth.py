"""Synthetic analogue clocks for training the reader, deterministic by seed.

Clock `i` of `make_clocks(n, seed)` depends only on `(seed, i)`, so any slice of a
dataset can be regenerated on its own. Each clock is drawn with PIL at the output size
(the reader sees it shrunk to 72x72 with anti-aliasing, so drawing at twice the size only cost
time), then photographed: perspective and rotation, lighting, glare, blur, noise and JPEG
artefacts. Speed: numerals are pasted from cached glyph masks, sensor noise is cut from one
per-process noise bank, and big batches use the idle cores (up to MAX_WORKERS).
GENERATOR_VERSION names the drawing recipe in cached file names.

    from genlab.clock.synth import make_clocks
    images, labels = make_clocks(10_000, seed=0)   # (10000, 150, 150) uint8, (10000, 2) [hour, minute]
    images, labels, faces = make_clocks(100, seed=0, with_faces=True)   # faces: (100, 4) [cx, cy, r px, turn]
"""

import io
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = 150  # the Leiden set's image size
GENERATOR_VERSION = 12  # bump whenever the drawing changes: cached clock files carry it in their names
MAX_WORKERS = 2  # processes make_clocks uses by default for big batches (the idle cores, at most this)
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"))
ARABIC = [str(h) for h in range(1, 13)]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
RADIAL_SHARE = {"roman": 0.6, "arabic": 0.2}  # dials of each numeral style whose numerals stand along the radius
CHRONO_SHARE = 0.2  # hard-case clocks with a chronograph's big subdials (numerals, ticks, their own hands)
SPOT_SHARE = 0.3  # hard-case clocks with a bright spot reflected in the glass (a lamp, a window)
SWEEP_SHARE = 0.3  # hard-case clocks with a dark second hand whose tail is as long as an hour hand
LONG_HOUR_SHARE = 0.15  # hard-case clocks whose hour hand is nearly as long as the minute hand (and wider)
ORNATE_SHARE = 0.2  # hard-case clocks with ornate hands: thin shafts with scrolls and a pierced tip, black or gilt
CENTRE_SHARE = 0.2  # hard-case clocks whose dial's centre is a disc of another shade (wood, a gilt sunburst)
DEFOCUS_SHARE = 0.25  # hard-case clocks photographed out of focus (a lens's blur disc, of radius 0.03-0.1 dial radii)
# Seven-segment strokes for the "drawn" numerals: (x0, y0, x1, y1) in a unit 0..1 x 0..2 cell.
SEGMENTS = {
    "a": (0, 0, 1, 0), "b": (1, 0, 1, 1), "c": (1, 1, 1, 2), "d": (0, 2, 1, 2),
    "e": (0, 1, 0, 2), "f": (0, 0, 0, 1), "g": (0, 1, 1, 1),
}
DIGIT_SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abged", "3": "abgcd", "4": "fgbc", "5": "afgcd",
    "6": "afgedc", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}


def hand_angles(hour, minute):
    """Returns (hour_angle, minute_angle) in degrees clockwise from 12 for [hour, minute] labels.

    Works on scalars or arrays; hour is 0..11 (0 is twelve o'clock), minute 0..59.
    """
    hour = np.asarray(hour) % 12
    minute = np.asarray(minute)
    return (hour + minute / 60.0) * 30.0, minute * 6.0


@lru_cache(maxsize=None)
def font_paths() -> tuple:
    """Returns the TrueType font files found on this machine (sorted, so choices are reproducible)."""
    found = set()
    for folder in FONT_DIRS:
        if folder.is_dir():
            # Math fonts draw their digits as symbols; skip them.
            found.update(str(p) for p in folder.rglob("*.ttf") if "Math" not in p.name)
    return tuple(sorted(found))


@lru_cache(maxsize=None)
def _font(path: str, size: int):
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


@lru_cache(maxsize=None)
def _glyph(path: str, size: int, text: str) -> tuple:
    """Returns (mask, left, top): text rendered once as an "L" mask, offset from its centre point.

    Drawing the same numeral again is then a paste, not a font rasterisation (the slowest part
    of a clock). Sizes are even numbers only, so the cache stays small.
    """
    font = _font(path, size)
    left, top, right, bottom = font.getbbox(text, anchor="mm")
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font, anchor="mm")
    return mask, left, top


def _glyph_near(font_path: str, size: float, text: str) -> tuple:
    """Returns _glyph at font size `size` rounded down to even, at least 6 (so that few sizes are cached)."""
    return _glyph(font_path, max(6, int(size) // 2 * 2), text)


def _paste_text(canvas: Image.Image, font_path: str, size: float, text: str, x: float, y: float, fill: int):
    """Pastes text upright in `fill`, centred on (x, y), at font size `size` (_glyph_near)."""
    mask, left, top = _glyph_near(font_path, size, text)
    canvas.paste(fill, (round(x) + left, round(y) + top), mask)


def _shade(rng, light: bool) -> int:
    return int(rng.uniform(185, 255) if light else rng.uniform(0, 80))


@lru_cache(maxsize=8)
def _grid(side: int):
    """Returns (yy, xx): (side, side) float32 coordinates in [0, 1)."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    return yy, xx


def _background(rng, side: int) -> Image.Image:
    """Returns a (side, side) "L" texture: a wall, wood grain, or a plain gradient (for clutter).

    Drawn at a quarter of the resolution and scaled up: backgrounds are out of focus anyway.
    """
    out_side, side = side, max(8, side // 4)
    kind = rng.integers(4)
    base = rng.uniform(40, 220)
    yy, xx = _grid(side)
    if kind == 0:  # painted wall: smooth low-frequency blotches
        coarse = rng.normal(0, 1, (6, 6)).astype(np.float32)
        blotch = np.asarray(Image.fromarray(coarse, "F").resize((side, side), Image.BICUBIC))
        texture = base + rng.uniform(5, 30) * blotch
    elif kind == 1:  # wood grain: warped stripes
        warp = np.asarray(Image.fromarray(rng.normal(0, 1, (4, 4)).astype(np.float32), "F")
                          .resize((side, side), Image.BICUBIC))
        angle = rng.uniform(0, np.pi)
        u = xx * np.cos(angle) + yy * np.sin(angle)
        texture = base + rng.uniform(10, 45) * np.sin((u + 0.08 * warp) * rng.uniform(20, 70))
    else:  # a gradient (lit wall), sometimes with clutter drawn over it later
        gx, gy = rng.uniform(-60, 60, 2)
        texture = base + gx * (xx - 0.5) + gy * (yy - 0.5)
    small = Image.fromarray(np.clip(texture, 0, 255).astype(np.uint8))
    return small.resize((out_side, out_side), Image.BILINEAR)


def _clutter(draw, rng, side: int) -> None:
    """Draws random shelves, frames and objects behind the clock."""
    for _ in range(rng.integers(0, 7)):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * side
        w, h = rng.uniform(0.05, 0.6, 2) * side
        shade = int(rng.uniform(0, 255))
        shape = rng.integers(3)
        if shape == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=shade)
        elif shape == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=shade)
        else:
            draw.line([x0, y0, x0 + w, y0 + h], fill=shade, width=int(rng.uniform(1, 0.05 * side)))


def jpeg_copy(image: Image.Image, quality: int) -> Image.Image:
    """Returns the image saved as a JPEG of this quality (1..95) and opened again: its compression artefacts."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer)


def background_scene(rng, height: int, width: int) -> Image.Image:
    """Returns a (height, width) "L" scene without a clock: a wall, wood grain or gradient with clutter."""
    side = max(height, width)
    scene = _background(rng, side).crop((0, 0, width, height))
    _clutter(ImageDraw.Draw(scene), rng, side)
    return scene


def _face_polygon(shape: str, cx, cy, r, corner_rotation=0.0):
    """Returns the outline points of a non-round face (square, hexagon, octagon...)."""
    sides = {"square": 4, "hexagon": 6, "octagon": 8, "dodecagon": 12}[shape]
    start = np.pi / sides + corner_rotation if shape == "square" else corner_rotation
    t = start + np.arange(sides) * 2 * np.pi / sides
    r_corner = r / np.cos(np.pi / sides)  # the inscribed circle has radius r
    return list(zip(cx + r_corner * np.sin(t), cy - r_corner * np.cos(t)))


def _draw_shape(draw, shape, cx, cy, r, fill):
    if shape == "round":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "rounded":
        draw.rounded_rectangle([cx - r, cy - r, cx + r, cy + r], radius=r * 0.3, fill=fill)
    else:
        draw.polygon(_face_polygon(shape, cx, cy, r), fill=fill)


def _polar(cx, cy, angle_deg, radius):
    a = math.radians(angle_deg)
    return cx + radius * math.sin(a), cy - radius * math.cos(a)


def _draw_ticks(draw, rng, cx, cy, r, ink):
    style = rng.choice(["none", "hours", "minutes", "dots", "bars"], p=[0.1, 0.25, 0.35, 0.15, 0.15])
    if style == "none":
        return
    outer = r * rng.uniform(0.88, 0.97)
    major_len = r * rng.uniform(0.06, 0.16)
    major_w = max(1, int(r * rng.uniform(0.015, 0.05)))
    for k in range(60 if style in ("minutes", "dots") else 12):
        major = style not in ("minutes", "dots") or k % 5 == 0
        angle = k * (6 if style in ("minutes", "dots") else 30)
        if style == "dots":
            x, y = _polar(cx, cy, angle, outer - major_len / 2)
            d = r * (0.035 if major else 0.014)
            draw.ellipse([x - d, y - d, x + d, y + d], fill=ink)
            continue
        length = major_len if major else major_len * 0.4
        width = major_w if major else max(1, major_w // 3)
        if style == "bars" and k % 3 == 0:
            width, length = width * 2, length * 1.3
        draw.line([_polar(cx, cy, angle, outer), _polar(cx, cy, angle, outer - length)], fill=ink, width=width)


def _draw_segment_digits(draw, text, x, y, height, ink, width):
    """Draws digits as seven-segment strokes centred on (x, y)."""
    cell_w = height * 0.45
    total = len(text) * cell_w * 1.4
    left = x - total / 2 + cell_w * 0.2
    for i, ch in enumerate(text):
        ox, oy = left + i * cell_w * 1.4, y - height / 2
        for seg in DIGIT_SEGMENTS[ch]:
            x0, y0, x1, y1 = SEGMENTS[seg]
            draw.line([ox + x0 * cell_w, oy + y0 * height / 2, ox + x1 * cell_w, oy + y1 * height / 2],
                      fill=ink, width=width)


def _draw_numerals(canvas, draw, rng, cx, cy, r, ink):
    style = rng.choice(["none", "arabic", "roman", "quarters", "drawn"], p=[0.25, 0.35, 0.2, 0.1, 0.1])
    if style == "none":
        return
    labels = ROMAN if style == "roman" else ARABIC
    hours = [3, 6, 9, 12] if style == "quarters" else range(1, 13)
    size = int(r * rng.uniform(0.15, 0.28))
    ring = r * rng.uniform(0.62, 0.78)
    fonts = font_paths()
    font_path = fonts[rng.integers(len(fonts))] if fonts else ""
    stroke = max(1, size // 8)
    # Radial numerals stand along the radius, each as the twelve does (common on Roman dials). The choice has its
    # own random numbers, drawn from the dial's, so every other pixel is as version 4 drew it (version 5, textured
    # dials, was never shipped).
    radial = np.random.default_rng([size, int(ring * 1000), int(cx * 100), int(cy * 100)]).random()
    radial = radial < RADIAL_SHARE.get(style, 0.0)
    for h in hours:
        x, y = _polar(cx, cy, h * 30, ring)
        text = labels[h - 1]
        if style == "drawn":
            _draw_segment_digits(draw, text, x, y, size, ink, stroke)
            continue
        if radial:
            mask, _, _ = _glyph_near(font_path, size, text)
            turned = mask.rotate(-h * 30, resample=Image.BILINEAR, expand=True)
            canvas.paste(ink, (round(x - turned.width / 2), round(y - turned.height / 2)), turned)
        else:
            _paste_text(canvas, font_path, size, text, x, y, ink)


def _hand_polygon(shape, cx, cy, angle_deg, length, width, tail):
    """Returns the outline of a hand pointing at angle_deg: a bar, taper, leaf (spade) or arrow."""
    a = np.deg2rad(angle_deg)
    d = np.array([np.sin(a), -np.cos(a)])  # along the hand
    n = np.array([np.cos(a), np.sin(a)])  # across it
    c = np.array([cx, cy])
    half = width / 2
    if shape == "bar":
        pts = [c - tail * d + half * n, c + length * d + half * n, c + length * d - half * n, c - tail * d - half * n]
    elif shape == "taper":
        pts = [c - tail * d + half * n, c + length * d + 0.15 * half * n, c + length * d - 0.15 * half * n,
               c - tail * d - half * n]
    elif shape == "leaf":
        pts = [c - tail * d, c + 0.2 * length * d + 0.35 * half * n, c + 0.65 * length * d + 1.4 * half * n,
               c + length * d, c + 0.65 * length * d - 1.4 * half * n, c + 0.2 * length * d - 0.35 * half * n]
    else:  # arrow
        neck = length * 0.8
        pts = [c - tail * d + 0.5 * half * n, c + neck * d + 0.5 * half * n, c + neck * d + 1.6 * half * n,
               c + length * d, c + neck * d - 1.6 * half * n, c + neck * d - 0.5 * half * n,
               c - tail * d - 0.5 * half * n]
    return [tuple(p) for p in pts]


def _draw_ornament(draw, kind, cx, cy, angle_deg, length, r, ink):
    """Draws a Breguet ring (kind "ring") or a spade (kind "leaf") at 70% of a hand's length."""
    x, y = _polar(cx, cy, angle_deg, 0.7 * length)
    d = 0.06 * r
    if kind == "ring":
        draw.ellipse([x - d, y - d, x + d, y + d], outline=ink, width=max(1, round(0.015 * r)))
    else:
        draw.polygon(_hand_polygon("leaf", x, y, angle_deg, 2.5 * d, 1.6 * d, 0.5 * d), fill=ink)


def _centre_shade(centre, face, ink) -> float:
    """Returns the shade of a centre disc (centre: see hard_extras)."""
    return face + centre[1] * (ink - face)


def _draw_centre(draw, centre, cx, cy, r, face, ink) -> None:
    """Draws a dial's centre disc of another shade, plain or a sunburst of alternating rays (centre: see
    hard_extras)."""
    radius, _, rays, _ = centre
    shade = _centre_shade(centre, face, ink)
    d = radius * r
    box = [cx - d, cy - d, cx + d, cy + d]
    if not rays:
        draw.ellipse(box, fill=int(round(shade)))
        return
    for k in range(72):
        draw.pieslice(box, 5 * k, 5 * k + 5, fill=int(np.clip(round(shade + (12 if k % 2 else -12)), 0, 255)))


def _draw_ornate_hands(draw, ornate, cx, cy, r, hands, face, ink, disc=None) -> None:
    """Draws ornate hands: each a thin tapering shaft with a short tail, a lozenge and two pairs of curls (scrolls)
    part way along it, the hour hand's tip a spade (pierced or not), the minute hand's a small lozenge. Gilt hands
    are drawn in a shade between the ink and the face, over a dark shadow offset to the lower right.
    hands: (angle in degrees, length in pixels, is the hour hand) for each hand. disc: (radius in pixels, shade) of
    the dial's centre disc, if any, which shows through a pierced spade inside it."""
    place, curl, pierced, gilt = ornate
    c = curl * r
    line = max(1, round(0.012 * r))
    shades = [(0.015 * r, ink), (0.0, int(round(ink + gilt * (face - ink))))] if gilt else [(0.0, ink)]
    for shift, shade in shades:
        x0, y0 = cx + shift, cy + shift
        for angle, length, hour in hands:
            draw.polygon(_hand_polygon("taper", x0, y0, angle, length, 0.035 * r, 0.15 * length), fill=shade)
            at = place * length
            draw.polygon(_hand_polygon("leaf", *_polar(x0, y0, angle, at - 1.3 * c), angle, 2.6 * c, 1.4 * c, 0),
                         fill=shade)
            for along, size in ((at - 0.3 * c, c), (at + 2.2 * c, 0.6 * c)):
                for side in (90.0, -90.0):
                    ux, uy = _polar(*_polar(x0, y0, angle, along), angle + side, size + 0.015 * r)
                    draw.ellipse([ux - size, uy - size, ux + size, uy + size], outline=shade, width=line)
            if hour:
                tip = _hand_polygon("leaf", *_polar(x0, y0, angle, 0.62 * length), angle, 0.38 * length, 4 * c, 0)
                draw.polygon(tip, fill=shade)
                if pierced:
                    hole = _hand_polygon("leaf", *_polar(x0, y0, angle, 0.7 * length), angle, 0.22 * length, 2 * c, 0)
                    inside = disc is not None and 0.81 * length < disc[0]  # the hole's middle in the disc
                    draw.polygon(hole, fill=int(round(disc[1] if inside else face)))
            else:
                draw.polygon(_hand_polygon("leaf", *_polar(x0, y0, angle, 0.72 * length), angle, 0.12 * length,
                                           2 * c, 0), fill=shade)


def _perspective_coeffs(src, dst):
    """Returns PIL PERSPECTIVE coefficients mapping output points dst to input points src."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(rhs, float))


HARD_TEXT = ("QUARTZ", "SWISS MADE", "AUTOMATIC", "LONDON", "1894", "WATERPROOF", "PARIS", "CHRONOGRAPH", "SEIKO")


# Where a clock's winding holes sit (degrees clockwise from twelve): time and strike, three trains, one below the
# centre, one at four.
WINDING_LAYOUTS = ((120.0, 240.0), (100.0, 260.0, 180.0), (180.0,), (120.0,))


def hard_extras(rng: np.random.Generator) -> dict:
    """Returns a random set of the hard cases real photos show and plain clocks lack (each drawn or not):
    subdials with their own small hands, printed text, skeleton hands, long hand tails, a second hand
    with a counterweight, a luminous dial, strong foreshortening, ornamented (Breguet, spade) hands,
    thin hands of one width, a coloured second hand, a date window (mostly at three o'clock, as on most watches:
    a framed box that is not twelve o'clock), winding holes (one to three dark holes, mostly at four and eight
    o'clock, as on most mantel and wall clocks with a spring), a chronograph's or instrument clock's one or two big
    subdials (a third of the dial across, with their own ticks, numerals and one or two hands, in place of the small
    subdials), a bright spot of glare on the glass (a lamp or a window), a dark second hand whose tail is as long as an
    hour hand, an hour hand nearly as long as the minute hand (wider than it), ornate hands (a thin shaft with scrolls
    and a pierced spade, black or gilt, casting a shadow), a centre disc of another shade (a wooden centre, a gilt
    sunburst), a photo out of focus (the camera focused on something else). Each is drawn after the ones before it
    from the same generator, so a new one leaves the others as they were (but for the small subdials, which the big
    ones replace)."""
    extras = {}
    if rng.random() < 0.35:
        extras["subdials"] = [(float(rng.choice([0, 90, 180, 270])), float(rng.uniform(0.16, 0.24)),
                               float(rng.uniform(0, 360))) for _ in range(rng.integers(1, 4))]
    if rng.random() < 0.4:
        extras["text"] = (str(rng.choice(HARD_TEXT)), float(rng.choice([-1, 1]) * rng.uniform(0.25, 0.45)))
    if rng.random() < 0.25:
        extras["hollow"] = True
    if rng.random() < 0.3:
        extras["tail"] = float(rng.uniform(0.25, 0.4))
    if rng.random() < 0.4:
        extras["counterweight"] = True
    if rng.random() < 0.25:
        extras["luminous"] = (int(rng.uniform(0, 60)), int(rng.uniform(190, 255)))
    if rng.random() < 0.35:
        extras["foreshorten"] = float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.3))
    if rng.random() < 0.3:  # Breguet or spade hands: a ring or a leaf near the tip of thin hands
        extras["ornament"] = str(rng.choice(["ring", "leaf"]))
    if rng.random() < 0.3:  # hands of about one width, so length alone tells them apart
        extras["thin"] = float(rng.uniform(0.015, 0.03))
    if rng.random() < 0.35:  # a coloured second hand (mid grey in a grayscale photo), long, with a tail
        extras["second"] = (int(rng.uniform(70, 180)), float(rng.uniform(0.6, 1.0)), float(rng.uniform(0, 360)))
    if rng.random() < 0.35:  # a date window: (its angle, distance from the centre in radii, day, light box or dark)
        extras["date"] = (float(rng.choice([90.0, 180.0, 135.0], p=[0.7, 0.2, 0.1])), float(rng.uniform(0.55, 0.72)),
                          int(rng.integers(1, 32)), bool(rng.random() < 0.8))
    if rng.random() < 0.3:  # winding holes: (their angles, distance from the centre in radii, hole radius, brass rim)
        angles = WINDING_LAYOUTS[rng.choice(len(WINDING_LAYOUTS), p=[0.55, 0.15, 0.2, 0.1])]
        extras["winding"] = (angles, float(rng.uniform(0.35, 0.52)), float(rng.uniform(0.05, 0.085)),
                             bool(rng.random() < 0.6))
    if rng.random() < CHRONO_SHARE:  # a chronograph's or instrument clock's big subdials, in place of the small ones
        extras.pop("subdials", None)
        places = ((0.0, 180.0), (90.0, 270.0), (0.0,), (90.0,), (180.0,), (270.0,))[rng.choice(6)]
        extras["chrono"] = [(angle, float(rng.uniform(0.26, 0.38)), float(rng.uniform(0.38, 0.5)),
                             str(rng.choice(["hours", "tens", "none"], p=[0.5, 0.3, 0.2])),
                             str(rng.choice(["bar", "taper", "leaf"])), float(rng.uniform(0.02, 0.05)),
                             tuple(float(a) for a in rng.uniform(0, 360, int(rng.integers(1, 3)))))
                            for angle in places]
    if rng.random() < SPOT_SHARE:  # a lamp or window in the glass: (offset x, y and spread in radii, strength)
        extras["spot"] = (*(float(v) for v in rng.uniform(-0.7, 0.7, 2)), float(rng.uniform(0.12, 0.4)),
                          float(rng.uniform(0.5, 0.95)))
    # A dark second hand with a long tail: (tail in radii, its ink's share of the way from the hands' ink to the face)
    if rng.random() < SWEEP_SHARE:
        extras["sweep"] = (float(rng.uniform(0.25, 0.45)), float(rng.uniform(0.0, 0.35)))
    if rng.random() < LONG_HOUR_SHARE:  # an hour hand 0.75-0.9 of the minute hand's length, told apart by its width
        extras["long_hour"] = float(rng.uniform(0.75, 0.9))
    # Ornate hands: (the scrolls' place along the hand, curl radius in radii, pierced spade, gilt: its share of the
    # way from the dial's ink to the face, or 0 for black)
    if rng.random() < ORNATE_SHARE:
        extras["ornate"] = (float(rng.uniform(0.3, 0.55)), float(rng.uniform(0.03, 0.055)), bool(rng.random() < 0.6),
                            float(rng.uniform(0.3, 0.6)) if rng.random() < 0.5 else 0.0)
    # A centre disc: (its radius in radii, its shade's share of the way from the face to the ink, sunburst rays,
    # light hands: hands near the face's shade, as brass hands on a wooden centre)
    if rng.random() < CENTRE_SHARE:
        light_hands = bool(rng.random() < 0.3)
        extras["centre"] = (float(rng.uniform(0.4, 0.7)),
                            float(rng.uniform(0.7, 0.95) if light_hands else rng.uniform(0.2, 0.55)),
                            bool(rng.random() < 0.5), light_hands)
    if rng.random() < DEFOCUS_SHARE:  # out of focus: the lens's blur disc, its radius in dial radii
        extras["defocus"] = float(rng.uniform(0.03, 0.1))
    return extras


def _draw_distractors(canvas, draw, hard: dict, cx, cy, r, ink) -> None:
    """Draws a hard case's subdials (ring, ticks, one small hand each), big chronograph subdials (ring, ticks,
    numerals, their own hands), date window, winding holes and printed text on the dial."""
    for angle, size, hand in hard.get("subdials", ()):
        x, y = _polar(cx, cy, angle, 0.45 * r)
        d = size * r
        draw.ellipse([x - d, y - d, x + d, y + d], outline=ink, width=max(1, round(0.012 * r)))
        for k in range(12):
            draw.line([_polar(x, y, 30 * k, d), _polar(x, y, 30 * k, 0.8 * d)], fill=ink, width=1)
        draw.line([(x, y), _polar(x, y, hand, 0.85 * d)], fill=ink, width=max(1, round(0.02 * r)))
    for angle, size, distance, numerals, shape, width, hands in hard.get("chrono", ()):
        x, y = _polar(cx, cy, angle, distance * r)
        d = size * r
        draw.ellipse([x - d, y - d, x + d, y + d], outline=ink, width=max(1, round(0.012 * r)))
        for k in range(60):
            draw.line([_polar(x, y, 6 * k, d), _polar(x, y, 6 * k, (0.82 if k % 5 == 0 else 0.92) * d)], fill=ink,
                      width=max(1, round((0.012 if k % 5 == 0 else 0.006) * r)))
        fonts = font_paths()
        if fonts and numerals != "none":
            labels = ARABIC if numerals == "hours" else [str(10 * k) for k in range(1, 7)]
            step = 360 / len(labels)
            for k, label in enumerate(labels, 1):
                _paste_text(canvas, fonts[len(labels) % len(fonts)], 0.26 * d, label, *_polar(x, y, k * step, 0.6 * d),
                            ink)
        for k, hand in enumerate(hands):  # the subdial's own hands: a long one, then a shorter one
            length = (0.85 if k == 0 else 0.6) * d
            draw.polygon(_hand_polygon(shape, x, y, hand, length, width * r * (1 + 0.4 * k), 0.15 * length), fill=ink)
        cap = 0.08 * d
        draw.ellipse([x - cap, y - cap, x + cap, y + cap], fill=ink)
    if "date" in hard:  # an upright framed box with the day's number, at three, half past four or six o'clock
        angle, distance, day, light = hard["date"]
        x, y = _polar(cx, cy, angle, distance * r)
        w, h = 0.11 * r, 0.075 * r
        paper, figure = (250, 0) if light else (0, 240)
        draw.rectangle([x - w, y - h, x + w, y + h], fill=paper, outline=ink, width=max(1, round(0.012 * r)))
        fonts = font_paths()
        if fonts:
            _paste_text(canvas, fonts[day % len(fonts)], 0.11 * r, str(day), x, y, figure)
    if "winding" in hard:  # a dark hole with a square arbor in it, in a brass rim or none
        angles, distance, size, rim = hard["winding"]
        for angle in angles:
            x, y = _polar(cx, cy, angle, distance * r)
            d = size * r
            if rim:
                draw.ellipse([x - 1.35 * d, y - 1.35 * d, x + 1.35 * d, y + 1.35 * d], fill=200)
            draw.ellipse([x - d, y - d, x + d, y + d], fill=15)
            draw.rectangle([x - 0.35 * d, y - 0.35 * d, x + 0.35 * d, y + 0.35 * d], fill=140)
    if "text" in hard:
        text, offset = hard["text"]
        fonts = font_paths()
        if fonts:
            _paste_text(canvas, fonts[len(text) % len(fonts)], 0.09 * r, text, cx, cy + offset * r, ink)


def render_clock(hour: int, minute: int, rng: np.random.Generator, size: int = SIZE, clean: bool = False) -> np.ndarray:
    """Returns one (size, size) uint8 grayscale photo of a clock showing hour:minute.

    hour: 0..11 (0 is twelve), minute: 0..59. clean=True draws an upright, centred, white
    round clock with black hands and no photographic effects (used to check labels).
    """
    return render_clock_and_face(hour, minute, rng, size, clean)[0]


def render_clock_and_face(hour: int, minute: int, rng: np.random.Generator, size: int = SIZE,
                          clean: bool = False, hard: dict | None = None) -> tuple:
    """Returns (render_clock's image, face): face is (cx, cy, r, turn) of the dial in the photo (pixels, radians).

    Pixel (i, j) spans [j, j + 1) x [i, i + 1), so the image centre is (size / 2, size / 2). After
    perspective and tilt the face is an ellipse: (cx, cy) is where the dial's centre (the hands'
    pivot) lands, r the mean distance from it to the dial's rim, and turn the direction of its
    twelve o'clock, clockwise from the photo's up (the tilt, and a little of the perspective). Same pixels,
    same rng draws as render_clock. hard: hard cases to add (hard_extras), drawn from their own generator so
    the rest of the clock is the same pixels as without them.
    """
    hard = hard or {}
    side = size
    light_face = clean or rng.random() < 0.8
    if clean:
        canvas = Image.new("L", (side, side), 128)
    else:
        canvas = _background(rng, side)
    draw = ImageDraw.Draw(canvas)
    if not clean:
        _clutter(draw, rng, side)

    r = side * (0.42 if clean else rng.uniform(0.3, 0.47))
    cx, cy = (side / 2, side / 2) if clean else side / 2 + rng.uniform(-0.06, 0.06, 2) * side
    shape = "round" if clean else rng.choice(
        ["round", "square", "rounded", "hexagon", "octagon", "dodecagon"], p=[0.6, 0.1, 0.1, 0.05, 0.1, 0.05])
    face = 245 if clean else _shade(rng, light_face)
    ink = 0 if clean else _shade(rng, not light_face)
    if "luminous" in hard:  # a dark dial with light numerals and hands
        face, ink = hard["luminous"]

    if not clean:
        if rng.random() < 0.6:  # cast shadow
            off = rng.uniform(-0.08, 0.08, 2) * r
            _draw_shape(draw, shape, cx + off[0], cy + off[1], r * 1.1, int(rng.uniform(0, 60)))
        if rng.random() < 0.85:  # bezel
            _draw_shape(draw, shape, cx, cy, r * rng.uniform(1.03, 1.18), int(rng.uniform(0, 255)))
    _draw_shape(draw, shape, cx, cy, r, face)
    if not clean and rng.random() < 0.3:  # inner ring / chapter ring
        rr = r * rng.uniform(0.5, 0.85)
        draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], outline=ink, width=max(1, int(r * 0.01)))

    if "centre" in hard:
        _draw_centre(draw, hard["centre"], cx, cy, r, face, ink)
    if not clean:
        _draw_ticks(draw, rng, cx, cy, r, ink)
        _draw_numerals(canvas, draw, rng, cx, cy, r, ink)
    _draw_distractors(canvas, draw, hard, cx, cy, r, ink)

    # Hands: the hour hand is clearly shorter than the minute hand (or, for a long_hour, clearly wider), and the
    # minute hand at least 2.5 times as wide as the (optional) second hand, so no clock is ambiguous.
    hour_deg, minute_deg = hand_angles(hour, minute)
    second_width = max(1, round(r * 0.012))
    if clean:
        shape_h = shape_m = "bar"
        len_m, len_h, w_m, w_h, hand_ink = 0.85 * r, 0.5 * r, 0.04 * r, 0.08 * r, 0
    else:
        shape_h = rng.choice(["bar", "taper", "leaf", "arrow"])
        shape_m = shape_h if rng.random() < 0.7 else rng.choice(["bar", "taper", "leaf", "arrow"])
        len_m = r * rng.uniform(0.68, 0.95)
        len_h = len_m * rng.uniform(0.5, 0.72)
        w_m = max(r * rng.uniform(0.025, 0.08), 2.5 * second_width)
        w_h = w_m * rng.uniform(1.0, 1.8)
        hand_ink = ink if rng.random() < 0.8 else _shade(rng, not light_face)
        if "thin" in hard or "ornament" in hard:
            w_m = w_h = max(1.5, hard.get("thin", 0.025) * r)
            shape_h = shape_m = "taper" if "ornament" in hard else "bar"
    if "long_hour" in hard:
        len_h = len_m * hard["long_hour"]
        w_h = max(w_h, 1.6 * w_m)
    tail = rng.uniform(0, 0.25) if not clean else 0.1
    tail = hard.get("tail", tail)
    if "luminous" in hard:
        hand_ink = hard["luminous"][1]
    if "centre" in hard and hard["centre"][3]:  # brass hands on a wooden centre: light, faint on the face
        hand_ink = int(round(face + 0.15 * (ink - face)))
    hands = ((shape_h, hour_deg, len_h, w_h), (shape_m, minute_deg, len_m, w_m))
    disc = (hard["centre"][0] * r, _centre_shade(hard["centre"], face, ink)) if "centre" in hard else None
    if "ornate" in hard:  # drawn their own way, at the same angles and lengths
        _draw_ornate_hands(draw, hard["ornate"], cx, cy, r, ((hour_deg, len_h, True), (minute_deg, len_m, False)),
                           face, hand_ink, disc)
        hands = ()
    for shape_, ang, length, width in hands:
        outline = _hand_polygon(shape_, cx, cy, ang, length, width, tail * length)
        draw.polygon(outline, fill=hand_ink)
        if hard.get("hollow"):  # skeleton hands: an outline with the dial showing through
            inner = _hand_polygon(shape_, cx, cy, ang, 0.88 * length, 0.45 * width, -0.25 * length)
            draw.polygon(inner, fill=face)
        if "ornament" in hard:
            _draw_ornament(draw, hard["ornament"], cx, cy, ang, length, r, hand_ink)
    if (not clean and rng.random() < 0.5) or "sweep" in hard:  # second hand, thin, anywhere
        sec = rng.uniform(0, 360)
        sec_ink = int(rng.uniform(0, 255))
        sec_tail = 0.2
        if "sweep" in hard:  # dark, with a tail as long as an hour hand
            sec_tail, share = hard["sweep"]
            sec_ink = int(round(hand_ink + share * (face - hand_ink)))
        draw.line([_polar(cx, cy, sec + 180, sec_tail * r), _polar(cx, cy, sec, r * rng.uniform(0.8, 0.97))],
                  fill=sec_ink, width=second_width)
        if hard.get("counterweight"):  # a disc on the second hand's tail
            x, y = _polar(cx, cy, sec + 180, (sec_tail - 0.03) * r)
            d = 0.05 * r
            draw.ellipse([x - d, y - d, x + d, y + d], fill=sec_ink)
    if "second" in hard:
        sec_ink, sec_width, sec = hard["second"]
        width = max(1, round(sec_width * w_m))
        draw.line([_polar(cx, cy, sec + 180, 0.25 * r), _polar(cx, cy, sec, 0.93 * r)], fill=sec_ink, width=width)
    cap = r * (0.05 if clean else rng.uniform(0.02, 0.09))
    draw.ellipse([cx - cap, cy - cap, cx + cap, cy + cap], fill=hand_ink)

    if clean:
        return np.asarray(canvas), (float(cx), float(cy), float(r), 0.0)
    return _photograph(canvas, rng, size, cx, cy, r, hard.get("foreshorten", 0.0), hard.get("spot"),
                       hard.get("defocus", 0.0))


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Returns 2**20 standard-normal float32 values, drawn once per process from a fixed seed."""
    return np.random.default_rng(12345).standard_normal(1 << 20, np.float32)


def _noise(rng, shape) -> np.ndarray:
    """Returns standard-normal sensor noise of the given shape: a random slice of the noise bank.

    Cutting a slice is ~20x cheaper than drawing fresh normals, and still fixed by rng.
    """
    bank, count = _noise_bank(), math.prod(shape)
    if count > len(bank) // 2:
        return rng.standard_normal(shape, np.float32)
    start = int(rng.integers(len(bank) - count))
    return bank[start:start + count].reshape(shape)


def _mapped_face(straight, moved, cx, cy, r) -> tuple:
    """Returns (cx, cy, r, turn) of the face circle after the perspective that takes `straight` corners to `moved`:
    turn is where its twelve o'clock (the point r above the centre) went, in radians clockwise from up."""
    c = _perspective_coeffs(moved, straight)  # maps straight (input) points to moved (output) points
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)  # the 13th point (angle 3 pi / 2) is twelve o'clock
    x = np.concatenate([[cx], cx + r * np.cos(angles)])
    y = np.concatenate([[cy], cy + r * np.sin(angles)])
    w = c[6] * x + c[7] * y + 1
    u, v = (c[0] * x + c[1] * y + c[2]) / w, (c[3] * x + c[4] * y + c[5]) / w
    turn = np.arctan2(u[13] - u[0], v[0] - v[13])
    return float(u[0]), float(v[0]), float(np.hypot(u[1:] - u[0], v[1:] - v[0]).mean()), float(turn)


def _photograph(image: Image.Image, rng, size: int, cx, cy, r, foreshorten: float = 0.0, spot=None,
                defocus: float = 0.0) -> tuple:
    """Returns (the clock as a (size, size) uint8 photo: tilted, lit, glared, blurred, noisy, compressed;
    its face (cx, cy, r)).

    foreshorten: extra foreshortening of the other axis (a dial seen from the side), e.g. -0.4..0.4.
    spot: (dx, dy, spread, strength), a bright spot reflected in the glass: a Gaussian whitening up to `strength` of
    the way, `spread` dial radii wide (its standard deviation), centred (dx, dy) radii from the dial's centre.
    defocus: the photo out of focus, blurred by a disc of radius `defocus` dial radii (defocused), glare and all,
    before the lighting and the sensor's noise; it draws nothing from rng, so the clock is otherwise the same pixels.
    """
    # Perspective and rotation: move the corners of a square around the face, then map it back.
    tilt = np.deg2rad(rng.normal(0, 6))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * size / 2
    rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    squash = np.ones((4, 2))
    axis = rng.integers(2)
    k = rng.uniform(-0.25, 0.25)  # foreshortening of one side
    squash[:, axis] += k * corners[:, 1 - axis] / (size / 2) * (rng.random() < 0.6)
    squash[:, 1 - axis] += foreshorten * corners[:, axis] / (size / 2)
    moved = (corners * squash) @ rot.T + size / 2 + rng.normal(0, 0.02 * size, (4, 2))
    straight = corners + size / 2
    if foreshorten:  # keep the dial where it was: a photographer centres what they shoot from the side
        mx, my, *_ = _mapped_face(straight, moved, cx, cy, r)
        moved = moved + np.array([cx - mx, cy - my])
    image = image.transform((size, size), Image.PERSPECTIVE, _perspective_coeffs(straight, moved),
                            Image.BILINEAR, fillcolor=int(rng.uniform(0, 255)))
    face = _mapped_face(straight, moved, cx, cy, r)
    if rng.random() < 0.6:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.3)))

    x = np.asarray(image, np.float32)
    yy, xx = _grid(size)
    if rng.random() < 0.4:  # glare: a bright soft band across the glass
        angle = rng.uniform(0, np.pi)
        band = np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5) - rng.uniform(-0.3, 0.3)
        glare = np.exp(-(band / rng.uniform(0.04, 0.15)) ** 2) * rng.uniform(0.2, 0.7)
        glass = ((xx * size - cx) ** 2 + (yy * size - cy) ** 2) < (r * 1.1) ** 2
        x = x + glare * glass * (255 - x)
    if spot is not None:
        dx, dy, spread, strength = spot
        fx, fy, fr = face[:3]
        blob = strength * np.exp(-0.5 * ((xx * size - fx - dx * fr) ** 2 + (yy * size - fy - dy * fr) ** 2)
                                 / (spread * fr) ** 2)
        x = x + blob * (((xx * size - fx) ** 2 + (yy * size - fy) ** 2) < (fr * 1.1) ** 2) * (255 - x)
    if defocus:
        x = defocused(x, defocus * face[2])
    # Lighting: overall exposure (low light), contrast and an uneven gradient.
    gain = rng.uniform(0.25, 1.15) if rng.random() < 0.35 else rng.uniform(0.75, 1.15)
    gx, gy = rng.normal(0, 0.3, 2)
    x = x * gain * (1 + gx * (xx - 0.5) + gy * (yy - 0.5))
    x = (x - x.mean()) * rng.uniform(0.6, 1.2) + x.mean()
    x = x + rng.uniform(0, 10) * _noise(rng, x.shape)
    image = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        image = jpeg_copy(image, int(rng.uniform(15, 90)))
    return np.asarray(image, np.uint8), face


def defocused(x: np.ndarray, radius: float) -> np.ndarray:
    """Returns a (H, W) float image x as a lens out of focus shows it: every point spread evenly over a disc of
    `radius` pixels (its rim anti-aliased), the image's edges extended rather than wrapped around."""
    reach = int(math.ceil(radius)) + 1
    ys, xs = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    disc = np.clip(radius + 0.5 - np.hypot(ys, xs), 0, 1)
    disc /= disc.sum()
    padded = np.pad(x, reach, mode="edge")
    shape = padded.shape
    kernel = np.zeros(shape, np.float32)
    kernel[:2 * reach + 1, :2 * reach + 1] = disc
    kernel = np.roll(kernel, (-reach, -reach), axis=(0, 1))  # centred on pixel (0, 0)
    out = np.fft.irfft2(np.fft.rfft2(padded) * np.fft.rfft2(kernel), s=shape)
    return out[reach:reach + x.shape[0], reach:reach + x.shape[1]].astype(np.float32)


def random_time(rng: np.random.Generator) -> tuple:
    """Returns a uniformly random (hour 0..11, minute 0..59)."""
    t = int(rng.integers(720))
    return t // 60, t % 60


def make_clocks(n: int, seed: int = 0, size: int = SIZE, start: int = 0, progress=None, workers: int | None = None,
                with_faces: bool = False, hard: float = 0.0):
    """Returns (images (n, size, size) uint8, labels (n, 2) int64 [hour, minute]) of clocks start..start+n-1.

    with_faces=True adds a third array, faces (n, 4) float32 [cx, cy, r, turn]: pixels and radians (see
    render_clock_and_face): where each dial is, for training a face locator.
    Clock i depends only on (seed, i), so the range can be split over `workers` processes with
    identical results. workers=None: for PARALLEL_MIN clocks or more, one per idle core (see
    idle_cores), at most MAX_WORKERS; else 1.
    progress(done, total) is called every 100 clocks (every CHUNK clocks with several processes).
    hard: the share of clocks that also get hard cases (hard_extras, from a generator of their own:
    hard=0 gives the same clocks as before hard cases existed).
    """
    if n < 0 or size < 16:
        raise ValueError(f"need n >= 0 and size >= 16, got n={n}, size={size}")
    if workers is None:
        workers = min(MAX_WORKERS, idle_cores()) if n >= PARALLEL_MIN else 1
    if workers > 1 and n >= 2 * workers:
        return _make_clocks_parallel(n, seed, size, start, progress, workers, with_faces, hard)
    images = np.empty((n, size, size), np.uint8)
    labels = np.empty((n, 2), np.int64)
    faces = np.empty((n, 4), np.float32)
    for j in range(n):
        rng = np.random.default_rng([seed, start + j])
        labels[j] = random_time(rng)
        extras_rng = np.random.default_rng([seed, start + j, 7])
        extras = hard_extras(extras_rng) if hard and extras_rng.random() < hard else None
        images[j], faces[j] = render_clock_and_face(*labels[j], rng, size, hard=extras)
        if progress is not None and (j + 1) % 100 == 0:
            progress(j + 1, n)
    return (images, labels, faces) if with_faces else (images, labels)


PARALLEL_MIN = 2000  # below this, starting processes costs more than it saves


def idle_cores() -> int:
    """Returns how many cores are free (cores minus the 1-minute load average, rounded), at least 1.

    A second process only pays on a free core: with the other core busy, two processes took
    12.3 s for 10,000 clocks against 11.4 s for one.
    """
    return max(1, round((os.cpu_count() or 1) - os.getloadavg()[0]))
CHUNK = 1000  # clocks per job handed to a worker process


def _make_clocks_parallel(n, seed, size, start, progress, workers, with_faces, hard):
    """Returns make_clocks(n, seed, size, start, with_faces=with_faces, hard=hard) computed in chunks by `workers`
    processes."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunk = min(CHUNK, -(-n // workers))
    bounds = list(range(0, n, chunk)) + [n]
    images = np.empty((n, size, size), np.uint8)
    labels = np.empty((n, 2), np.int64)
    faces = np.empty((n, 4), np.float32)
    done = 0
    with ProcessPoolExecutor(workers) as pool:
        jobs = {pool.submit(make_clocks, hi - lo, seed, size, start + lo, None, 1, True, hard): lo
                for lo, hi in zip(bounds[:-1], bounds[1:])}
        for job in as_completed(jobs):
            part_images, part_labels, part_faces = job.result()
            lo = jobs[job]
            hi = lo + len(part_images)
            images[lo:hi], labels[lo:hi], faces[lo:hi] = part_images, part_labels, part_faces
            done += len(part_images)
            if progress is not None:
                progress(done, n)
    return (images, labels, faces) if with_faces else (images, labels)


def make_scenes(n: int, seed: int = 0, height: int = 360, width: int = 480, sizes: tuple = (0.3, 0.7),
                with_places: bool = False):
    """Returns (photos (n, height, width) uint8, labels (n, 2)): a clock photo placed small in a bigger scene;
    with_places: also (n, 3) [left, top, side] of each clock photo, in pixels (its dial is centred in it).

    A stand-in for uploads, to test face detection and cropping end to end: each clock photo
    (its side `sizes` of the scene's short side, 30-70% by default; its dial's radius is 30-47%
    of that side) sits at a random place on a wall/wood/clutter background.
    """
    photos = np.empty((n, height, width), np.uint8)
    labels = np.empty((n, 2), np.int64)
    places = np.empty((n, 3), np.int64)
    for j in range(n):
        rng = np.random.default_rng([seed, j, 1])
        labels[j] = random_time(rng)
        side = int(rng.uniform(*sizes) * min(height, width))
        clock = render_clock(*labels[j], rng, size=side)
        scene = background_scene(rng, height, width)
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        scene.paste(Image.fromarray(clock), (left, top))
        photos[j], places[j] = np.asarray(scene), (left, top, side)
    return (photos, labels, places) if with_places else (photos, labels)


def cached_clocks(n: int, seed: int, size: int = SIZE, progress=None, with_faces: bool = False, hard: float = 0.0):
    """Returns make_clocks(n, seed, size, with_faces=with_faces, hard=hard), kept as .npy files in the genlab cache
    folder.

    The file names carry GENERATOR_VERSION, so clocks drawn by an older generator are never reused.
    Faces live in their own file ("dials": the "faces" files before them had no turn): asking for them the
    first time redraws the clocks once.
    """
    from genlab.paths import cache_dir

    folder = cache_dir() / "clock"
    stem = folder / (f"synth_v{GENERATOR_VERSION}_seed{seed}_n{n}_size{size}" + (f"_hard{hard:g}" if hard else ""))
    paths = [Path(f"{stem}_{part}.npy") for part in ("images", "labels", "dials")[:3 if with_faces else 2]]
    if all(path.exists() for path in paths):
        return tuple(np.load(path) for path in paths)
    arrays = make_clocks(n, seed, size, progress=progress, with_faces=True, hard=hard)
    folder.mkdir(parents=True, exist_ok=True)
    for path, array in zip((Path(f"{stem}_{part}.npy") for part in ("images", "labels", "dials")), arrays):
        np.save(path, array)
    return arrays if with_faces else arrays[:2]


def save_grid(images: np.ndarray, path, columns: int = 8) -> None:
    """Saves (N, H, W) uint8 images as one PNG grid (for looking at samples)."""
    n, h, w = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + 2), columns * (w + 2)), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = img
    Image.fromarray(grid).save(path)
