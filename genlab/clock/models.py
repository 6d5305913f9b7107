"""Clock-reading networks: the study's five heads on one compact CNN, and PolarClockNet.

Every head turns the trunk's pooled features into its own outputs, has its own loss, and
decodes to the same thing: a (B, 720) probability over the minutes of a 12-hour dial, so
reading, top-k alternatives and the common-sense error work the same for all of them.
The first five heads are the study's; `hands` (minute hand + hour-hand angle, decoded
together) and PolarClockNet (head "polar", reads the unwrapped face angle by angle) go beyond it.

    model = build_reader("multi", trunk="polar")   # or build_reader("polar"), or trunk="face"
    out = model(x)                        # x: (B, 1, S, S) in [0, 1]
    loss = model.head.loss(out, labels)   # labels: (B, 2) [hour 0..11, minute 0..59]
    probs = model.head.probabilities(out) # (B, 720), index = hour * 60 + minute
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MINUTES = 720  # minutes on a 12-hour dial


def common_sense_error(true_minutes, predicted_minutes):
    """Returns the cyclic difference in minutes on a 12-hour dial (11:55 vs 0:05 is 10), elementwise.

    Both arguments are minutes since twelve o'clock (hour * 60 + minute), any shape; numpy or torch.
    """
    diff = abs(true_minutes - predicted_minutes) % MINUTES
    if torch.is_tensor(diff):
        return torch.minimum(diff, MINUTES - diff)
    return np.minimum(diff, MINUTES - diff)


def to_minutes(labels: torch.Tensor) -> torch.Tensor:
    """Returns (B,) minutes since twelve (0..719) for (B, 2) [hour, minute] labels."""
    return (labels[:, 0] % 12) * 60 + labels[:, 1]


def _kernel_probabilities(predicted_minutes: torch.Tensor, spread: float) -> torch.Tensor:
    """Returns (B, 720) probabilities peaked at continuous predicted minutes (B,), cyclic, with given spread."""
    grid = torch.arange(MINUTES, device=predicted_minutes.device, dtype=torch.float32)
    diff = (grid[None, :] - predicted_minutes[:, None]) % MINUTES
    dist = torch.minimum(diff, MINUTES - diff)
    return torch.softmax(-(dist / spread) ** 2, dim=1)


class RegressionHead(nn.Module):
    """One number: hours + minutes/60 (0..12), mean-squared error, as in the study."""

    size = 1

    def loss(self, out, labels):
        return F.mse_loss(out[:, 0], to_minutes(labels).float() / 60)

    def probabilities(self, out):
        return _kernel_probabilities(out[:, 0].clamp(0, 12) * 60 % MINUTES, spread=8.0)


class Classes24Head(nn.Module):
    """24 classes of 30 minutes each, cross-entropy; decodes to the middle of the class."""

    size = 24

    def loss(self, out, labels):
        return F.cross_entropy(out, to_minutes(labels) // 30)

    def probabilities(self, out):
        # Spread each class's probability evenly over its 30 minutes, peaked at the middle.
        p = torch.softmax(out, dim=1).repeat_interleave(30, dim=1)
        bump = 1 + 1e-3 * (15 - (torch.arange(MINUTES, device=out.device) % 30 - 14.5).abs())
        p = p * bump
        return p / p.sum(dim=1, keepdim=True)


class Classes720Head(nn.Module):
    """720 classes, one per minute, cross-entropy."""

    size = MINUTES

    def loss(self, out, labels):
        return F.cross_entropy(out, to_minutes(labels))

    def probabilities(self, out):
        return torch.softmax(out, dim=1)


class MultiHead(nn.Module):
    """Two heads: 12-class hour and 60-class minute, cross-entropy each; p(h:m) = p(h) p(m)."""

    size = 12 + 60

    def loss(self, out, labels):
        return F.cross_entropy(out[:, :12], labels[:, 0] % 12) + F.cross_entropy(out[:, 12:], labels[:, 1])

    def probabilities(self, out):
        p_hour, p_minute = torch.softmax(out[:, :12], 1), torch.softmax(out[:, 12:], 1)
        return (p_hour[:, :, None] * p_minute[:, None, :]).reshape(-1, MINUTES)


class SinCosHead(nn.Module):
    """(sin, cos) of the hour-hand and minute-hand angles, mean-squared error.

    Decoding reads the minute from the minute hand, then the hour as the whole hour that the
    hour hand points at once the minute's share of its travel is taken off.
    """

    size = 4

    def loss(self, out, labels):
        minutes = to_minutes(labels).float()
        hour_angle, minute_angle = minutes / MINUTES * 2 * math.pi, labels[:, 1].float() / 60 * 2 * math.pi
        target = torch.stack([hour_angle.sin(), hour_angle.cos(), minute_angle.sin(), minute_angle.cos()], 1)
        return F.mse_loss(out, target)

    def probabilities(self, out):
        hour_turn = torch.atan2(out[:, 0], out[:, 1]) / (2 * math.pi) % 1  # 0..1 of 12 hours
        minute = torch.atan2(out[:, 2], out[:, 3]) / (2 * math.pi) % 1 * 60
        hour = torch.round(hour_turn * 12 - minute / 60) % 12
        return _kernel_probabilities(hour * 60 + minute, spread=3.0)


def _hour_hand_columns(minutes: torch.Tensor) -> tuple:
    """Returns (column, next column, weight of next) of the hour hand's 6-degree sector for (B,) minutes."""
    position = minutes.float() / 12  # the hour hand moves one 6-degree sector every 12 minutes
    column = position.floor().long() % 60
    return column, (column + 1) % 60, position - position.floor()


