"""Finding clock dials in whole photos: a small CenterNet-style CNN trained on synthetic scenes.

    from genlab.clock.detect import detect_dials
    dials = detect_dials(gray)   # gray: (H, W) uint8 photo -> [(cx, cy, r, score), ...] best first

The photo's long side is resized to DETECT_SIDE and the rest padded with its median grey
(`letterbox`). The network gives, on a grid of STRIDE-pixel cells, a dial-centre heatmap
(sigmoid: how likely a dial's centre lies in the cell), the dial radius (log, in cells) and the
centre's offset inside the cell. Detections are heatmap peaks (3x3 maximum), then distinct dials
(a peak whose centre lies inside a better dial's inner half is dropped).

Training data (`make_detection_scenes`): genlab.clock.synth clocks pasted at any size and place
(dial radius 4% to 65% of the short side, so close-ups overflow the frame) into wall/wood/clutter
backgrounds of aspect 4:3, 3:4, 1:1 or 16:9, with plates, rings, wheels and frames as distractors,
0 to 2 clocks per scene, and whole-scene lighting, blur, noise and JPEG.

    python -m genlab clock train-detector --steps 2000   # -> weights/clock_detector.safetensors
"""

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter
from torch import nn

from genlab import checkpoint_file
from genlab.clock import synth
from genlab.clock.models import for_reading
from genlab.paths import WEIGHTS_DIR
from genlab.train.callbacks import optimise_step

DETECT_SIDE = 128  # the network's square input side (photo's long side resized to it)
STRIDE = 4  # input pixels per output cell
FORMAT = checkpoint_file.CLOCK_DETECTOR
DETECTOR_PATH = WEIGHTS_DIR / "clock_detector.safetensors"
ASPECTS = ((4, 3), (3, 4), (1, 1), (16, 9))  # (width, height) of the synthetic scenes
MAX_DIALS = 2  # most clocks in one synthetic scene
MIN_RADIUS = 3.0  # smallest dial radius (input pixels) drawn in a training scene
SCENE_VERSION = 1  # bump when render_scene changes: cached scene files carry it
SUPPRESS = 0.5  # a peak within SUPPRESS * r of a better dial's centre is the same dial
TILE = 0.6  # detect_in_tiles: each tile's share of the photo's width and height


# ---------------------------------------------------------------- input


def letterbox(gray: np.ndarray, side: int = DETECT_SIDE) -> tuple:
    """Returns (square (side, side) uint8 image, scale, left, top): the photo's long side resized to side.

    The resized photo is centred in the square, the rest is its median grey; a photo pixel
    (x, y) lands at (left + scale * x, top + scale * y).
    """
    if not isinstance(gray, np.ndarray) or gray.dtype != np.uint8 or gray.ndim != 2:
        shape = getattr(gray, "shape", None)
        raise ValueError(f"expected a (H, W) uint8 grayscale photo, got {getattr(gray, 'dtype', type(gray))} {shape}")
    h, w = gray.shape
    if min(h, w) < 8:
        raise ValueError(f"photo too small to search for a clock: {w}x{h} pixels")
    scale = side / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(Image.fromarray(gray).resize((new_w, new_h), Image.BILINEAR, reducing_gap=2.0))
    out = np.full((side, side), int(np.median(small)), np.uint8)
    left, top = (side - new_w) // 2, (side - new_h) // 2
    out[top:top + new_h, left:left + new_w] = small
    return out, scale, left, top


# ---------------------------------------------------------------- network


def _conv(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class DialDetector(nn.Module):
    """CenterNet-style dial detector: x (B, 1, S, S) as to_input gives it -> (B, 4, S/STRIDE, S/STRIDE).

    Output channels: centre logit, log radius in cells, x and y offset of the centre in its cell
    (0..1). A stride-16 stage with global context sees close-ups that fill the frame; a
    top-down path brings it back to stride 4 for small dials.
    """

    def __init__(self, width: int = 12):
        super().__init__()
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 6 * width
        self.width = width
        self.stem = _conv(1, c1, 2)  # /2
        self.down4 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))  # /4
        self.down8 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))  # /8
        self.down16 = nn.Sequential(_conv(c3, c4, 2), _conv(c4, c4), _conv(c4, c4))  # /16
        self.context = nn.Linear(c4, c4)
        self.lateral16 = nn.Conv2d(c4, c3, 1)
        self.up8 = _conv(c3, c3)
        self.lateral8 = nn.Conv2d(c3, c2, 1)
        self.up4 = _conv(c2, c2)
        self.head = nn.Conv2d(c2, 4, 1)
        nn.init.constant_(self.head.bias, 0.0)
        with torch.no_grad():
            self.head.bias[0] = -4.0  # start near "no dial anywhere" (CenterNet's prior)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f4 = self.down4(self.stem(x))
        f8 = self.down8(f4)
        f16 = self.down16(f8)
        f16 = f16 + self.context(f16.mean((2, 3)))[:, :, None, None]
        p8 = self.up8(f8 + F.interpolate(self.lateral16(f16), size=f8.shape[-2:], mode="nearest"))
        p4 = self.up4(f4 + F.interpolate(self.lateral8(p8), size=f4.shape[-2:], mode="nearest"))
        return self.head(p4)


