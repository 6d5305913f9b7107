"""Telling the time: `read_clock(image) -> ClockReading`.

    from genlab.clock import read_clock
    reading = read_clock("kitchen.jpg")
    reading.text, reading.confidence, [a.text for a in reading.alternatives]   # "3:41", 0.87, [...]
"""

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw

from genlab.clock.models import MINUTES, common_sense_error, ellipse_matrix, rotation_matrix
from genlab.clock.preprocess import MARGIN, Face, Photo, crop_face, open_photo, square_around, start_boxes
from genlab.clock.synth import hand_angles
from genlab.paths import WEIGHTS_DIR

WEIGHTS_PATH = WEIGHTS_DIR / "clock_reader.safetensors"
WINDOW = 2  # a reading's probability is the mass within +-WINDOW minutes of it
SEPARATION = 10  # alternatives are at least this many minutes from each other
SURE_CONFIDENCE = 0.8  # a reading is "sure" at this calibrated confidence or more
RECENTRE_STEPS = 2  # each start crop is re-centred this many times on the dial the face locator finds
DETECT_SIDE = 256  # the detector gets a copy of the photo this big (long side)
DETECT_TRUSTED = 0.5  # a detection this sure is read alone; below, beside the centre square and whole photo
MIN_DETECT_SIDE = 16  # the detector's copy of a photo must be this wide both ways (its corner tiles 60% of it)
DETECT_ZOOM = 4  # an unsure dial is looked at again in a square reaching this many of its radii from its centre
ZOOM_STEPS = 2  # ... at most this many times, each time around the dial found closer
MIN_RECENTRE_RADIUS = 12  # working-photo pixels: a smaller located dial is read at this radius
# When the detector is unsure of the whole photo's best dial in the luminance view, its best CANDIDATES distinct
# dials there are each read alone, and one wins if its confidence times its detector score beats the usual
# reading's confidence: the reader checks the detector (docs/clock_reader.md, "The reader checks the detector's dials").
CANDIDATES = 3
CANDIDATE_LEAST_SCORE = 0.2  # ... of those, only dials the detector scores this much or more (clutter scores less)
# Each crop is read at its located centre only: the three views (Photo.views) and the re-centring
# steps already average several readings, and FACE_SHIFTS' five shifts on top gained nothing.
READ_SHIFTS = ((0.0, 0.0),)
# ... and, by an aligned reader, at its located turn and 3 degrees either side: the locator's turn is a few
# degrees off on real photos, and a hand near a numeral then reads an hour or a minute off.
READ_TURNS = (0.0, math.radians(-3), math.radians(3))
# ... each also at the turn the twelve finder finds near the located one (twelve.turned_reading), or without a finder
# at 1.6 times the located turn: on real photos the locator finds about 60% of a dial's turn (docs/clock_reader.md,
# "Photos turned in their plane"), so a dial held at an angle is read at its whole turn too.
READ_TURN_GAINS = (1.0, 1.6)
YELLOW = (255, 200, 0)  # the located dial on a drawn reading, and the user's mark on the Clock page


def percent(probability: float) -> str:
    """Returns a probability as a whole percentage rounded down, so that a reading shown as 80% is sure
    (SURE_CONFIDENCE) and one that is not sure never shows 80%."""
    return f"{math.floor(100 * probability + 1e-9)}%"


def format_time(hour: int, minute: int) -> str:
    """Returns "h:mm" on a 12-hour dial (hour 0 is shown as 12)."""
    return f"{hour % 12 or 12}:{minute:02d}"


@dataclass
class Alternative:
    """One candidate time: hour 0..11, minute 0..59, and its probability (mass within +-WINDOW min)."""

    hour: int
    minute: int
    probability: float

    @property
    def text(self) -> str:
        return format_time(self.hour, self.minute)


@dataclass
class ClockReading:
    """What read_clock found: the time, how sure it is, the runners-up, and the face it read."""

    hour: int
    minute: int
    confidence: float
    alternatives: list = field(default_factory=list)  # Alternative, best first (the first is the reading)
    face: Face | None = None  # the crop that agrees most with the reading
    dial: tuple | None = None  # (cx, cy, r) of the dial in the photo's pixels, as a face reader located it
    shape: tuple | None = None  # (q1, q2): that dial's ellipse (models.ellipse_matrix), from an ellipse reader
    turn: float = 0.0  # radians clockwise from the photo's up to that dial's twelve o'clock (located, or the finder's)

    @property
    def text(self) -> str:
        return format_time(self.hour, self.minute)

    @property
    def sure(self) -> bool:
        """Whether the reading is confident enough to state without alternatives (SURE_CONFIDENCE)."""
        return self.confidence >= SURE_CONFIDENCE


