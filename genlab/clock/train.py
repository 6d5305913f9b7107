"""Training, evaluating, saving and loading clock readers.

    from genlab.clock import train, synth
    images, labels = synth.cached_clocks(40_000, seed=1)
    model = train.train_reader(images, labels, head="polar", steps=3000)
    train.evaluate(model, *synth.cached_clocks(2_000, seed=1000))   # {"hour_accuracy": ..., ...}
    train.save_reader(model, "weights/clock_reader.safetensors")

Images are (N, H, W) uint8 grayscale clocks and labels (N, 2) [hour 0..11, minute 0..59]
(the Leiden format); `prepare` turns them into what the network sees.
"""

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skimage.exposure import adjust_gamma
from torch import nn

from genlab import checkpoint_file
from genlab.clock.models import (
    FACE_TRUNKS,
    build_reader,
    common_sense_error,
    faces_to_unit,
    rotation_matrix,
    squash_shape,
    to_minutes,
)
from genlab.train.callbacks import optimise_step

FORMAT = checkpoint_file.CLOCK_READER
INPUT_SIZE = 72  # the network's input side: fine enough for 1-minute hand angles, cheap on CPU
GAMMA = 0.6  # gamma enhancement (skimage.exposure.adjust_gamma): < 1 lifts dark clocks
LOCATOR_STEPS = 15_000  # face-locator training steps (batch 64): more than the earlier 4,000 locate faces better
LOCATOR_LR = 3e-3  # the face locator's peak learning rate (one-cycle)
SQUASH_ASPECTS = (0.45, 1.0)  # a squashed training clock's dial: short / long axis, uniform in this range
TURN_DISC = 1.5  # a turned training clock turns within this many dial radii of its centre (squash_batch)


@dataclass
class ReaderConfig:
    """Everything needed to rebuild a reader, kept in its checkpoint's metadata."""

    head: str = "multi"
    width: int = 16
    trunk: str = "cartesian"
    input_size: int = INPUT_SIZE
    gamma: float | None = None  # None: no gamma enhancement
    trained_on: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    locator_steps: int = 0  # trunk "face": steps that trained its face locator
    squash: float = 0.0  # the share of training clocks squashed to an ellipse (squash_batch)
    turn: float = 0.0  # training clocks turned in their plane by N(0, turn) degrees (squash_batch)
    temperature: float = 1.0  # read_clock's calibration: probabilities p^(1/temperature), renormalised
    calibration: dict = field(default_factory=dict)  # how the temperature was fitted


def prepare(images: np.ndarray, input_size: int = INPUT_SIZE, gamma: float | None = None) -> torch.Tensor:
    """Returns (N, 1, input_size, input_size) float32 in [0, 1] for (N, H, W) uint8 images.

    gamma: apply skimage.exposure.adjust_gamma with this gamma first (None: off).
    """
    if images.ndim != 3:
        raise ValueError(f"expected (N, H, W) grayscale images, got shape {images.shape}")
    chunks = []
    for start in range(0, len(images), 1000):  # in chunks: 40k float 150x150 images would take 3.6 GB
        x = images[start:start + 1000].astype(np.float32) / 255
        if gamma is not None:
            x = adjust_gamma(x, gamma)
        x = torch.from_numpy(x)[:, None]
        if x.shape[-2:] != (input_size, input_size):
            x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", antialias=True, align_corners=False)
        chunks.append(x.clamp_(0, 1))
    return torch.cat(chunks) if chunks else torch.empty(0, 1, input_size, input_size)