def to_input(squares: np.ndarray) -> torch.Tensor:
    """Returns (N, 1, S, S) float32 for (N, S, S) uint8 squares, each normalised to mean 0.5 and std 0.25."""
    x = torch.from_numpy(np.ascontiguousarray(squares)).float()[:, None] / 255
    mean = x.mean((2, 3), keepdim=True)
    std = x.std((2, 3), keepdim=True).clamp_min(0.05)
    return (x - mean) / std * 0.25 + 0.5  # same exposure for dark and bright photos


# ---------------------------------------------------------------- decoding


def decode(output: torch.Tensor, k: int) -> list:
    """Returns up to k distinct (cx, cy, r, score) in input pixels from one (4, G, G) network output, best first."""
    return decode_each(output[None], k)[0]


@torch.no_grad()
def decode_each(outputs: torch.Tensor, k=1) -> list:
    """Returns decode of each of (B, 4, G, G) network outputs, at once; k: an int, or one per output."""
    ks = _per_photo(k, len(outputs))
    heat = torch.sigmoid(outputs[:, 0])
    peaks = heat * (F.max_pool2d(heat[:, None], 3, 1, 1)[:, 0] == heat)
    grid = heat.shape[-1]
    scores, flat = peaks.flatten(1).topk(min(grid * grid, 8 * max(ks, default=1) + 8), dim=1)
    cells = outputs.flatten(2).gather(2, flat[:, None].expand(-1, 4, -1)).double()  # (B, 4, peaks), as Python floats
    cx = (flat % grid + cells[:, 2].clamp(0, 1)) * STRIDE
    cy = (flat // grid + cells[:, 3].clamp(0, 1)) * STRIDE
    r = cells[:, 1].clamp(-3, 6).exp() * STRIDE
    found = []
    for n, *rows in zip(ks, cx.tolist(), cy.tolist(), r.tolist(), scores.tolist()):
        dials = list(zip(*(row[:8 * n + 8] for row in rows)))
        found.append(distinct_dials([dial for dial in dials if dial[3] > 0], n))  # not a local maximum: score 0
    return found


def _per_photo(k, n: int) -> list:
    """Returns how many dials to find in each of n photos, from an int (the same for all) or one int per photo."""
    ks = [k] * n if isinstance(k, int) else list(k)
    if len(ks) != n or min(ks, default=1) < 1:
        raise ValueError(f"k must be at least 1 for each of the {n} photos, got {k}")
    return ks


def distinct_dials(dials: list, k: int) -> list:
    """Returns up to k of (cx, cy, r, score) dials, best first, leaving out any whose centre lies within
    SUPPRESS of the larger radius from a better one's (the same dial found twice)."""
    kept = []
    for dial in sorted(dials, key=lambda d: -d[3]):
        if not any(math.hypot(dial[0] - x, dial[1] - y) < SUPPRESS * max(dial[2], r) for x, y, r, _ in kept):
            kept.append(dial)
            if len(kept) == k:
                break
    return kept


def detect_dials(gray: np.ndarray, detector: nn.Module | None = None, k: int = 3) -> list:
    """Returns up to k (cx, cy, r, score) dials in the photo's pixels, best first.

    gray: (H, W) uint8 photo of any size and aspect (pass a copy with long side ~256 px for
    speed: it is resized to DETECT_SIDE anyway). r is the dial radius in photo pixels, score
    in [0, 1] how likely that is a clock dial. detector=None uses the shipped weights.
    """
    return detect_each([gray], detector, k)[0]


def detect_in_tiles(gray: np.ndarray, detector: nn.Module | None = None, k: int = 1) -> list:
    """Returns up to k (cx, cy, r, score) dials per tile, in the photo's pixels, best first: the photo
    is searched in four overlapping corner tiles, each TILE of its width and height, so a small dial
    (a clock across a room, a watch on a wrist) is seen 1/TILE times bigger than in the whole photo.
    A dial with radius up to (2 * TILE - 1) / 2 of the short side lies whole in one tile."""
    return detect_in_tiles_each([gray], detector, k)[0]


def detect_in_tiles_each(grays: list, detector: nn.Module | None = None, k=1) -> list:
    """Returns detect_in_tiles of each (H, W) uint8 photo, all their tiles in one batch; k: an int, or one per photo."""
    ks = _per_photo(k, len(grays))
    tiles, corners = [], []
    for gray in grays:
        h, w = gray.shape
        tile_h, tile_w = round(TILE * h), round(TILE * w)
        corners.append([(left, top) for top in (0, h - tile_h) for left in (0, w - tile_w)])
        tiles += [gray[top:top + tile_h, left:left + tile_w] for left, top in corners[-1]]
    found = iter(detect_each(tiles, detector, [n for n in ks for _ in range(4)]))
    return [sorted(((cx + left, cy + top, r, score) for left, top in photo_corners
                    for cx, cy, r, score in next(found)), key=lambda dial: -dial[3])
            for photo_corners in corners]


def detect_each(grays: list, detector: nn.Module | None, k=1) -> list:
    """Returns, for each (H, W) uint8 photo, up to k (cx, cy, r, score) dials in its pixels, best first
    (detect_dials); k: an int, or one per photo. The photos go through the network in one batch."""
    ks = _per_photo(k, len(grays))
    if not grays:
        return []
    boxes = [letterbox(gray) for gray in grays]
    model = detector if detector is not None else default_detector()
    with torch.no_grad():
        outputs = model(to_input(np.stack([square for square, *_ in boxes])))
    return [[((cx - left) / scale, (cy - top) / scale, r / scale, score) for cx, cy, r, score in dials]
            for (_, scale, left, top), dials in zip(boxes, decode_each(outputs, ks))]


# ---------------------------------------------------------------- synthetic scenes


def _paste_clock(scene: Image.Image, rng, cx: float, cy: float, r: float) -> tuple:
    """Draws a synth clock whose dial is centred at (cx, cy) with radius about r; returns its dial (cx, cy, r)."""
    # Render small (cheap) and scale: a clock image of side s has a dial radius of 0.3-0.47 s.
    size = int(np.clip(2.6 * r, 24, 150))
    clock, (fx, fy, fr, _) = synth.render_clock_and_face(*synth.random_time(rng), rng, size)
    patch = Image.fromarray(clock)
    # Foreshortening beyond synth's: squash along a random axis (the dial becomes an ellipse).
    a = np.eye(2)
    if rng.random() < 0.35:
        t = rng.uniform(0, np.pi)
        u = np.array([np.cos(t), np.sin(t)])
        a = a - (1 - rng.uniform(0.5, 0.9)) * np.outer(u, u)
    zoom = r / fr
    a = a * zoom
    circle = np.stack([np.cos(np.linspace(0, 2 * np.pi, 16, endpoint=False)),
                       np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))])
    radius = float(np.linalg.norm(a @ circle * fr, axis=0).mean())
    # Mask: the dial plus part of its bezel, soft-edged; sometimes the whole square (a framed photo).
    mask = Image.new("L", (size, size), 0)
    if rng.random() < 0.15:
        mask.paste(255, (0, 0, size, size))
    else:
        reach = min(fr * rng.uniform(1.02, 1.25), fx, fy, size - fx, size - fy)
        ImageDraw.Draw(mask).ellipse([fx - reach, fy - reach, fx + reach, fy + reach], fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(0.7))
    # Affine map from scene pixels back to clock pixels: p_clock = A^-1 (p_scene - c) + f.
    inv = np.linalg.inv(a)
    offset = np.array([fx, fy]) - inv @ np.array([cx, cy])
    coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
    w, h = scene.size
    warped = patch.transform((w, h), Image.AFFINE, coeffs, Image.BILINEAR)
    warped_mask = mask.transform((w, h), Image.AFFINE, coeffs, Image.BILINEAR)
    scene.paste(warped, (0, 0), warped_mask)
    return cx, cy, radius


