"""Where a dial's twelve o'clock is, anywhere on the circle: a small network beside the reader.

The reader's face locator finds a dial's turn only near upright (it learnt turns of N(0, 15 degrees)): a
watch photographed on a wrist, or a clock on its side, is read as if upright, a quarter or half a
turn off, and often sure of it. TwelveFinder unwraps the located dial to polar coordinates from the
photo's up (models.polar_unwrap), looks at every angle with the same circular convolutions and scores
each of N_ANGLES columns as the one where twelve o'clock is. Turning a dial shifts its scores and
nothing else, so the network learns once what twelve looks like (a numeral, a double index, a logo
below it) and where three, six and nine sit from it. Its softmax is the turn's likelihood;
`turn_posterior` weighs it by a prior that most photos show their clock upright (UPRIGHT_SHARE).
Dials that show nothing at twelve (bare indices all alike) give flat scores, and the prior keeps them
upright.

    finder = default_finder()
    q = turn_posterior(finder(x, located))     # x: (B, 1, S, S) in [0, 1]; located: the reader's (B, >=3) faces
    python -m genlab clock train-twelve --steps 6000   # -> weights/clock_twelve.safetensors
"""

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from genlab import checkpoint_file
from genlab.clock.models import FACE_REACH, PolarConv, for_reading, polar_unwrap
from genlab.paths import WEIGHTS_DIR
from genlab.train.callbacks import optimise_step

N_ANGLES = 96  # columns of the polar view: 3.75 degrees each
N_RADII = 32
UPRIGHT_SHARE = 0.95  # the prior: this share of photos show their dial turned by N(0, UPRIGHT_SPREAD) ...
UPRIGHT_SPREAD = math.radians(20)  # ... and the rest turned anywhere
# turned_reading: where the dial is read at two turns, each turn's share of the belief is weighed by that reading's
# confidence (peak_mass) to this power: the reader, trained on upright dials, reads a dial at its true turn surer
# (docs/clock_reader.md, "The reader votes on the turn")
READER_VOTE = 2
TARGET_SPREAD = 1.0  # columns: the training target is a bump this wide around the true turn
FORMAT = checkpoint_file.CLOCK_TWELVE
TWELVE_PATH = WEIGHTS_DIR / "clock_twelve.safetensors"