class HandsHead(nn.Module):
    """Beyond the study: minute hand (60 classes) and hour-hand position (60 sectors of 6 degrees).

    The hour is never classified on its own. Time t scores log p(minute hand at t % 60) +
    log p(hour hand at t's angle), the hour hand's angle interpolated between sectors, so the
    hour always agrees with the minute: at 3:55 the hour hand is almost at 4 and is read as 3.
    Loss: cross-entropy of each hand, the hour hand's target split between its two sectors.
    """

    size = 60 + 60

    def loss(self, out, labels):
        column, next_column, frac = _hour_hand_columns(to_minutes(labels))
        target = torch.zeros(len(labels), 60, device=out.device)
        target[torch.arange(len(labels)), column] = 1 - frac
        target[torch.arange(len(labels)), next_column] += frac
        return F.cross_entropy(out[:, :60], labels[:, 1]) + F.cross_entropy(out[:, 60:], target)

    def probabilities(self, out):
        minute, hour = F.log_softmax(out[:, :60], 1), F.log_softmax(out[:, 60:], 1)
        t = torch.arange(MINUTES, device=out.device)
        column, next_column, frac = _hour_hand_columns(t)
        logits = minute[:, t % 60] + (1 - frac) * hour[:, column] + frac * hour[:, next_column]
        return torch.softmax(logits, dim=1)


HEADS = {
    "regression": RegressionHead,
    "classes24": Classes24Head,
    "classes720": Classes720Head,
    "multi": MultiHead,
    "sincos": SinCosHead,
    "hands": HandsHead,
}


def _conv(c_in, c_out, stride):
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def _block(c_in, c_out, stride, depth=2):
    """Returns `depth` 3x3 conv-BN-ReLU layers, the first with the given stride."""
    layers = _conv(c_in, c_out, stride)
    for _ in range(depth - 1):
        layers += _conv(c_out, c_out, 1)
    return nn.Sequential(*layers)


def _with_coordinates(x):
    """Returns x (B, C, H, W) with two more channels: x and y coordinates in [-1, 1]."""
    b, _, h, w = x.shape
    ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1).expand(b, 1, h, w)
    xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype).view(1, 1, 1, w).expand(b, 1, h, w)
    return torch.cat([x, xs, ys], 1)