def _distractors(draw: ImageDraw.ImageDraw, rng, w: int, h: int) -> None:
    """Draws round things that are not clocks (plates, rings, wheels, lamps) and frames."""
    short = min(w, h)
    for _ in range(rng.integers(0, 5)):
        r = short * math.exp(rng.uniform(math.log(0.04), math.log(0.5)))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        ry = r * rng.uniform(0.4, 1.0) if rng.random() < 0.5 else r
        box = [cx - r, cy - ry, cx + r, cy + ry]
        shade, other = int(rng.uniform(0, 255)), int(rng.uniform(0, 255))
        kind = rng.integers(5)
        if kind == 0:  # plate: filled disc with a rim
            draw.ellipse(box, fill=shade, outline=other, width=max(1, int(r * rng.uniform(0.03, 0.15))))
        elif kind == 1:  # ring
            draw.ellipse(box, outline=shade, width=max(1, int(r * rng.uniform(0.05, 0.3))))
        elif kind == 2:  # wheel: ring and spokes
            draw.ellipse(box, outline=shade, width=max(1, int(r * 0.12)))
            for t in np.linspace(0, np.pi, int(rng.integers(2, 7)), endpoint=False) + rng.uniform(0, np.pi):
                dx, dy = r * math.cos(t), ry * math.sin(t)
                draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=shade, width=max(1, int(r * 0.06)))
        elif kind == 3:  # frame / picture / window
            rw = r * rng.uniform(0.8, 2.0)
            draw.rectangle([cx - rw, cy - r, cx + rw, cy + r], fill=shade, outline=other,
                           width=max(1, int(r * rng.uniform(0.05, 0.2))))
        else:  # concentric discs (a lamp, a target, a knob)
            for f in (1.0, rng.uniform(0.4, 0.8), rng.uniform(0.1, 0.35)):
                draw.ellipse([cx - r * f, cy - ry * f, cx + r * f, cy + ry * f], fill=int(rng.uniform(0, 255)))