def train_reader(images, labels, head="multi", steps=1000, batch_size=64, lr=3e-3, width=16, trunk="cartesian",
                 input_size=INPUT_SIZE, gamma=None, seed=0, on_progress=None, stop_event=None, trained_on=None,
                 init=None, faces=None, locator_steps=LOCATOR_STEPS, squash=0.0, turn=0.0,
                 locator_lr=LOCATOR_LR) -> nn.Module:
    """Returns a reader (build_reader(head, width, trunk)) trained with AdamW and a one-cycle schedule on (N, H, W)
    uint8 images.

    labels: (N, 2) [hour, minute]. on_progress(Progress) hears every step, stop_event stops after
    the current one (genlab.train.callbacks: one epoch of `steps` steps). init: a reader of the same
    head and width to start from (fine-tuning) instead of random weights; its trunk may be
    "polar" when trunk is "face" (same convolutions, the locator is new).
    trunk "face" first trains the face locator `locator_steps` steps on faces (N, 3) [cx, cy, r]
    in pixels (synth.make_clocks(..., with_faces=True)), unless init already has a trained one;
    trunk "ellipse" likewise, and a `squash` share of its training clocks is squashed to ellipses
    (squash_batch), which its locator learns to find; turn: every training clock is also turned in its
    plane by N(0, turn) degrees, which the locator of trunk "aligned" learns to find.
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (and at least one), got {len(images)} and {len(labels)}")
    config = ReaderConfig(head, width, trunk, input_size, gamma, trained_on or {"n": len(images)}, squash=squash,
                          turn=turn)
    faces = None if faces is None else faces_to_unit(torch.as_tensor(np.asarray(faces), dtype=torch.float32),
                                                     images.shape[-1])
    return fit(config, prepare(images, input_size, gamma), torch.as_tensor(np.asarray(labels), dtype=torch.long),
               steps, batch_size, lr, seed, on_progress, stop_event, init, faces, locator_steps, locator_lr)


def squash_batch(x: torch.Tensor, faces: torch.Tensor, share: float, generator: torch.Generator,
                 aspects: tuple = SQUASH_ASPECTS, turn: float = 0.0) -> tuple:
    """Returns (x, faces (B, 6) [cx, cy, r, q1, q2, turn]): prepared clocks x (B, 1, S, S) with round dials faces
    (B, 3), or (B, 4) with their turn (faces_to_unit), a `share` of them squashed about the dial's centre along a
    random direction to an ellipse of aspect uniform in `aspects`, as a dial seen at a slant; r becomes the geometric
    mean of the half axes and (q1, q2) the shape (models.ellipse_matrix). The others are kept, with q = 0.
    turn: then each clock is turned about its dial's centre by an angle drawn from N(0, turn) degrees,
    within TURN_DISC radii of it (beyond, the photo stays: its turned corners would give the turn away),
    as a watch held at an angle (the time stays; the reader, or an "aligned" locator, must find twelve
    o'clock); `turn` in the faces returned is the dial's turn (0 if not given) plus that angle, in radians
    clockwise (models.polar_unwrap).
    """
    b = len(x)
    squashed = torch.rand(b, generator=generator) < share
    low, high = aspects
    aspect = torch.where(squashed, low + (high - low) * torch.rand(b, generator=generator), torch.ones(b))
    angle = math.pi * torch.rand(b, generator=generator)
    turned = math.radians(turn) * torch.randn(b, generator=generator) if turn else torch.zeros(b)
    rotation = rotation_matrix(angle)
    scale = torch.diag_embed(torch.stack([1 / aspect, torch.ones(b)], 1))
    x = _warp_about(x, faces[:, :2], rotation @ scale @ rotation.transpose(1, 2), "border")
    if turn:
        x = turn_dials(x, faces, turned)
    was_turned = faces[:, 3] if faces.shape[1] > 3 else torch.zeros(b)
    return x, torch.cat([faces[:, :2], faces[:, 2:3] * aspect.sqrt()[:, None], squash_shape(aspect, angle + turned),
                         (was_turned + turned)[:, None]], 1)


def turn_dials(x: torch.Tensor, faces: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Returns prepared clocks x (B, 1, S, S) with the disc of TURN_DISC radii around each dial faces (B, >=3)
    (FaceLocator units) turned clockwise by angles (B,) radians. Beyond the disc the photo stays: turned corners
    would tell the turn without looking at the dial."""
    line = torch.linspace(-1 + 1 / x.shape[-1], 1 - 1 / x.shape[-1], x.shape[-1])
    ys, xs = torch.meshgrid(line, line, indexing="ij")
    distance = ((xs - faces[:, 0, None, None]) ** 2 + (ys - faces[:, 1, None, None]) ** 2).sqrt()
    inside = ((TURN_DISC * faces[:, 2, None, None] - distance) * x.shape[-1] / 4).clamp(0, 1)[:, None]
    return inside * _warp_about(x, faces[:, :2], rotation_matrix(-angles), "reflection") + (1 - inside) * x


def _warp_about(x: torch.Tensor, centres: torch.Tensor, inverse: torch.Tensor, padding: str) -> torch.Tensor:
    """Returns images x (B, 1, S, S) warped about centres (B, 2) (grid_sample units) by the linear map whose
    inverse (B, 2, 2) takes output offsets to input ones."""
    centre = centres[:, :, None]
    theta = torch.cat([inverse, centre - inverse @ centre], 2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def slanted(images: np.ndarray, faces: np.ndarray, aspect: float, seed: int = 0, turn: float = 0.0,
            anywhere: bool = False) -> np.ndarray:
    """Returns (N, S, S) uint8 clocks `images` with their dials `faces` (N, 3) (pixels) each squashed to
    `aspect` along a random direction (seeded), as seen at a slant, and turned by N(0, turn) degrees
    (squash_batch): a test of rectification. anywhere: then each dial is also turned by an angle drawn evenly
    from the whole circle (turn_dials)."""
    x = torch.from_numpy(images.astype(np.float32) / 255)[:, None]
    unit = faces_to_unit(torch.as_tensor(np.asarray(faces), dtype=torch.float32), images.shape[-1])
    generator = torch.Generator().manual_seed(seed)
    x, unit = squash_batch(x, unit, 1.0, generator, (aspect, aspect), turn)
    if anywhere:
        x = turn_dials(x, unit, (torch.rand(len(x), generator=generator) * 2 - 1) * math.pi)
    return (x[:, 0] * 255).round().clamp(0, 255).to(torch.uint8).numpy()


def fit_locator(locator: nn.Module, x_all: torch.Tensor, faces: torch.Tensor, steps: int, batch_size: int = 64,
                lr: float = LOCATOR_LR, seed: int = 0, squash: float = 0.0, turn: float = 0.0) -> nn.Module:
    """Returns the FaceLocator trained (AdamW, one-cycle, Huber loss) on prepared images x_all (N, 1, S, S).

    faces: (N, 4) targets as models.faces_to_unit gives them. A locator of ellipses (and turns) learns from
    clocks a `squash` share of which is squashed (and all turned by `turn`, squash_batch). Leaves it in eval mode.
    """
    if len(faces) != len(x_all):
        raise ValueError(f"need one face per image, got {len(faces)} faces for {len(x_all)} images")
    optimizer = torch.optim.AdamW(locator.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 2), pct_start=0.15)
    generator = torch.Generator().manual_seed(seed + 1)
    locator.train()
    for step in range(steps):
        idx = torch.randint(len(x_all), (batch_size,), generator=generator)
        x, target = x_all[idx], faces[idx]
        outputs = locator.fc[-1].out_features
        if outputs > 3:
            x, target = squash_batch(x, target, squash, generator, turn=turn)
        target = target[:, :outputs]
        # Huber on errors scaled to ~pixels of a 150-px clock (1 unit = 1/75 of the half side)
        loss = F.smooth_l1_loss(75 * locator(x), 75 * target)
        optimise_step(loss, optimizer, schedule, step + 1, steps)
    return locator.eval()


def fit(config: ReaderConfig, x_all: torch.Tensor, y_all: torch.Tensor, steps: int, batch_size: int = 64,
        lr: float = 3e-3, seed: int = 0, on_progress=None, stop_event=None, init=None, faces=None,
        locator_steps: int = LOCATOR_STEPS, locator_lr: float = LOCATOR_LR) -> nn.Module:
    """Returns a reader for config trained on prepared images x_all (N, 1, S, S) and labels y_all (N, 2).

    init: a reader whose weights to start from (same head and width; see train_reader for trunks).
    faces: (N, 4) face-locator targets (models.faces_to_unit), needed for a trunk with a locator
    unless init brings a trained one (from trunk "face" to "ellipse" its locator learns ellipses on
    top of what it knows). A `config.squash` share of each batch is squashed, and all of it turned by
    `config.turn` (squash_batch).
    """
    torch.manual_seed(seed)
    model = build_reader(config.head, config.width, config.trunk)
    has_locator = False
    if init is not None:
        order = ("polar", *FACE_TRUNKS)  # each grows into the ones after it
        upgrades = {(a, b) for i, a in enumerate(order) for b in order[i + 1:]}
        if (init.config.head, init.config.width) != (config.head, config.width) or not (
                init.config.trunk == config.trunk or (init.config.trunk, config.trunk) in upgrades):
            raise ValueError(f"cannot start a {config.head}/{config.trunk} reader from a "
                             f"{init.config.head}/{init.config.trunk} one (width {init.config.width}): "
                             f"same head and width needed, and the same trunk or one of {' -> '.join(order)}")
        state = {k: v for k, v in init.state_dict().items() if not k.startswith("locator.")}
        model.load_state_dict(state, strict=False)  # a polar reader has no locator yet
        init_locator = getattr(init, "locator", None)
        has_locator = init_locator is not None and init.config.trunk == config.trunk
        if has_locator:
            model.locator.load_state_dict(init_locator.state_dict())
        elif init_locator is not None:  # face -> ellipse -> aligned
            model.locator.widen(init_locator)
        config.locator_steps = init.config.locator_steps if init_locator is not None else 0
    if config.trunk in FACE_TRUNKS and not has_locator:
        if faces is None:
            raise ValueError(f"trunk {config.trunk!r} needs face geometry to train its locator (synthetic clocks), "
                             "or --init with a reader that has one")
        fit_locator(model.locator, x_all, faces, locator_steps, lr=locator_lr, seed=seed, squash=config.squash,
                    turn=config.turn)
        config.locator_steps += locator_steps
    model.config = config
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 2), pct_start=0.15)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    order, cursor = torch.randperm(len(x_all), generator=generator), 0
    for step in range(steps):
        if cursor + batch_size > len(order):  # next epoch
            order, cursor = torch.randperm(len(x_all), generator=generator), 0
        idx = order[cursor:cursor + batch_size]
        cursor += batch_size
        x = x_all[idx]
        if config.squash or config.turn:  # about the dial's centre where it is known, else the image's (all of it)
            centres = faces[idx] if faces is not None else torch.tensor([[0.0, 0.0, 1.0]]).expand(len(idx), 3)
            x = squash_batch(x, centres, config.squash, generator, turn=config.turn)[0]
        loss = model.head.loss(model(x), y_all[idx])
        if optimise_step(loss, optimizer, schedule, step + 1, steps, on_progress, stop_event):
            break
    return model.eval()