# Trunks with a FaceLocator and what it finds: round dials [cx, cy, r]; elliptic ones too [.., q1, q2]; and
# dials turned in their plane too [.., turn]. Values: the locator's number of outputs.
LOCATOR_OUTPUTS = {"face": 3, "ellipse": 5, "aligned": 6}
FACE_TRUNKS = tuple(LOCATOR_OUTPUTS)
FACE_REACH = 1.15  # trunk "face" unwraps out to this many face radii (the rim and a little bezel)
# Test-time shifts of the located centre (x, y in half sides: 0.02 is 1.5 px of a 150-px clock):
# reading is averaged over them, which absorbs some of the locator's error.
FACE_SHIFTS = ((0.0, 0.0), (0.02, 0.0), (-0.02, 0.0), (0.0, 0.02), (0.0, -0.02))


class FaceLocator(nn.Module):
    """A small CNN that finds the clock face: its centre and radius, trained on the generator's geometry.

    Output (B, 3): centre x, y in grid_sample's [-1, 1] coordinates of the image and the radius
    as a fraction of the half side (a 150-px clock's 60-px face is 0.8). Three stride-2 stages
    and a dense layer over the 9x9 map (not global pooling: position is the answer here).
    outputs=5: (B, 5), the dial's ellipse shape (q1, q2) too (see ellipse_matrix): a dial seen
    at a slant, and r is then the geometric mean of its half axes. outputs=6: (B, 6), and the dial's
    turn in its plane too: radians clockwise from the photo's up to the dial's twelve o'clock.
    """

    GRID = 9  # the feature map is pooled to GRID x GRID (a 72-px input already is)

    def __init__(self, width: int = 8, outputs: int = 3):
        super().__init__()
        w = width
        self.features = nn.Sequential(_block(3, w, 2, depth=1), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2),
                                      nn.AdaptiveAvgPool2d(self.GRID))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * self.GRID ** 2, 64), nn.ReLU(inplace=True),
                                nn.Linear(64, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns (B, 3) [cx, cy, r], (B, 5) [cx, cy, r, q1, q2] or (B, 6) [cx, cy, r, q1, q2, turn] (see above)
        for images x: (B, 1, S, S) in [0, 1]."""
        out = self.fc(self.features(_with_coordinates(x - 0.5)))
        return torch.cat([out[:, :2], 0.75 + 0.25 * out[:, 2:3], out[:, 3:]], 1)  # radii sit around 0.75

    @torch.no_grad()
    def widen(self, smaller: "FaceLocator") -> "FaceLocator":
        """Returns self with the weights of a locator with fewer outputs (a circle-only or ellipse one): the same
        outputs it has, and the new ones (shape, turn) starting at zero (a round, upright dial)."""
        mine = self.state_dict()
        for name, value in smaller.state_dict().items():
            if mine[name].shape == value.shape:
                mine[name].copy_(value)
            else:  # the last layer: more outputs
                mine[name].zero_()
                mine[name][:len(value)] = value
        return self


def ellipse_matrix(q: torch.Tensor) -> torch.Tensor:
    """Returns (B, 2, 2) exp(Q), Q = [[q1, q2], [q2, -q1]], for a dial's shape q (B, 2).

    The dial's rim is centre + r * exp(Q) @ (unit circle): exp(Q) is symmetric with determinant 1,
    its axes stretched by exp(+-|q|) along the angle atan2(q2, q1) / 2; q = 0 is a round dial.
    """
    q1, q2 = q[:, 0], q[:, 1]
    size = torch.sqrt(q1 ** 2 + q2 ** 2 + 1e-12)
    c, s = torch.cosh(size), torch.sinh(size) / size
    return torch.stack([torch.stack([c + s * q1, s * q2], -1), torch.stack([s * q2, c - s * q1], -1)], -2)


def rotation_matrix(angle: torch.Tensor) -> torch.Tensor:
    """Returns (B, 2, 2) rotation matrices for angles (B,) in radians: clockwise on an image (y down), as a dial's
    turn is measured (polar_unwrap)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)