def _dial_radius(rng, short: int) -> float:
    """Returns a dial radius in pixels: close-ups (often overflowing the frame) or any size log-uniformly."""
    if rng.random() < 0.4:
        return short * rng.uniform(0.3, 0.65)
    return max(MIN_RADIUS, short * math.exp(rng.uniform(math.log(0.04), math.log(0.5))))


def render_scene(rng, side: int = DETECT_SIDE) -> tuple:
    """Returns (photo (H, W) uint8 with long side `side`, dials (n, 3) float32 [cx, cy, r]) of one synthetic scene."""
    aw, ah = ASPECTS[rng.integers(len(ASPECTS))]
    w, h = (side, round(side * ah / aw)) if aw >= ah else (round(side * aw / ah), side)
    scene = synth.background_scene(rng, h, w)
    draw = ImageDraw.Draw(scene)
    _distractors(draw, rng, w, h)
    n = rng.choice([0, 1, 2], p=[0.15, 0.7, 0.15])
    dials = []
    for _ in range(n):
        r = _dial_radius(rng, min(w, h)) if not dials else max(MIN_RADIUS, min(w, h) * rng.uniform(0.04, 0.3))
        # The centre stays in the frame; a big dial can overflow it.
        margin = min(r * 0.9, 0.5 * min(w, h) - 1)
        cx, cy = rng.uniform(margin, w - margin), rng.uniform(margin, h - margin)
        if any(math.hypot(cx - x, cy - y) < r + q for x, y, q in dials):
            continue  # keep two clocks apart
        dials.append(_paste_clock(scene, rng, cx, cy, r))
    if rng.random() < 0.2:  # things in front of the clocks
        _distractors(ImageDraw.Draw(scene), rng, w, h)
    x = np.asarray(scene, np.float32)
    if rng.random() < 0.4:
        x = np.asarray(Image.fromarray(x.astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))),
                       np.float32)
    gain = rng.uniform(0.3, 1.2)
    x = (x - x.mean()) * rng.uniform(0.5, 1.2) + x.mean() * gain
    x = x + rng.uniform(0, 12) * rng.standard_normal(x.shape, np.float32)
    photo = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        photo = synth.jpeg_copy(photo, int(rng.uniform(20, 90)))
    return np.asarray(photo, np.uint8), np.array(dials, np.float32).reshape(-1, 3)