@torch.no_grad()
def predict_probabilities(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Returns (N, 720) probabilities over minutes since twelve for (N, H, W) uint8 images."""
    config = model.config
    model.eval()
    out = [model.probabilities(prepare(images[i:i + batch_size], config.input_size, config.gamma))
           for i in range(0, len(images), batch_size)]
    return torch.cat(out)


@torch.no_grad()
def face_errors(model: nn.Module, images: np.ndarray, faces: np.ndarray) -> dict:
    """Returns the face locator's median/mean centre and radius errors in pixels on (N, H, W) images
    with known faces (N, 3)."""
    if getattr(model, "locator", None) is None:
        raise ValueError("this reader has no face locator (trunk 'face')")
    model.eval()
    x = prepare(images, model.config.input_size, model.config.gamma)
    found = torch.cat([model.locator(x[i:i + 256]) for i in range(0, len(x), 256)])
    true = faces_to_unit(torch.as_tensor(np.asarray(faces), dtype=torch.float32), images.shape[-1])
    half = images.shape[-1] / 2
    centre = (found[:, :2] - true[:, :2]).norm(dim=1) * half
    radius = (found[:, 2] - true[:, 2]).abs() * half
    return {"centre_median_px": centre.median().item(), "centre_mean_px": centre.mean().item(),
            "centre_p95_px": centre.quantile(0.95).item(), "radius_median_px": radius.median().item(),
            "radius_mean_px": radius.mean().item()}


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> dict:
    """Returns hour accuracy and median/mean common-sense error (minutes) on labelled images."""
    predicted = predict_probabilities(model, images).argmax(1)
    true = to_minutes(torch.as_tensor(np.asarray(labels), dtype=torch.long))
    errors = common_sense_error(true, predicted).float()
    return {
        "hour_accuracy": (predicted // 60 == true // 60).float().mean().item(),
        "median_error": errors.median().item(),
        "mean_error": errors.mean().item(),
        "within_10_min": (errors <= 10).float().mean().item(),
        "n": len(labels),
    }


def average_readers(first: nn.Module, tuned: list, weight: float) -> nn.Module:
    """Returns a reader whose weights are (1 - weight) * first's + weight * the mean of the `tuned` readers' (a
    reader and its fine-tunes: WiSE-FT, Wortsman et al. 2022; with several fine-tunes, a model soup of them).
    Taken between a reader and its own fine-tunes, it keeps most of what a fine-tune loses on real photos
    (docs/clock_reader.md, *What was tried*). All must be of one architecture (head, width, trunk, input size);
    the result has first's config, its temperature included, and records every reader in trained_on."""
    if not 0 <= weight <= 1:
        raise ValueError(f"the weight must be between 0 and 1, got {weight:g}")
    if not tuned:
        raise ValueError("give at least one reader to average with the first")
    shape = ("head", "width", "trunk", "input_size", "gamma")
    for other in tuned:
        if any(getattr(first.config, key) != getattr(other.config, key) for key in shape):
            raise ValueError("cannot average readers of different architectures: "
                             + " vs ".join(", ".join(f"{key} {getattr(r.config, key)}" for key in shape)
                                           for r in (first, other)))
    model = build_reader(first.config.head, first.config.width, first.config.trunk)
    theirs = [other.state_dict() for other in tuned]
    model.load_state_dict({key: torch.lerp(value.float(), sum(t[key].float() for t in theirs) / len(theirs),
                                           weight).to(value.dtype)
                           if value.is_floating_point() else value for key, value in first.state_dict().items()})
    model.config = replace(first.config, metrics={}, trained_on={
        "source": "weight average", "weight": weight, "first": first.config.trained_on,
        "tuned": [other.config.trained_on for other in tuned]})
    return model.eval()


def save_reader(model: nn.Module, path) -> None:
    """Saves a reader as safetensors: tensors plus its ReaderConfig as JSON metadata."""
    from dataclasses import asdict

    checkpoint_file.save(path, model.state_dict(), FORMAT, {"config": asdict(model.config)})


def load_reader(path) -> nn.Module:
    """Returns the reader saved at path (eval mode); clear ValueError for foreign or broken files."""
    state, header = checkpoint_file.read(path, FORMAT)
    config = ReaderConfig(**header["config"])
    model = build_reader(config.head, config.width, config.trunk)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not fit a {config.head} reader: {error}") from error
    model.config = config
    return model.eval()


def training_work(head: str, n_clocks: int, steps: int, gamma: float | None, out_dir):
    """Returns work for genlab.app.jobs.start_job (the Clock reader page's training): generate n_clocks
    synthetic clocks, train a `head` reader on the polar trunk for `steps` steps, and save it in
    out_dir under a name no other run takes. Its result: {"path", "metrics" on 200 held-out clocks}.
    The job's torch threads are start_job's to set."""

    def work(report, stop_event):
        from genlab.clock import synth
        from genlab.files import claim_new_file

        total = n_clocks + steps  # one unit per clock generated and per training step

        def clock_made(done, _):
            report({"done": done, "total": total, "phase": "generating clocks"})

        # One process: forking worker processes from the server's threads is not safe.
        images, labels = synth.make_clocks(n_clocks, seed=int(time.time()) % 100_000, progress=clock_made,
                                           workers=1)

        def step_done(progress):
            report({"done": n_clocks + progress.step, "total": total, "phase": "training",
                    "loss": progress.losses["loss"]})

        trained_on = {"source": "synthetic", "n": n_clocks, "steps": steps,
                      "generator_version": synth.GENERATOR_VERSION}
        model = train_reader(images, labels, head=head, steps=steps, gamma=gamma, on_progress=step_done,
                             stop_event=stop_event, trunk="polar", trained_on=trained_on)
        model.config.metrics = evaluate(model, *synth.make_clocks(200, seed=1000))
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        with claim_new_file(out_dir, f"{head}_{time.strftime('%Y%m%d-%H%M%S')}", ".safetensors") as claimed:
            save_reader(model, claimed.path)
        return {"path": str(claimed.path), "metrics": model.config.metrics}

    return work


def compare_heads(train_images, train_labels, test_images, test_labels, steps, runs, log=print,
                  train_faces=None) -> list:
    """Returns one metrics row per run (head, trunk, gamma), each trained `steps` steps (the study's Table 8).

    train_faces: (N, 3) face geometry in pixels, needed by trunk "face" runs (their locator
    trains 4,000 steps first, not counted in `steps`).
    """
    rows, prepared = [], {}
    y_all = torch.as_tensor(np.asarray(train_labels), dtype=torch.long)
    faces = None if train_faces is None else faces_to_unit(
        torch.as_tensor(np.asarray(train_faces), dtype=torch.float32), train_images.shape[-1])
    for head, trunk, gamma in runs:
        if gamma not in prepared:
            prepared[gamma] = prepare(train_images, INPUT_SIZE, gamma)
        start = time.time()
        config = ReaderConfig(head, 16, trunk, INPUT_SIZE, gamma, {"n": len(train_images)})
        model = fit(config, prepared[gamma], y_all, steps, faces=faces, locator_steps=4000)
        row = {"head": head, "trunk": "polar" if head == "polar" else trunk, "gamma": gamma, "steps": steps,
               "train_s": round(time.time() - start, 1), **evaluate(model, test_images, test_labels)}
        log(json.dumps(row))
        rows.append(row)
    return rows


def heads_table(rows: list) -> str:
    """Returns the comparison rows as a Markdown table."""
    lines = [
        "| head | trunk | gamma | hour accuracy | median error (min) | mean error (min) | within 10 min | train s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        gamma = "off" if r["gamma"] is None else f"{r['gamma']}"
        lines.append(
            f"| {r['head']} | {r['trunk']} | {gamma} | {100 * r['hour_accuracy']:.1f}% | {r['median_error']:.1f} | "
            f"{r['mean_error']:.1f} | {100 * r['within_10_min']:.1f}% | {r['train_s']} |"
        )
    return "\n".join(lines)