def squash_shape(aspect: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Returns the shape q (B, 2) of a round dial squashed to `aspect` (B,) (short / long axis) along the
    direction `angle` (B,) radians from the x axis (see ellipse_matrix)."""
    size = -0.5 * torch.log(aspect)
    return torch.stack([size * torch.cos(2 * angle + math.pi), size * torch.sin(2 * angle + math.pi)], 1)


def faces_to_unit(faces: torch.Tensor, size: int) -> torch.Tensor:
    """Returns (B, 3) FaceLocator targets [cx, cy, r] for faces (B, 3) [cx, cy, r] in pixels of a (size, size) image;
    (B, 4) for faces (B, 4) [cx, cy, r, turn] (the turn in radians stays)."""
    half = size / 2
    return torch.cat([faces[:, :2] / half - 1, faces[:, 2:3] / half, faces[:, 3:4]], 1)


class ClockNet(nn.Module):
    """A compact CNN (coordinate channels, four stride-2 stages, global pooling) with one head.

    Coordinate channels (CoordConv) let globally pooled features still say *where* a hand
    points, without a large dense layer over the feature map. trunk "polar" first unwraps the
    face around the image centre (see polar_unwrap), so the coordinates are radius and angle.
    trunk "face" unwraps around the face its FaceLocator finds, out to FACE_REACH face radii, so
    every face arrives centred and at one size. trunk "ellipse" does the same, and its locator also
    finds the dial's ellipse, which the unwrap follows, so a dial seen at a slant arrives face-on.
    trunk "aligned" also finds how far the dial is turned in its plane, and the unwrap starts at the
    dial's own twelve o'clock, so a dial turned in the picture arrives upright.
    The locator is trained first on the generator's face geometry and then frozen (always in eval
    mode), so the reader trains on the locator's own estimates, errors included, exactly as it will read.
    """

    def __init__(self, head: str = "multi", width: int = 16, trunk: str = "cartesian"):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose from {', '.join(HEADS)}")
        if trunk not in TRUNKS:
            raise ValueError(f"unknown trunk {trunk!r}; choose from {', '.join(TRUNKS)}")
        self.head_name, self.width, self.polar = head, width, trunk in ("polar", *FACE_TRUNKS)
        self.locator = FaceLocator(outputs=LOCATOR_OUTPUTS[trunk]) if trunk in FACE_TRUNKS else None
        w = width
        self.stem = nn.Sequential(_block(3, w, 2, depth=1), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2))
        self.late = nn.Sequential(_block(4 * w + 2, 8 * w, 2), _block(8 * w, 8 * w, 1))
        self.head = HEADS[head]()
        self.fc = nn.Sequential(nn.Linear(8 * w, 256), nn.ReLU(inplace=True), nn.Linear(256, self.head.size))

    def locate(self, x: torch.Tensor) -> torch.Tensor | None:
        """Returns the face (B, 3), (B, 5) or (B, 6) (FaceLocator's outputs) that a trunk with a locator unwraps
        around, else None."""
        if self.locator is None:
            return None
        with torch.no_grad():
            return self.locator(x)

    def forward(self, x: torch.Tensor, face: torch.Tensor | None = None) -> torch.Tensor:
        """Returns the head's raw outputs (B, head.size) for images x: (B, 1, S, S) in [0, 1].

        face: (B, 3), (B, 5) or (B, 6) to unwrap around instead of the located one (FACE_TRUNKS; for test-time
        shifts).
        """
        if self.locator is not None:
            face = self.locate(x) if face is None else face
            shape = face[:, 3:5] if face.shape[1] >= 5 else None
            turn = face[:, 5] if face.shape[1] >= 6 else None
            x = polar_unwrap(x - 0.5, 32, 96, face[:, :2], FACE_REACH * face[:, 2], shape, turn)
        elif self.polar:
            x = polar_unwrap(x - 0.5, 32, 96)
        else:
            x = x - 0.5
        x = self.stem(_with_coordinates(x))
        x = self.late(_with_coordinates(x))
        return self.fc(x.mean(dim=(2, 3)))

    def train(self, mode: bool = True):
        """Sets training mode, except for the frozen face locator (see the class docstring)."""
        super().train(mode)
        if self.locator is not None:
            self.locator.eval()
        return self

    def probabilities(self, x: torch.Tensor, shifts=FACE_SHIFTS, face: torch.Tensor | None = None,
                      turns=(0.0,), turn_gains=(1.0,)) -> torch.Tensor:
        """Returns (B, 720) probabilities over minutes since twelve for images x: (B, 1, S, S).

        Trunks with a locator: the mean over the face (default: the located one, see locate) moved by each
        of `shifts` (see FACE_SHIFTS) and, for trunk "aligned", with its turn multiplied by each of
        `turn_gains` and then turned by each of `turns` (radians) more, all in one batch.
        """
        face = self.locate(x) if face is None else face
        if face is None:
            return self.head.probabilities(self(x))
        turns, turn_gains = (turns, turn_gains) if face.shape[1] >= 6 else ((0.0,), (1.0,))
        moved = torch.cat([face + F.pad(torch.tensor([dx, dy], dtype=face.dtype, device=face.device),
                                        (0, face.shape[1] - 2)) for dx, dy in shifts])
        moved = torch.cat([torch.cat([moved[:, :5], gain * moved[:, 5:]], 1) if gain != 1 else moved
                           for gain in turn_gains])
        moved = torch.cat([moved + F.pad(torch.tensor([turn], dtype=face.dtype, device=face.device), (5, 0))
                           if turn else moved for turn in turns])
        copies = len(moved) // len(face)
        p = self.head.probabilities(self(x.repeat(copies, 1, 1, 1), moved))
        return p.view(copies, len(face), -1).mean(0)


def polar_unwrap(x: torch.Tensor, n_radii: int = 32, n_angles: int = 120, centre=None, radius=None,
                 shape=None, turn=None) -> torch.Tensor:
    """Returns (B, C, n_radii, n_angles): x (B, C, S, S) resampled around its centre (or `centre`).

    Row i is radius (i + 0.5) / n_radii of the half side (or of `radius`); column j is the angle
    j * 360 / n_angles degrees clockwise from twelve o'clock. A hand becomes a streak down one column.
    centre: (B, 2) x, y in grid_sample's [-1, 1] coordinates; radius: (B,) in half sides; shape:
    (B, 2) an elliptic dial's shape (ellipse_matrix), whose rim then becomes one row, as a round
    dial's does: a dial seen at a slant is read as if seen face-on. turn: (B,) radians clockwise from the
    photo's up to the dial's twelve o'clock, where column 0 then starts: a dial turned in its plane is read
    upright.
    """
    r = (torch.arange(n_radii, dtype=x.dtype, device=x.device) + 0.5).view(1, -1, 1) / n_radii
    a = torch.arange(n_angles, dtype=x.dtype, device=x.device) * (2 * math.pi / n_angles)
    a = a.expand(x.shape[0], -1) if turn is None else a + turn.view(-1, 1)  # (B, n_angles)
    grid = torch.stack([r * a.sin()[:, None], -r * a.cos()[:, None]], dim=-1)  # (B, n_radii, n_angles, 2)
    if shape is not None:
        grid = torch.einsum("bij,braj->brai", ellipse_matrix(shape), grid)
    if radius is not None:
        grid = grid * radius.view(-1, 1, 1, 1)
    if centre is not None:
        grid = grid + centre.view(-1, 1, 1, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class PolarConv(nn.Module):
    """3x3 conv-BN-ReLU on a polar image: wraps around in angle, strides only in radius."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, (stride, 1), (1, 0), bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.relu(self.bn(self.conv(F.pad(x, (1, 1, 0, 0), mode="circular"))), inplace=True)


class PolarClockNet(nn.Module):
    """Unwraps the face to polar coordinates and scores every angle as the minute and hour hand.

    The same convolutions look at every angle (rotation becomes translation), so the network
    learns once what a hand looks like. Radius is pooled away, leaving per-angle scores
    (B, 2, 60); the logit of time t is minute_score(angle of t's minute) + hour_score(angle
    of t's hour hand), trained as 720 classes.
    """

    N_ANGLES = 60  # 6 degrees: minute m is column m; the hour hand moves one column per 12 minutes
    N_RADII = 24

    def __init__(self, head: str = "polar", width: int = 16):
        super().__init__()
        self.head_name, self.width = "polar", width
        w = width
        self.trunk = nn.Sequential(
            PolarConv(1, w, 1), PolarConv(w, w, 2), PolarConv(w, 2 * w, 1), PolarConv(2 * w, 2 * w, 2),
            PolarConv(2 * w, 4 * w, 1), PolarConv(4 * w, 4 * w, 2))
        self.scores = nn.Sequential(nn.Conv1d(4 * w, 4 * w, 3, padding=1, padding_mode="circular"),
                                    nn.ReLU(inplace=True), nn.Conv1d(4 * w, 2, 1))
        self.head = Classes720Head()
        t = torch.arange(MINUTES)
        hour_pos = t / (MINUTES / self.N_ANGLES)  # continuous column of the hour hand
        self.register_buffer("minute_col", (t % 60) * (self.N_ANGLES // 60), persistent=False)
        self.register_buffer("hour_col", hour_pos.floor().long(), persistent=False)
        self.register_buffer("hour_frac", hour_pos - hour_pos.floor(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns (B, 720) logits over minutes since twelve for images x: (B, 1, S, S) in [0, 1]."""
        features = self.trunk(polar_unwrap(x - 0.5, self.N_RADII, self.N_ANGLES))
        scores = self.scores(features.amax(dim=2))  # (B, 2, N_ANGLES)
        minute, hour = scores[:, 0], scores[:, 1]
        hour_next = hour.roll(-1, dims=1)
        hour_at = (1 - self.hour_frac) * hour[:, self.hour_col] + self.hour_frac * hour_next[:, self.hour_col]
        return minute[:, self.minute_col] + hour_at

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Returns (B, 720) probabilities over minutes since twelve for images x: (B, 1, S, S)."""
        return self.head.probabilities(self(x))


def build_reader(head: str = "multi", width: int = 16, trunk: str = "cartesian") -> nn.Module:
    """Returns an untrained reader.

    head: one of HEADS on a ClockNet, or "polar" for PolarClockNet (per-angle hand scores).
    trunk: "cartesian" (the image as it is), "polar" (unwrapped around the image centre first) or
    "face" (unwrapped around the face a FaceLocator finds); ignored for head "polar".
    """
    if head == "polar":
        return PolarClockNet(head, width)
    return ClockNet(head, width, trunk)


def for_reading(model: nn.Module) -> nn.Module:
    """Returns model, in eval mode, made quicker to run on a CPU, in place: each BatchNorm folded into the
    convolution before it (a Sequential's Conv2d then BatchNorm2d, or a module's `conv` and `bn`, as PolarConv's)
    and the weights stored channels-last. The outputs are the same to float rounding (about 1e-6); a 12-MP photo
    reads about 5-15% faster (benchmarks/bench_clock_real.py). Its state dict then lacks the BatchNorms: a model
    for reading, not for training or saving."""
    model.eval()
    for module in list(model.modules()):
        names = list(module._modules)
        for conv, bn in zip(names, names[1:]) if isinstance(module, nn.Sequential) else [("conv", "bn")]:
            layer, norm = getattr(module, conv, None), getattr(module, bn, None)
            if isinstance(layer, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                setattr(module, conv, nn.utils.fusion.fuse_conv_bn_eval(layer, norm))
                setattr(module, bn, nn.Identity())
    return model.to(memory_format=torch.channels_last)


TRUNKS = ("cartesian", "polar", *FACE_TRUNKS)
READER_HEADS = (*HEADS, "polar")