def make_detection_scenes(n: int, seed: int, side: int = DETECT_SIDE, progress=None) -> tuple:
    """Returns (squares (n, side, side) uint8, dials (n, MAX_DIALS, 4) float32 [cx, cy, r, present]) in square pixels.

    Scene i depends only on (seed, i). Each scene is letterboxed like detect_dials' input.
    """
    squares = np.empty((n, side, side), np.uint8)
    dials = np.zeros((n, MAX_DIALS, 4), np.float32)
    for i in range(n):
        photo, found = render_scene(np.random.default_rng([seed, i, 7]), side)
        squares[i], scale, left, top = letterbox(photo, side)
        for j, (cx, cy, r) in enumerate(found):
            dials[i, j] = (left + scale * cx, top + scale * cy, scale * r, 1)
        if progress is not None and (i + 1) % 500 == 0:
            progress(i + 1, n)
    return squares, dials


def cached_detection_scenes(n: int, seed: int, progress=None) -> tuple:
    """Returns make_detection_scenes(n, seed), kept as .npy files in the genlab cache folder."""
    from genlab.paths import cache_dir

    stem = (
        cache_dir() / "clock" / f"detect_v{synth.GENERATOR_VERSION}.{SCENE_VERSION}_seed{seed}_n{n}_side{DETECT_SIDE}"
    )
    paths = [Path(f"{stem}_{part}.npy") for part in ("squares", "dials")]
    if all(p.exists() for p in paths):
        return tuple(np.load(p) for p in paths)
    arrays = make_detection_scenes(n, seed, progress=progress)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for p, array in zip(paths, arrays):
        np.save(p, array)
    return arrays


# ---------------------------------------------------------------- training


def targets(dials: torch.Tensor, grid: int) -> tuple:
    """Returns (heatmap (B, G, G), cells (B, D) flat index, sizes (B, D, 3) [log r, dx, dy], present (B, D)).

    The heatmap is a Gaussian around each dial's centre cell, its spread growing with the radius.
    """
    b, d = dials.shape[:2]
    cx, cy, r, present = dials.unbind(-1)
    gx, gy = cx / STRIDE, cy / STRIDE
    i = gy.floor().clamp(0, grid - 1)
    j = gx.floor().clamp(0, grid - 1)
    sigma = (r / STRIDE / 6).clamp(0.6, 4.0)
    ys = torch.arange(grid, dtype=torch.float32)
    dy = (ys[None, None, :] - i[..., None]) ** 2  # (B, D, G)
    dx = (ys[None, None, :] - j[..., None]) ** 2
    blob = torch.exp(-(dy[..., :, None] + dx[..., None, :]) / (2 * sigma[..., None, None] ** 2))
    heat = (blob * present[..., None, None]).amax(1)
    sizes = torch.stack([torch.log(r.clamp_min(1) / STRIDE), gx - j, gy - i], -1)
    return heat, (i * grid + j).long(), sizes, present


def detection_loss(output: torch.Tensor, dials: torch.Tensor) -> torch.Tensor:
    """Returns CenterNet's loss: penalty-reduced focal loss on the heatmap + L1 on log radius and offsets at centres."""
    grid = output.shape[-1]
    heat, cells, sizes, present = targets(dials, grid)
    p = torch.sigmoid(output[:, 0]).clamp(1e-4, 1 - 1e-4)
    positive = heat > 0.999
    pos_loss = -((1 - p) ** 2 * torch.log(p))[positive].sum()
    neg_loss = -((1 - heat) ** 4 * p ** 2 * torch.log(1 - p))[~positive].sum()
    n = present.sum().clamp_min(1)
    regress = output[:, 1:].flatten(2)  # (B, 3, G*G)
    picked = regress.gather(2, cells[:, None, :].expand(-1, 3, -1)).transpose(1, 2)  # (B, D, 3)
    size_loss = ((picked - sizes).abs().sum(-1) * present).sum()
    return (pos_loss + neg_loss + size_loss) / n


def train_detector(steps: int = 3000, n_scenes: int = 20000, seed: int = 0, batch_size: int = 32, lr: float = 3e-3,
                   width: int = 12, on_progress=None, stop_event=None, progress=None) -> nn.Module:
    """Returns a DialDetector trained (AdamW, one-cycle) on cached synthetic scenes (seed), with mirror augmentation.

    on_progress(Progress) hears every step, stop_event stops after the current one (genlab.train.callbacks:
    one epoch of `steps` steps); progress(done, total) reports scene generation.
    """
    if steps < 1 or n_scenes < 1 or batch_size < 1:
        raise ValueError(f"need steps, n_scenes and batch_size >= 1, got {steps}, {n_scenes}, {batch_size}")
    squares, dials = cached_detection_scenes(n_scenes, seed, progress)
    torch.manual_seed(seed)
    model = DialDetector(width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 2), pct_start=0.1)
    generator = np.random.default_rng(seed)
    all_dials = torch.from_numpy(dials)
    model.train()
    for step in range(steps):
        idx = generator.integers(len(squares), size=batch_size)
        x, y = to_input(squares[idx]), all_dials[idx].clone()
        flip = torch.from_numpy(generator.random(batch_size) < 0.5)
        x[flip] = x[flip].flip(-1)
        y[flip, :, 0] = DETECT_SIDE - y[flip, :, 0]
        loss = detection_loss(model(x), y)
        if optimise_step(loss, optimizer, schedule, step + 1, steps, on_progress, stop_event):
            break
    model.trained_on = {"source": "synthetic scenes", "n": n_scenes, "seed": seed, "steps": steps,
                        "scene_version": SCENE_VERSION, "generator_version": synth.GENERATOR_VERSION}
    return model.eval()