class TwelveFinder(nn.Module):
    """Scores (B, N_ANGLES) for where twelve o'clock is on a located dial: column j is j * 360 / N_ANGLES degrees
    clockwise from the photo's up.

    Six 3x3 circular convolutions (stride 2 in radius only) over the dial's polar view, from its centre to
    FACE_REACH radii, see each angle with its neighbours; a dilated circular convolution over the columns then
    weighs what lies a quarter, a half and three quarters of a turn away.
    """

    def __init__(self, width: int = 16):
        super().__init__()
        self.width = w = width
        self.trunk = nn.Sequential(PolarConv(1, w, 1), PolarConv(w, w, 2), PolarConv(w, 2 * w, 1),
                                   PolarConv(2 * w, 2 * w, 2), PolarConv(2 * w, 4 * w, 1), PolarConv(4 * w, 4 * w, 2))
        rows = N_RADII // 8
        self.scores = nn.Sequential(
            nn.Conv1d(4 * w * rows, 4 * w, 1), nn.ReLU(inplace=True),
            nn.Conv1d(4 * w, 4 * w, 9, dilation=N_ANGLES // 8, padding=N_ANGLES // 2, padding_mode="circular"),
            nn.ReLU(inplace=True), nn.Conv1d(4 * w, 1, 1))

    def forward(self, x: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """Returns (B, N_ANGLES) logits for images x (B, 1, S, S) in [0, 1] and their dials face (B, >=3) as the
        reader's locator gives them ([cx, cy, r, q1, q2, ...]; its turn, if any, is not used)."""
        shape = face[:, 3:5] if face.shape[1] >= 5 else None
        polar = polar_unwrap(x - 0.5, N_RADII, N_ANGLES, face[:, :2], FACE_REACH * face[:, 2], shape)
        return self.scores(self.trunk(polar).flatten(1, 2))[:, 0]


def column_turns() -> torch.Tensor:
    """Returns (N_ANGLES,) the turn of each column, radians clockwise from up."""
    return torch.arange(N_ANGLES, dtype=torch.float32) * (2 * math.pi / N_ANGLES)


def turn_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Returns |a - b| on the circle, radians in [0, pi], elementwise (broadcast)."""
    d = torch.remainder(a - b, 2 * math.pi)
    return torch.minimum(d, 2 * math.pi - d)


def turn_prior() -> torch.Tensor:
    """Returns (N_ANGLES,) the prior over columns: UPRIGHT_SHARE in a bump of UPRIGHT_SPREAD around up, the rest
    spread evenly."""
    bump = torch.exp(-0.5 * (turn_distance(column_turns(), torch.tensor(0.0)) / UPRIGHT_SPREAD) ** 2)
    return UPRIGHT_SHARE * bump / bump.sum() + (1 - UPRIGHT_SHARE) / N_ANGLES


def turn_posterior(logits: torch.Tensor) -> torch.Tensor:
    """Returns (B, N_ANGLES) probabilities of where twelve o'clock is: TwelveFinder's logits, which it learnt on
    dials turned evenly anywhere, times turn_prior, normalised."""
    return torch.softmax(logits + turn_prior().log(), dim=1)


def peak_turns(q: torch.Tensor) -> torch.Tensor:
    """Returns (B,) radians: the mean turn of each row's most probable column and its two neighbours on each side,
    weighted by q (B, N_ANGLES)."""
    best = q.argmax(1)
    offsets = torch.arange(-2, 3)
    cols = (best[:, None] + offsets) % N_ANGLES
    weights = q.gather(1, cols)
    return (best + (weights * offsets).sum(1) / weights.sum(1)) * (2 * math.pi / N_ANGLES)


def target(turns: torch.Tensor) -> torch.Tensor:
    """Returns (B, N_ANGLES) training targets: a bump TARGET_SPREAD columns wide around each true turn (radians)."""
    distance = turn_distance(column_turns()[None], turns[:, None]) * (N_ANGLES / (2 * math.pi))
    return torch.softmax(-0.5 * (distance / TARGET_SPREAD) ** 2, dim=1)


def turned_batch(reader, x: torch.Tensor, faces: torch.Tensor, generator: torch.Generator) -> tuple:
    """Returns (clocks, the reader's located faces, true turns (B,)): prepared clocks x (B, 1, S, S) with dials faces
    (B, 4) (models.faces_to_unit), half of them squashed as the reader's training squashes them, each turned
    anywhere on the circle."""
    from genlab.clock.train import squash_batch, turn_dials

    x, faces = squash_batch(x, faces, 0.5, generator)
    angles = (torch.rand(len(x), generator=generator) * 2 - 1) * math.pi
    x = turn_dials(x, faces, angles)
    return x, reader.locate(x), faces[:, 5] + angles


def train_twelve(reader, x_all: torch.Tensor, faces: torch.Tensor, steps: int = 6000, batch_size: int = 64,
                 lr: float = 3e-3, seed: int = 0, width: int = 16, on_progress=None, stop_event=None) -> nn.Module:
    """Returns a TwelveFinder trained (AdamW, one-cycle, cross-entropy against `target`) on prepared clocks x_all
    (N, 1, S, S) with dials faces (N, 4) (models.faces_to_unit), each batch turned anywhere (turned_batch) and
    located by the reader's frozen locator, whose errors it thus learns to live with."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"need steps and batch_size >= 1, got {steps}, {batch_size}")
    torch.manual_seed(seed)
    finder = TwelveFinder(width)
    optimizer = torch.optim.AdamW(finder.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 2), pct_start=0.15)
    generator = torch.Generator().manual_seed(seed)
    finder.train()
    for step in range(steps):
        idx = torch.randint(len(x_all), (batch_size,), generator=generator)
        x, located, turns = turned_batch(reader, x_all[idx], faces[idx], generator)
        loss = -(target(turns) * F.log_softmax(finder(x, located), 1)).sum(1).mean()
        if optimise_step(loss, optimizer, schedule, step + 1, steps, on_progress, stop_event):
            break
    return finder.eval()


@torch.no_grad()
def evaluate_twelve(reader, finder: nn.Module, x: torch.Tensor, faces: torch.Tensor, seed: int = 0) -> dict:
    """Returns how well finder finds twelve o'clock on prepared held-out clocks x (N, 1, S, S), dials faces (N, 4),
    each turned anywhere (seeded): the median turn error in degrees and the shares within 15 and 45 degrees, of
    its own scores and of turn_posterior; and, on the same clocks upright, how many the posterior turns by more
    than 45 degrees."""
    generator = torch.Generator().manual_seed(seed)
    turned, located, turns = turned_batch(reader, x, faces, generator)
    logits = finder(turned, located)
    upright_faces = reader.locate(x)
    upright = peak_turns(turn_posterior(finder(x, upright_faces)))
    figures = {"n": len(x), "seed": seed}
    for name, q in (("scores", torch.softmax(logits, 1)), ("posterior", turn_posterior(logits))):
        error = turn_distance(peak_turns(q), turns).rad2deg()
        figures[name] = {"median_error_deg": error.median().item(), "within_15": (error <= 15).float().mean().item(),
                         "within_45": (error <= 45).float().mean().item()}
    true_upright = faces[:, 3] if faces.shape[1] > 3 else torch.zeros(len(x))
    figures["upright_turned_over_45"] = (turn_distance(upright, true_upright).rad2deg() > 45).float().mean().item()
    return figures


def save_twelve(finder: nn.Module, path=TWELVE_PATH, trained_on: dict | None = None, metrics: dict | None = None):
    """Saves a TwelveFinder as safetensors: float16 tensors plus its width, training data and metrics as metadata."""
    info = {"width": finder.width, "n_angles": N_ANGLES, "n_radii": N_RADII, "trained_on": trained_on or {},
            "metrics": metrics or {}}
    state = {k: v.half() if v.is_floating_point() else v for k, v in finder.state_dict().items()}
    checkpoint_file.save(path, state, FORMAT, info)


def load_twelve(path=TWELVE_PATH) -> nn.Module:
    """Returns the TwelveFinder saved at path (eval mode, float32); clear ValueError for foreign or broken files."""
    state, info = checkpoint_file.read(path, FORMAT)
    if (int(info.get("n_angles", -1)), int(info.get("n_radii", -1))) != (N_ANGLES, N_RADII):
        raise ValueError(f"{path} looks at {info.get('n_angles')} x {info.get('n_radii')} polar views, this code at "
                         f"{N_ANGLES} x {N_RADII}")
    finder = TwelveFinder(int(info["width"]))
    try:
        finder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not fit a width-{info['width']} twelve finder: {error}") from error
    finder.trained_on, finder.metrics = info.get("trained_on", {}), info.get("metrics", {})
    return finder.eval()


def finder_option(option: str | None):
    """Returns read_clock's `finder` for a command-line option: None (the shipped finder) for no option, False
    for "off", else the finder saved at that path (for reading, models.for_reading)."""
    if option is None:
        return None
    return False if option == "off" else for_reading(load_twelve(option))


@lru_cache(maxsize=1)
def default_finder() -> nn.Module:
    """Returns the shipped TwelveFinder (weights/clock_twelve.safetensors), loaded once, for reading
    (models.for_reading)."""
    return for_reading(load_twelve(TWELVE_PATH))


def _signed(turns: torch.Tensor) -> torch.Tensor:
    """Returns turns (radians) as the same directions in [-pi, pi)."""
    return torch.remainder(turns + math.pi, 2 * math.pi) - math.pi


def turned_reading(reader, finder, x: torch.Tensor, located: torch.Tensor, turns=(0.0,), shifts=((0.0, 0.0),),
                   alternative_min: float = 0.02) -> tuple:
    """Returns ((B, 720) probabilities over minutes, (B,) the most probable turn in radians) for prepared crops x
    (B, 1, S, S) of one clock (read_clock's crops of one photo) that an aligned reader located as `located` (B, 6).

    The finder's likelihoods of the clock's turn are averaged over the crops, and turn_posterior of that splits each
    crop's turn in three: within 45 degrees of the located turn, within 45 degrees of the most probable turn outside
    that, and the rest, which says nothing about the time (spread evenly). Within 45 degrees the crop is read at its
    located turn and at the posterior's peak there, each at every one of `turns` more and moved by each of `shifts`:
    the locator finds about 60% of a real dial's turn, the finder nearly all of it (docs/clock_reader.md, "The twelve
    finder's turn near upright"). The two readings are weighed by the posterior's mass nearer each turn, so a finder
    sure of a turn the locator missed outweighs it, and an unsure one leaves them about even. Outside, it is read at
    the peak there, at each of `turns` more, when that holds at least `alternative_min`; then the two turns' shares
    are weighed again by how sure each reading is (peak_mass to the power READER_VOTE): the reader votes.
    """
    likelihood = torch.softmax(finder(x, located), 1).mean(0, keepdim=True)
    q = turn_posterior(likelihood.log()).expand(len(x), -1)
    columns = column_turns()[None]
    from_located = turn_distance(columns, located[:, 5:6])
    near = from_located <= math.pi / 4
    q_near = (q * near).sum(1)
    near_turn = _signed(peak_turns(q * near))
    found = torch.cat([located[:, :5], near_turn[:, None]], 1)
    both = reader.probabilities(torch.cat([x, x]), shifts=shifts, face=torch.cat([located, found]), turns=turns)
    both = both.view(2, len(x), -1)
    nearer_found = turn_distance(columns, near_turn[:, None]) < from_located
    share_found = (q * near * nearer_found).sum(1) / q_near.clamp_min(1e-12)
    upright = torch.lerp(both[0], both[1], share_found[:, None])
    away = q * ~near
    other = _signed(peak_turns(away))
    q_other = (away * (turn_distance(columns, other[:, None]) <= math.pi / 4)).sum(1)
    rows = (q_other >= alternative_min).nonzero()[:, 0]
    if len(rows):
        face = torch.cat([located[rows, :5], other[rows, None]], 1)
        read = reader.probabilities(x[rows], shifts=((0.0, 0.0),), face=face, turns=turns)
        near_vote = q_near[rows] * peak_mass(upright[rows]) ** READER_VOTE
        other_vote = q_other[rows] * peak_mass(read) ** READER_VOTE
        shared = q_near[rows] + q_other[rows]
        q_near, q_other = q_near.clone(), q_other.clone()
        q_near[rows] = shared * near_vote / (near_vote + other_vote).clamp_min(1e-12)
        q_other[rows] = shared - q_near[rows]
    p = q_near[:, None] * upright + (1 - q_near)[:, None] / upright.shape[1]
    if len(rows):
        p[rows] += q_other[rows, None] * (read - 1 / upright.shape[1])
    return p, torch.where(q_other > q_near, other, near_turn)


def peak_mass(p: torch.Tensor) -> torch.Tensor:
    """Returns (B,) the largest mass of (B, 720) probabilities over minutes within +-read.WINDOW minutes of one
    minute: how sure a reading is (read.top_times' probability of its first time)."""
    from genlab.clock.read import WINDOW

    return sum(torch.roll(p, offset, 1) for offset in range(-WINDOW, WINDOW + 1)).max(1).values