@lru_cache(maxsize=4)
def load_default_reader(path=None):
    """Returns the shipped reader (weights/clock_reader.safetensors) or the one at path, cached, for reading
    (models.for_reading)."""
    from genlab.clock.models import for_reading
    from genlab.clock.train import load_reader

    return for_reading(load_reader(path or WEIGHTS_PATH))


def top_times(probabilities: np.ndarray, k: int = 3) -> list:
    """Returns up to k Alternatives from (720,) probabilities: the most probable minutes, at least
    SEPARATION minutes apart, each with the mass within +-WINDOW minutes of it.

    The reading is the most probable minute itself, not the centre of the most probable window: a
    window's centre drifts towards the heavier side of a lopsided peak (on held-out synthetic
    clocks it read the exact minute 52% of the time, against 94% for the most probable minute).
    """
    p = np.asarray(probabilities, np.float64)
    mass = sum(np.roll(p, -o) for o in range(-WINDOW, WINDOW + 1))  # mass[t] = p[t - WINDOW .. t + WINDOW]
    remaining = p.copy()
    found = []
    for _ in range(k):
        t = int(remaining.argmax())
        if remaining[t] <= 0 and found:
            break
        found.append(Alternative(t // 60, t % 60, float(mass[t])))
        blocked = (t + np.arange(-SEPARATION + 1, SEPARATION)) % MINUTES
        remaining[blocked] = -1
    return found


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Returns (..., 720) probabilities sharpened (temperature < 1) or softened (> 1): p^(1/T), renormalised."""
    logp = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, None)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=-1, keepdims=True)


def _long_axis(shape) -> float:
    """Returns an elliptic dial's long half axis over its mean radius, exp(|q|), for its shape q (ellipse_matrix)."""
    return float(np.exp(np.hypot(*shape)))


def _dial_in_photo(face: Face, located) -> tuple:
    """Returns (cx, cy, r) in original pixels for a dial located (FaceLocator units) in a Face's crop; an
    elliptic dial's r is its long half axis (models.ellipse_matrix), so the crops framed on it hold all of it."""
    cx, cy, r = (float(v) for v in located[:3])
    if len(located) >= 5:
        r *= _long_axis(located[3:5])
    left, top, side = face.box
    return left + (cx + 1) / 2 * side, top + (cy + 1) / 2 * side, r / 2 * side


def _recentred_box(photo: Photo, dial: tuple) -> tuple:
    """Returns the square crop (original pixels) that frames a dial as the training clocks are framed."""
    cx, cy, r = dial
    r = float(np.clip(r, MIN_RECENTRE_RADIUS / photo.scale, max(photo.size)))
    return cx - r * MARGIN, cy - r * MARGIN, 2 * r * MARGIN


def _read_chains(reader, photo: Photo, starts: list, finder=None) -> list:
    """Returns, per (box, source, view) start, (mean (720,) probabilities over its crops, last Face, dial or None,
    the dial's ellipse shape or None, its turn in radians).

    Each start is read in its view of the photo (Photo.views), then re-centred RECENTRE_STEPS
    times on the dial the reader's face locator finds in it (readers without a locator read each
    start once). All starts are read together, one batch per step. An aligned reader's crops are read at the
    located turn and where the `finder` (twelve.TwelveFinder; default the shipped one, False for none) finds twelve
    o'clock near it, and also where the finder says twelve may be when that is a quarter turn or more away
    (twelve.turned_reading); without a finder, at the located turn and READ_TURN_GAINS times it.
    """
    from genlab.clock import twelve
    from genlab.clock.train import prepare

    boxes = [box for box, _, _ in starts]
    totals, dials, shapes, turns, faces = None, [None] * len(starts), [None] * len(starts), [0.0] * len(starts), []
    for step in range(RECENTRE_STEPS + 1):
        faces = [crop_face(photo, box, source + ("+recentred" if step else ""), view=view)
                 for box, (_, source, view) in zip(boxes, starts)]
        x = prepare(np.stack([f.image for f in faces]), reader.config.input_size, reader.config.gamma)
        located = reader.locate(x) if hasattr(reader, "locate") else None
        turned = None
        if located is None:
            probs = reader.probabilities(x)
        elif located.shape[1] >= 6 and finder is not False:
            chosen = twelve.default_finder() if finder is None else finder
            probs, turned = twelve.turned_reading(reader, chosen, x, located, READ_TURNS, READ_SHIFTS)
        else:
            probs = reader.probabilities(x, shifts=READ_SHIFTS, face=located, turns=READ_TURNS,
                                         turn_gains=READ_TURN_GAINS)
        probs = probs.numpy().astype(np.float64)
        totals = probs if totals is None else totals + probs
        if located is None:
            break
        rows = located.numpy()
        dials = [_dial_in_photo(face, row) for face, row in zip(faces, rows)]
        shapes = [tuple(float(v) for v in row[3:5]) if len(row) >= 5 else None for row in rows]
        turns = [float(row[5]) if len(row) >= 6 else 0.0 for row in rows] if turned is None else turned.tolist()
        if step < RECENTRE_STEPS:
            boxes = [_recentred_box(photo, dial) for dial in dials]
    return [(total / (step + 1), *rest) for total, *rest in zip(totals, faces, dials, shapes, turns)]


@torch.no_grad()
def read_clock(image, reader=None, top_k: int = 3, crop: bool = True, box=None, detector=None,
               finder=None) -> ClockReading:
    """Returns the ClockReading of a clock photo: a path, bytes, file object, PIL image, uint8 array
    or an opened preprocess.Photo.

    The photo is turned upright and read in each of its grayscale views (Photo.views). box: the
    square (left, top, side) or rectangle (left, top, width, height) in the photo's pixels where
    the user marked the clock: only that is read. Else the dial the detector finds is read alone
    when it is sure of it (DETECT_TRUSTED), and otherwise beside the centre square and, for a
    photo far from square, the whole photo (crop=False: the centre square only). Each is
    re-centred on the dial the reader's face locator finds; the reading is their mean
    distribution, unless the detector was unsure and another of its dials, read alone, is read surer
    (time_distribution), calibrated with the reader's temperature. An aligned reader also reads a dial where
    the `finder` finds twelve o'clock when that is a quarter turn or more away from where the reader's
    locator finds it (twelve.turned_reading; False: never). Uses `reader`, `detector` and `finder`
    (default: the shipped weights). Raises ValueError for images that cannot be read (see
    preprocess.open_image), for an empty box and for a box outside the photo.
    """
    reader = reader or load_default_reader()
    p, chains = time_distribution(image, reader, crop, box, detector, finder)
    alternatives = top_times(calibrated(p, reader_temperature(reader)), top_k)
    first = alternatives[0]
    window = (60 * first.hour + first.minute + np.arange(-WINDOW, WINDOW + 1)) % MINUTES
    _, face, dial, shape, turn = max(chains, key=lambda c: c[0][window].sum())  # the crop that agrees most
    return ClockReading(first.hour, first.minute, first.probability, alternatives, face, dial, shape, turn)


@torch.no_grad()
def time_distribution(image, reader, crop: bool = True, box=None, detector=None, finder=None) -> tuple:
    """Returns (uncalibrated (720,) probabilities over minutes since twelve, the chains it comes from) for a
    photo; see read_clock for the arguments and _read_chains for the chains.

    With crop and no box, each view's best detected dial is read (with the centre square and whole photo
    where the detector is unsure of it), and their mean is the reading unless one of the luminance view's
    CANDIDATES dials, read alone there, beats it (_best_candidate)."""
    photo = open_photo(image)
    views = range(len(photo.views))
    if box is not None:
        box = square_around(*box) if len(box) == 4 else tuple(box)
        (width, height), (left, top, side) = photo.size, box
        if side > 0 and not (left < width and top < height and left + side > 0 and top + side > 0):
            raise ValueError(f"the box (left {left:g}, top {top:g}, side {side:g}) lies outside the "
                             f"{width}x{height} photo")
        starts = [(box, "user", view) for view in views]
    elif crop:
        starts, candidates = [], []
        for view, (dials, sure) in enumerate(detected_dials(photo, detector, k=CANDIDATES)):
            best = dials[0]
            guesses = [] if best[3] >= DETECT_TRUSTED else start_boxes(photo)
            starts += [(b, source, view) for b, source in [*guesses, (_recentred_box(photo, best[:3]), "detected")]]
            if not (view or sure):  # the luminance view's dials: the best one's read; rivals only if they can win
                candidates = [best, *(dial for dial in dials[1:] if dial[3] >= CANDIDATE_LEAST_SCORE)]
                first = len(starts) - 1
        # The other dials are read in the same batch: in batches of their own they cost 45 ms more on a 12-MP
        # photo, and the twelve finder's pooling over all crops moved no reading of the dev photos.
        rivals = [(_recentred_box(photo, dial[:3]), "detected", 0) for dial in candidates[1:]]
        chains = _read_chains(reader, photo, starts + rivals, finder)
        mean = np.mean([c[0] for c in chains[:len(starts)]], axis=0)
        if not candidates:
            return mean, chains
        return _best_candidate(reader, mean, chains[:len(starts)], [chains[first], *chains[len(starts):]], candidates)
    else:
        starts = [(b, source, view) for b, source in start_boxes(photo, crop=False) for view in views]
    chains = _read_chains(reader, photo, starts, finder)
    return np.mean([c[0] for c in chains], axis=0), chains


def _best_candidate(reader, mean: np.ndarray, chains: list, rival_chains: list, candidates: list) -> tuple:
    """Returns (probabilities, chains): a candidate (cx, cy, r, score) dial's, read alone (rival_chains: one per
    candidate), if its score is CANDIDATE_LEAST_SCORE or more and its confidence times its score beats the
    confidence of `mean` (the usual reading, from `chains`); else (mean, chains). A wrong dial reads unsure, so
    the dial the reader is surest of wins."""
    temperature = reader_temperature(reader)

    def confidence(p):
        return top_times(calibrated(p, temperature), 1)[0].probability

    best, best_score = (mean, chains), confidence(mean)
    for (*_, score), chain in zip(candidates, rival_chains):
        if score >= CANDIDATE_LEAST_SCORE and confidence(chain[0]) * score > best_score:
            best, best_score = (chain[0], [chain]), confidence(chain[0]) * score
    return best


def detected_dials(photo: Photo, detector=None, k: int = 1) -> list:
    """Returns, for each view of the photo (Photo.views), (its distinct (cx, cy, r, score) dials in original pixels,
    best first as found before the closer look: up to k in the luminance view, the best one in each colour view;
    whether the detector is sure of that view's whole-photo best dial (DETECT_TRUSTED), and then that dial alone).

    A photo whose detector copy is under MIN_DETECT_SIDE pixels either way (a thin strip) has no dial found:
    one at its centre with score 0, so the centre square and whole photo are read. Where the detector is not
    sure, the view's corner tiles are searched too (detect.detect_in_tiles: small dials; each tile's best as many),
    and their dials join the whole view's unless they lie inside its best dial (a chronograph's sub-dial); each
    dial still unsure is looked at again, closer (zoomed_dials). The views go through the detector together,
    one batch per stage."""
    from genlab.clock.detect import detect_each, detect_in_tiles_each, distinct_dials

    counts = [k] + [1] * (len(photo.views) - 1)
    h, w = photo.gray.shape
    shrink = min(1.0, DETECT_SIDE / max(h, w))
    size = (max(1, round(w * shrink)), max(1, round(h * shrink)))
    if min(size) < MIN_DETECT_SIDE:  # a strip too thin for the detector: no dial found
        return [([(w / 2 / photo.scale, h / 2 / photo.scale, min(w, h) / 2 / photo.scale, 0.0)], False)] * len(counts)
    smalls = [np.asarray(Image.fromarray(gray).resize(size, Image.BILINEAR)) for gray in photo.views]
    found = detect_each(smalls, detector, counts)
    sure = [dials[0][3] >= DETECT_TRUSTED for dials in found]
    unsure = [view for view, is_sure in enumerate(sure) if not is_sure]
    tiled = detect_in_tiles_each([smalls[view] for view in unsure], detector, [counts[view] for view in unsure])
    for view, tile_dials in zip(unsure, tiled):
        x, y, radius, _ = found[view][0]
        found[view] += [dial for dial in tile_dials
                        if not (np.hypot(dial[0] - x, dial[1] - y) < radius and dial[2] < radius)]
    per_view = [[(*(v / shrink for v in dial[:3]), dial[3])  # in the views' pixels
                 for dial in distinct_dials(dials[:1] if is_sure else dials, n)]
                for dials, is_sure, n in zip(found, sure, counts)]
    unsure_dials = [(view, i) for view, dials in enumerate(per_view) for i, dial in enumerate(dials)
                    if dial[3] < DETECT_TRUSTED]
    closer = zoomed_dials([photo.views[view] for view, _ in unsure_dials],
                          [per_view[view][i] for view, i in unsure_dials], detector)
    for (view, i), dial in zip(unsure_dials, closer):
        per_view[view][i] = dial
    return [([(cx / photo.scale, cy / photo.scale, r / photo.scale, score) for cx, cy, r, score in dials], is_sure)
            for dials, is_sure in zip(per_view, sure)]


def zoomed_dials(grays: list, dials: list, detector=None) -> list:
    """Returns each (cx, cy, r, score) dial of a grayscale view (grays: one per dial) found again in the square
    reaching DETECT_ZOOM of its radii from its centre, if the detector is sure of it there (DETECT_TRUSTED) and it is
    the same dial (its centre within the first one's radius, and not bigger); else the dial as it was. All dials'
    squares go through the detector in one batch per step.

    A clock across a room is a few pixels wide in the detector's 128-px view of the whole photo, where it
    scores low and its size is guessed too big; looked at closer, it is seen as the training scenes show dials.
    """
    from genlab.clock.detect import detect_each

    found = list(dials)
    looking = {i: dial[:3] for i, dial in enumerate(dials)}  # where each dial not yet found sure is looked at
    for _ in range(ZOOM_STEPS):
        squares, corners = [], {}
        for i, (cx, cy, r) in looking.items():
            h, w = grays[i].shape
            left, top = int(max(0, cx - DETECT_ZOOM * r)), int(max(0, cy - DETECT_ZOOM * r))
            square = grays[i][top:int(min(h, cy + DETECT_ZOOM * r + 1)), left:int(min(w, cx + DETECT_ZOOM * r + 1))]
            if min(square.shape) >= 16:
                squares.append(square)
                corners[i] = left, top
        if not squares:
            break
        seen = detect_each(squares, detector, 1)
        last, looking = looking, {}
        for (i, (left, top)), ((x, y, radius, score), *_) in zip(corners.items(), seen):
            cx, cy, r = last[i]
            x, y = x + left, y + top
            if not (np.hypot(x - cx, y - cy) < r and radius < 1.4 * r):
                continue
            if score >= DETECT_TRUSTED:
                found[i] = (x, y, radius, score)
            else:
                looking[i] = (x, y, radius)
    return found


def reader_temperature(reader) -> float:
    """Returns the calibration temperature a reader was saved with (1.0: none)."""
    return getattr(getattr(reader, "config", None), "temperature", 1.0)


# fit_temperature's candidates, and the share of its fitting clocks' misreads (> 10 min off) allowed to claim
# SURE_CONFIDENCE or more: half the real-photos issue's 10%, since photos are harder than any synthetic set.
TEMPERATURES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0, 4.0)
MOST_SURE_MISREADS = 0.05


def fit_temperature(probabilities: np.ndarray, true_minutes: np.ndarray, temperatures=TEMPERATURES,
                    most_sure_misreads: float = MOST_SURE_MISREADS) -> float:
    """Returns the temperature whose confidences best predict "within 10 minutes", among those that leave at most
    `most_sure_misreads` of the misreads claiming SURE_CONFIDENCE or more (else the one leaving the fewest).

    probabilities: (N, 720) uncalibrated readings of N clocks (time_distribution), true_minutes (N,)
    0..719. The score is the Brier score of each reading's confidence (read_clock's: the mass within
    +-WINDOW minutes of the top time) against whether that time is within 10 minutes of the truth:
    the confidence users see is what is calibrated (a likelihood over 720 minutes would be ruled by
    the far-off misreads). Fitted on synthetic clocks as easy as the training clocks, the best Brier score
    sharpened so much that half the misreads of real photos claimed 0.8 or more; the cap on sure misreads keeps
    the sharpening to what the fitting set's misreads allow (docs/clock_reader.md, "A temperature fitted on
    synthetic scenes").
    """
    p = np.asarray(probabilities, np.float64)
    true = np.asarray(true_minutes)
    scores, sure_misreads = [], []
    for t in temperatures:
        tops = [top_times(q, 1)[0] for q in calibrated(p, t)]
        confidence = np.array([a.probability for a in tops])
        right = common_sense_error(true, np.array([60 * a.hour + a.minute for a in tops])) <= 10
        scores.append(np.mean((confidence - right) ** 2))
        sure_misreads.append(np.mean(confidence[~right] >= SURE_CONFIDENCE) if (~right).any() else 0.0)
    allowed = [i for i, share in enumerate(sure_misreads) if share <= most_sure_misreads]
    best = (min(allowed, key=lambda i: scores[i]) if allowed else
            min(range(len(scores)), key=lambda i: (sure_misreads[i], scores[i])))
    return float(temperatures[best])


def _face_on_matrix(reading: ClockReading) -> np.ndarray:
    """Returns the 2x2 matrix taking a point of the dial seen face-on and upright (unit radius, y down) to its offset
    from the dial's centre in units of reading.dial's r: the identity for a round, upright dial; for an elliptic one,
    its ellipse (models.ellipse_matrix) over its long half axis, which is what r measures, after its turn."""
    turned = rotation_matrix(torch.tensor([reading.turn], dtype=torch.float64))[0].numpy()
    if reading.shape is None:
        return turned
    return ellipse_matrix(torch.tensor([reading.shape]))[0].numpy() @ turned / _long_axis(reading.shape)


def face_on(reading: ClockReading, size: int = 150) -> np.ndarray:
    """Returns (size, size) uint8: the located dial of reading.face turned face-on, framed as the reader frames a
    dial (MARGIN); a dial read as an ellipse (reading.shape) becomes round again, as the reader unwraps it. Without
    a located dial, the crop itself."""
    face = reading.face
    if reading.dial is None:
        return face.image
    left, top, side = face.box
    pixels = face.image.shape[0] / side  # crop pixels per original pixel
    cx, cy, r = reading.dial
    m = _face_on_matrix(reading) * r * pixels
    # output pixel (x, y) -> face-on point (u, v) = start + step * (x, y) -> crop pixel (x0, y0) + m @ (u, v)
    step, start = 2 * MARGIN / size, -MARGIN + MARGIN / size
    x0, y0 = (cx - left) * pixels, (cy - top) * pixels
    coefficients = (m[0, 0] * step, m[0, 1] * step, x0 + (m[0, 0] + m[0, 1]) * start,
                    m[1, 0] * step, m[1, 1] * step, y0 + (m[1, 0] + m[1, 1]) * start)
    image = Image.fromarray(face.image).transform((size, size), Image.AFFINE, coefficients, Image.BILINEAR)
    return np.asarray(image)


def draw_reading(reading: ClockReading, max_side: int = 400) -> Image.Image:
    """Returns the upright photo around the read crop (scaled to max_side) with the read hands drawn on it.

    Red: hour hand, blue: minute hand, drawn from the located dial's centre; a yellow ring marks
    the dial only where the reader located one (else the hands start at the crop's centre). On a
    dial located as an ellipse (reading.shape) the ring and the hands follow the ellipse.
    """
    face = reading.face
    scale = face.scale
    left, top, side = (v * scale for v in face.box)
    pad = 0.3 * side  # show a little of the surroundings, not the whole (maybe huge) photo
    region = (max(0, left - pad), max(0, top - pad),
              min(face.photo.width, left + side + pad), min(face.photo.height, top + side + pad))
    region = tuple(round(v) for v in region)
    photo = face.photo.crop(region)
    zoom = max_side / max(photo.size)
    photo = photo.resize((max(1, round(photo.width * zoom)), max(1, round(photo.height * zoom))), Image.BILINEAR)
    if reading.dial is not None:
        dial_x, dial_y, dial_r = (v * scale for v in reading.dial)
    else:
        dial_x, dial_y, dial_r = left + side / 2, top + side / 2, side / 2 / MARGIN
    cx, cy, r = (dial_x - region[0]) * zoom, (dial_y - region[1]) * zoom, dial_r * zoom
    squash = _face_on_matrix(reading)  # where a point (x, y) of the dial seen face-on lies in the drawing

    def at(x, y):
        dx, dy = squash @ (x, y)
        return cx + r * dx, cy + r * dy

    draw = ImageDraw.Draw(photo)
    hour_deg, minute_deg = hand_angles(reading.hour, reading.minute)
    for angle, length, width, colour in ((hour_deg, 0.5, 0.07, (255, 60, 60)), (minute_deg, 0.8, 0.04, (40, 140, 255))):
        a = np.deg2rad(angle)
        draw.line([(cx, cy), at(length * np.sin(a), -length * np.cos(a))], fill=colour, width=max(2, int(width * r)))
    dot = max(3, 0.05 * r)
    draw.ellipse([cx - dot, cy - dot, cx + dot, cy + dot], fill=YELLOW)
    if reading.dial is not None:
        rim = [at(np.cos(t), np.sin(t)) for t in np.linspace(0, 2 * np.pi, 73)]
        width = max(3, int(0.02 * r))
        draw.line(rim, fill=(0, 0, 0), width=width + 2, joint="curve")  # a dark edge: seen on a gold or yellow dial too
        draw.line(rim, fill=YELLOW, width=width, joint="curve")
    return photo