# ---------------------------------------------------------------- evaluation


def hits(found: list, dials: np.ndarray, centre_tol: float = 0.25, radius_tol: float = 0.25) -> bool:
    """Returns whether the top detection matches a true dial: centre within centre_tol * r, radius within radius_tol.

    found: detect_dials' list; dials (D, 4) [cx, cy, r, present] in the same pixels.
    """
    if not found:
        return False
    cx, cy, r, _ = found[0]
    return any(present and math.hypot(cx - x, cy - y) <= centre_tol * q and abs(r - q) <= radius_tol * q
               for x, y, q, present in dials)


@torch.no_grad()
def evaluate_detector(model: nn.Module, n: int = 1000, seed: int = 1000) -> dict:
    """Returns detection figures on n held-out synthetic scenes (seed): top-1 hit rate, and no-clock scores."""
    if n < 1:
        raise ValueError(f"need at least one held-out scene, got {n}")
    squares, dials = make_detection_scenes(n, seed)
    model.eval()
    outputs = torch.cat([model(to_input(squares[i:i + 100])) for i in range(0, n, 100)])
    with_clock, top_hits, any_hits, empty_scores = 0, 0, 0, []
    for found, truth in zip(decode_each(outputs, 3), dials):
        if truth[:, 3].any():
            with_clock += 1
            top_hits += hits(found, truth)
            any_hits += any(hits([f], truth) for f in found)
        else:
            empty_scores.append(found[0][3] if found else 0.0)
    empty = np.array(empty_scores)
    return {"scenes": n, "seed": seed, "with_clock": with_clock, "top1_hit": top_hits / max(with_clock, 1),
            "top3_hit": any_hits / max(with_clock, 1), "no_clock": len(empty),
            "no_clock_median_score": float(np.median(empty)) if len(empty) else None,
            "no_clock_share_below_0.5": float((empty < 0.5).mean()) if len(empty) else None}


# ---------------------------------------------------------------- saving


def save_detector(model: nn.Module, path=DETECTOR_PATH, metrics: dict | None = None) -> None:
    """Saves a detector as safetensors: float16 tensors plus its width, training data and metrics as JSON metadata."""
    info = {"width": model.width, "detect_side": DETECT_SIDE, "stride": STRIDE,
            "trained_on": getattr(model, "trained_on", {}), "metrics": metrics or {}}
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    checkpoint_file.save(path, state, FORMAT, info)


def load_detector(path=DETECTOR_PATH) -> nn.Module:
    """Returns the detector saved at path (eval mode, float32); clear ValueError for foreign or broken files."""
    state, metadata = checkpoint_file.read(path, FORMAT)
    if (int(metadata.get("detect_side", -1)), int(metadata.get("stride", -1))) != (DETECT_SIDE, STRIDE):
        raise ValueError(
            f"{path} was trained for input {metadata.get('detect_side')} / stride {metadata.get('stride')}, "
            f"this code uses {DETECT_SIDE} / {STRIDE}"
        )
    model = DialDetector(int(metadata["width"]))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not fit a width-{metadata['width']} dial detector: {error}") from error
    model.trained_on = metadata.get("trained_on", {})
    model.metrics = metadata.get("metrics", {})
    return model.eval()


def detector_option(option: str | None):
    """Returns read_clock's `detector` for a command-line option: None (the shipped detector) for no option, else
    the detector saved at that path (for reading, models.for_reading)."""
    return None if option is None else for_reading(load_detector(option))


@lru_cache(maxsize=1)
def default_detector() -> nn.Module:
    """Returns the shipped detector (weights/clock_detector.safetensors), loaded once, for reading
    (models.for_reading)."""
    return for_reading(load_detector(DETECTOR_PATH))
