"""Telling the time: `read_clock(image) -> ClockReading`.

    from genlab.clock import read_clock
    reading = read_clock("kitchen.jpg")
    reading.text, reading.confidence, [a.text for a in reading.alternatives]   # "3:41", 0.87, [...]
"""

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw

from genlab.clock.models import MINUTES
from genlab.clock.preprocess import MARGIN, Face, face_candidates
from genlab.clock.synth import hand_angles
from genlab.paths import WEIGHTS_DIR

WEIGHTS_PATH = WEIGHTS_DIR / "clock_reader.safetensors"
WINDOW = 2  # a reading's probability is the mass within +-WINDOW minutes of it
SEPARATION = 10  # alternatives are at least this many minutes from each other
SURE_CONFIDENCE = 0.8  # a reading is "sure" at this calibrated confidence or more


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
    face: Face | None = None
    dial: tuple | None = None  # (cx, cy, r) of the dial in photo pixels, as a face reader located it

    @property
    def text(self) -> str:
        return format_time(self.hour, self.minute)

    @property
    def sure(self) -> bool:
        """Whether the reading is confident enough to state without alternatives (SURE_CONFIDENCE)."""
        return self.confidence >= SURE_CONFIDENCE


@lru_cache(maxsize=4)
def load_default_reader(path=None):
    """Returns the shipped reader (weights/clock_reader.safetensors) or the one at path, cached."""
    from genlab.clock.train import load_reader

    return load_reader(path or WEIGHTS_PATH)


def top_times(probabilities: np.ndarray, k: int = 3) -> list:
    """Returns up to k Alternatives from (720,) probabilities: peaks at least SEPARATION minutes apart."""
    p = np.asarray(probabilities, np.float64)
    offsets = np.arange(-WINDOW, WINDOW + 1)
    mass = sum(np.roll(p, -o) for o in offsets)  # mass[t] = p[t - WINDOW .. t + WINDOW]
    remaining = mass + 1e-6 * p  # ties in window mass go to the most probable minute
    found = []
    for _ in range(k):
        t = int(remaining.argmax())
        if remaining[t] <= 0 and found:
            break
        found.append(Alternative(t // 60, t % 60, float(mass[t])))
        blocked = (t + np.arange(-SEPARATION + 1, SEPARATION)) % MINUTES
        remaining[blocked] = -1
    return found


@torch.no_grad()
def read_clock(image, reader=None, top_k: int = 3, crop: bool = True) -> ClockReading:
    """Returns the ClockReading of a clock photo: a path, bytes, file object, PIL image or uint8 array.

    The photo is turned upright and grayscale; with crop=True the reader reads the detected
    face circle and centre crops of three sizes and keeps the most confident reading (crop=False:
    the centre square only). Uses `reader` (default: the shipped weights). Raises ValueError
    for images that cannot be read (see preprocess.open_image).
    """
    from genlab.clock.train import predict_probabilities, prepare

    reader = reader or load_default_reader()
    faces = face_candidates(image, crop=crop)
    probs = predict_probabilities(reader, np.stack([f.image for f in faces]))
    readings = [top_times(p.numpy(), top_k) for p in probs]
    best = max(range(len(faces)), key=lambda i: readings[i][0].probability)
    first = readings[best][0]
    dial = None
    if getattr(reader, "locator", None) is not None:  # trunk "face": where it found the dial in the crop
        cx, cy, r = reader.locate(prepare(faces[best].image[None], reader.config.input_size, reader.config.gamma))[0].tolist()
        left, top, side = faces[best].box
        dial = (left + (cx + 1) / 2 * side, top + (cy + 1) / 2 * side, r / 2 * side)
    return ClockReading(first.hour, first.minute, first.probability, readings[best], faces[best], dial)


def draw_reading(reading: ClockReading, max_side: int = 400) -> Image.Image:
    """Returns the upright photo around the face (scaled to max_side) with the read hands drawn on it.

    Red: hour hand, blue: minute hand, drawn from the located dial's centre when the reader
    found one (else the crop's); a yellow ring marks the located dial or a detected face circle.
    """
    face = reading.face
    left, top, side = face.box
    pad = 0.3 * side  # show a little of the surroundings, not the whole (maybe huge) photo
    region = (max(0, left - pad), max(0, top - pad),
              min(face.photo.width, left + side + pad), min(face.photo.height, top + side + pad))
    photo = face.photo.crop(tuple(round(v) for v in region))
    scale = max_side / max(photo.size)
    photo = photo.resize((max(1, round(photo.width * scale)), max(1, round(photo.height * scale))), Image.BILINEAR)
    dial_x, dial_y, dial_r = reading.dial or (left + side / 2, top + side / 2, side / 2 / MARGIN)
    cx, cy, r = (dial_x - round(region[0])) * scale, (dial_y - round(region[1])) * scale, dial_r * scale
    draw = ImageDraw.Draw(photo)
    hour_deg, minute_deg = hand_angles(reading.hour, reading.minute)
    for angle, length, width, colour in ((hour_deg, 0.5, 0.07, (255, 60, 60)), (minute_deg, 0.8, 0.04, (40, 140, 255))):
        a = np.deg2rad(angle)
        draw.line([(cx, cy), (cx + length * r * np.sin(a), cy - length * r * np.cos(a))],
                  fill=colour, width=max(2, int(width * r)))
    dot = max(3, 0.05 * r)
    draw.ellipse([cx - dot, cy - dot, cx + dot, cy + dot], fill=(255, 200, 0))
    if face.found_circle or reading.dial:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(255, 200, 0), width=max(1, int(0.015 * r)))
    return photo
