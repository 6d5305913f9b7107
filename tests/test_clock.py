"""genlab.clock: synthetic clocks, the Leiden format, heads, common-sense error, checkpoints."""

import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.clock import leiden, models, synth, train


# -- synthetic clocks --------------------------------------------------------------------------
def test_make_clocks_shapes_ranges_and_determinism():
    images, labels = synth.make_clocks(6, seed=7)
    assert images.shape == (6, 150, 150) and images.dtype == np.uint8
    assert labels.shape == (6, 2) and labels[:, 0].max() < 12 and labels[:, 1].max() < 60
    again, labels_again = synth.make_clocks(6, seed=7)
    assert np.array_equal(images, again) and np.array_equal(labels, labels_again)
    other, _ = synth.make_clocks(6, seed=8)
    assert not np.array_equal(images, other)
    assert all(img.std() > 5 for img in images)  # not blank


def test_clock_i_depends_only_on_seed_and_index():
    images, labels = synth.make_clocks(5, seed=3)
    tail, tail_labels = synth.make_clocks(2, seed=3, start=3)
    assert np.array_equal(images[3:], tail) and np.array_equal(labels[3:], tail_labels)
    parallel, parallel_labels = synth.make_clocks(5, seed=3, workers=2)
    assert np.array_equal(images, parallel) and np.array_equal(labels, parallel_labels)


@pytest.mark.parametrize("load,idle", [(0.1, 2), (1.0, 1), (1.6, 1), (3.5, 1)])
def test_idle_cores_on_a_two_core_machine(monkeypatch, load, idle):
    monkeypatch.setattr(synth.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(synth.os, "getloadavg", lambda: (load, load, load))
    assert synth.idle_cores() == idle


def test_parallel_chunks_match_one_process_and_report_progress(monkeypatch):
    monkeypatch.setattr(synth, "CHUNK", 3)  # 8 clocks -> chunks of 3, 3, 2 over 2 processes
    calls = []
    parallel, parallel_labels = synth.make_clocks(8, seed=4, size=32, workers=2,
                                                  progress=lambda done, total: calls.append((done, total)))
    images, labels = synth.make_clocks(8, seed=4, size=32, workers=1)
    assert np.array_equal(images, parallel) and np.array_equal(labels, parallel_labels)
    done = [d for d, _ in calls]  # one call per chunk as it finishes (in whatever order)
    assert len(done) == 3 and done == sorted(done) and done[-1] == 8 and {t for _, t in calls} == {8}


def test_other_sizes():
    images, _ = synth.make_clocks(2, seed=0, size=64)
    assert images.shape == (2, 64, 64)
    with pytest.raises(ValueError, match="size"):
        synth.make_clocks(1, size=8)


def test_hand_angles():
    assert synth.hand_angles(3, 0) == (90.0, 0.0)
    assert synth.hand_angles(0, 30) == (15.0, 180.0)
    hour, minute = synth.hand_angles(11, 45)
    assert hour == pytest.approx(352.5) and minute == 270.0


def _darkness_along(image, angle_deg, r0, r1):
    """Mean darkness (255 - pixel) sampled along a ray from the centre between radii r0 and r1."""
    c = (image.shape[0] - 1) / 2
    rs = np.linspace(r0, r1, 12)
    a = np.deg2rad(angle_deg)
    ys, xs = np.round(c - rs * np.cos(a)).astype(int), np.round(c + rs * np.sin(a)).astype(int)
    return float((255 - image[ys, xs].astype(float)).mean())


@pytest.mark.parametrize("hour,minute", [(3, 0), (7, 20), (10, 50), (0, 35), (5, 45)])
def test_drawn_hands_match_the_label(hour, minute):
    image = synth.render_clock(hour, minute, np.random.default_rng(0), size=150, clean=True)
    r = 0.42 * 150
    hour_deg, minute_deg = synth.hand_angles(hour, minute)
    # The minute hand reaches beyond the hour hand; the hour hand covers its own angle near the centre.
    assert _darkness_along(image, minute_deg, 0.6 * r, 0.8 * r) > 200
    assert _darkness_along(image, hour_deg, 0.15 * r, 0.45 * r) > 200
    assert _darkness_along(image, hour_deg, 0.6 * r, 0.8 * r) < 40  # the hour hand is short
    for empty in (minute_deg + 90, minute_deg + 180):
        if min(abs((empty - hour_deg + 180) % 360 - 180), 360) > 20:
            assert _darkness_along(image, empty, 0.6 * r, 0.8 * r) < 40


class _RomanDial:
    """Stands in for a random generator: draws a dial of Roman numerals at mid-range size and ring."""

    def choice(self, options, p=None):
        return "roman"

    def uniform(self, low, high):
        return (low + high) / 2

    def integers(self, n):
        return 0


def _ink_box(canvas, cx, cy, half):
    """Returns (width, height) of the ink's bounding box in the square of side 2 * half about (cx, cy)."""
    ys, xs = np.nonzero(canvas[cy - half:cy + half, cx - half:cx + half] < 128)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _roman_numerals(monkeypatch, radial_share):
    from PIL import Image, ImageDraw

    monkeypatch.setattr(synth, "RADIAL_SHARE", {"roman": radial_share})
    canvas = Image.new("L", (300, 300), 255)
    synth._draw_numerals(canvas, ImageDraw.Draw(canvas), _RomanDial(), 150, 150, 140, 0)
    return np.asarray(canvas)


def test_radial_numerals_stand_along_the_radius(monkeypatch):
    upright, radial = _roman_numerals(monkeypatch, 0.0), _roman_numerals(monkeypatch, 1.0)
    ring, half = round(140 * 0.7), 20
    # "XII" is drawn the same either way; "III" at three o'clock stands as the twelve does: a quarter turn.
    assert _ink_box(radial, 150, 150 - ring, half) == _ink_box(upright, 150, 150 - ring, half)
    width, height = _ink_box(upright, 150 + ring, 150, half)
    assert width > height + 3
    assert _ink_box(radial, 150 + ring, 150, half) == (height, width)


def test_cached_clocks_reuse_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path))
    images, labels = synth.cached_clocks(3, seed=5, size=32)
    assert len(list((tmp_path / "clock").glob("*.npy"))) == 3  # images, labels, dials
    again, _ = synth.cached_clocks(3, seed=5, size=32)
    assert np.array_equal(images, again)
    _, _, faces = synth.cached_clocks(3, seed=5, size=32, with_faces=True)
    assert faces.shape == (3, 4)
    # Files from another generator version are never reused.
    assert all(f"_v{synth.GENERATOR_VERSION}_" in p.name for p in (tmp_path / "clock").glob("*.npy"))
    monkeypatch.setattr(synth, "GENERATOR_VERSION", synth.GENERATOR_VERSION + 1)
    synth.cached_clocks(3, seed=5, size=32)
    assert len(list((tmp_path / "clock").glob("*.npy"))) == 6


def test_faces_leave_the_pixels_alone_and_mark_the_dial():
    images, labels = synth.make_clocks(6, seed=7)
    with_faces, same_labels, faces = synth.make_clocks(6, seed=7, with_faces=True)
    assert np.array_equal(images, with_faces) and np.array_equal(labels, same_labels)
    assert faces.shape == (6, 4) and faces.dtype == np.float32
    assert (np.abs(faces[:, :2] - 75) < 20).all() and ((faces[:, 2] > 35) & (faces[:, 2] < 80)).all()
    assert (np.abs(faces[:, 3]) < np.radians(30)).all() and (faces[:, 3] != 0).all()  # the tilt: N(0, 6) degrees
    parallel = synth.make_clocks(6, seed=7, workers=2, with_faces=True)[2]
    assert np.array_equal(faces, parallel)
    # A clean clock is centred and unprojected: its face is exactly where it was drawn.
    _, face = synth.render_clock_and_face(3, 0, np.random.default_rng(0), size=150, clean=True)
    assert face == (75.0, 75.0, 0.42 * 150, 0.0)


def test_mapped_face_follows_the_perspective_of_a_drawn_dot():
    from PIL import Image, ImageDraw

    size = 150
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * size / 2
    straight = corners + size / 2
    moved = corners * 0.8 + size / 2 + np.random.default_rng(0).normal(0, 8, (4, 2))
    dot = Image.new("L", (size, size), 0)
    ImageDraw.Draw(dot).ellipse([47, 57, 53, 63], fill=255)  # centred on (50, 60)
    photo = np.asarray(dot.transform((size, size), Image.PERSPECTIVE, synth._perspective_coeffs(straight, moved),
                                     Image.BILINEAR), float)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    cx, cy, r, turn = synth._mapped_face(straight, moved, 50, 60, 10)
    assert cx == pytest.approx((photo * xx).sum() / photo.sum(), abs=0.5)
    assert cy == pytest.approx((photo * yy).sum() / photo.sum(), abs=0.5)
    assert 6 < r < 10  # the corners moved in by ~20%
    assert abs(turn) < 0.3
    # Turned 30 degrees clockwise about the image centre, twelve o'clock points 30 degrees clockwise from up
    a = np.radians(30)
    turned = (straight - size / 2) @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + size / 2
    assert synth._mapped_face(straight, turned, 75, 75, 10) == pytest.approx((75, 75, 10, a), abs=1e-6)


# -- the Leiden format -------------------------------------------------------------------------
def test_leiden_round_trip_and_twelve_as_zero(tmp_path):
    images, labels = synth.make_clocks(4, seed=1)
    labels[0] = [12, 5]
    leiden.save_leiden(tmp_path, images, labels)
    loaded, loaded_labels = leiden.load_leiden(tmp_path)
    assert np.array_equal(loaded, images)
    assert loaded_labels.tolist()[0] == [0, 5] and loaded_labels.tolist()[1:] == labels.tolist()[1:]


def test_leiden_mismatched_counts_name_the_file(tmp_path):
    np.save(tmp_path / "images.npy", np.zeros((3, 150, 150), np.uint8))
    np.save(tmp_path / "labels.npy", np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"labels\.npy has 2 labels but .*images\.npy has 3"):
        leiden.load_leiden(tmp_path)


@pytest.mark.parametrize("images,labels,match", [
    (np.zeros((2, 150, 120), np.uint8), np.zeros((2, 2)), r"images\.npy: expected \(N, H, H\)"),
    (np.zeros((2, 150, 150), np.uint8), np.zeros((2, 3)), r"labels\.npy: expected \(N, 2\)"),
    (np.zeros((2, 150, 150), np.uint8), np.array([[1, 60], [0, 0]]), r"labels\.npy: hours must be"),
    (np.full((2, 150, 150), 300.0), np.zeros((2, 2)), r"images\.npy: expected uint8"),
])
def test_leiden_bad_arrays(tmp_path, images, labels, match):
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "labels.npy", labels)
    with pytest.raises(ValueError, match=match):
        leiden.load_leiden(tmp_path)


def test_leiden_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="images.npy"):
        leiden.load_leiden(tmp_path)
    (tmp_path / "images.npy").write_bytes(b"not a numpy file")
    np.save(tmp_path / "labels.npy", np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"images\.npy is not a readable \.npy"):
        leiden.load_leiden(tmp_path)
    np.save(tmp_path / "images.npy", np.array([object()] * 2), allow_pickle=True)  # pickles are refused
    with pytest.raises(ValueError, match=r"images\.npy"):
        leiden.load_leiden(tmp_path)


# -- metric and heads --------------------------------------------------------------------------
@pytest.mark.parametrize("true,predicted,error", [
    (11 * 60 + 55, 5, 10), (5, 11 * 60 + 55, 10), (0, 360, 360), (30, 690, 60), (125, 125, 0), (0, 719, 1),
])
def test_common_sense_error(true, predicted, error):
    assert models.common_sense_error(true, predicted) == error
    assert models.common_sense_error(np.array([true]), np.array([predicted]))[0] == error
    assert models.common_sense_error(torch.tensor([true]), torch.tensor([predicted])).item() == error


TIMES = torch.tensor([[0, 0], [3, 15], [11, 59], [6, 30], [9, 1]])


def _ideal_outputs(head: str, labels: torch.Tensor) -> torch.Tensor:
    """The outputs a perfect head would give for labels (B, 2)."""
    minutes = models.to_minutes(labels)
    if head == "regression":
        return (minutes.float() / 60)[:, None]
    if head == "classes24":
        return torch.nn.functional.one_hot(minutes // 30, 24).float() * 20
    if head == "classes720":
        return torch.nn.functional.one_hot(minutes, 720).float() * 20
    if head == "multi":
        return torch.cat([torch.nn.functional.one_hot(labels[:, 0], 12), torch.nn.functional.one_hot(labels[:, 1], 60)],
                         1).float() * 20
    if head == "hands":
        return torch.cat([torch.nn.functional.one_hot(labels[:, 1], 60).float() * 20,
                          _hour_hand_target(minutes).clamp_min(1e-9).log()], 1)
    hour_angle, minute_angle = minutes / 720 * 2 * np.pi, labels[:, 1] / 60 * 2 * np.pi
    return torch.stack([hour_angle.sin(), hour_angle.cos(), minute_angle.sin(), minute_angle.cos()], 1)


def _hour_hand_target(minutes: torch.Tensor) -> torch.Tensor:
    """(B, 60): the hour hand's position for minutes (B,), split between its two 6-degree sectors."""
    position = minutes.float() / 12
    target = torch.zeros(len(minutes), 60)
    for i, p in enumerate(position.tolist()):
        target[i, int(p) % 60] += 1 - (p - int(p))
        target[i, (int(p) + 1) % 60] += p - int(p)
    return target


def test_hands_head_reads_the_hour_from_the_hour_hand_and_the_minute():
    head = models.HandsHead()
    # 3:55: the hour hand is 11/12 of the way from 3 to 4 (sector 19.58); the minute says 55.
    minute = torch.nn.functional.one_hot(torch.tensor([55]), 60).float() * 20
    hour = torch.full((1, 60), -20.0)
    hour[0, 20] = 0.0  # a blurry hour hand reading that is nearest the 4 (sector 20)
    probs = head.probabilities(torch.cat([minute, hour], 1))
    assert probs.argmax().item() == 3 * 60 + 55  # not 4:55: the hour agrees with the minute
    # The loss of a perfect output is the entropy of the split hour-hand target (ln 2 at 2:30 = sector 12.5).
    out = _ideal_outputs("hands", torch.tensor([[2, 30]]))
    assert head.loss(out, torch.tensor([[2, 30]])).item() == pytest.approx(np.log(2), abs=1e-4)


@pytest.mark.parametrize("head", list(models.HEADS))
def test_each_head_decodes_its_ideal_output_to_the_label(head):
    model = models.build_reader(head, width=4)
    out = _ideal_outputs(head, TIMES)
    assert out.shape == (len(TIMES), model.head.size)
    probs = model.head.probabilities(out)
    assert probs.shape == (len(TIMES), 720)
    assert torch.allclose(probs.sum(1), torch.ones(len(TIMES)), atol=1e-4)
    errors = models.common_sense_error(models.to_minutes(TIMES), probs.argmax(1))
    assert errors.max().item() <= (15 if head == "classes24" else 0)
    entropy = -(_hour_hand_target(models.to_minutes(TIMES)).clamp_min(1e-9).log()
                * _hour_hand_target(models.to_minutes(TIMES))).sum(1).mean() if head == "hands" else 0
    assert model.head.loss(out, TIMES).item() < 0.05 + entropy  # hands: its hour target is split


@pytest.mark.parametrize("head,trunk", [("multi", "cartesian"), ("sincos", "polar"), ("hands", "polar"),
                                        ("polar", "polar")])
def test_readers_map_images_to_720_probabilities(head, trunk):
    model = models.build_reader(head, width=4, trunk=trunk).eval()
    probs = model.probabilities(torch.rand(3, 1, 72, 72))
    assert probs.shape == (3, 720) and torch.allclose(probs.sum(1), torch.ones(3), atol=1e-4)


def test_unknown_head_or_trunk():
    with pytest.raises(ValueError, match="unknown head 'clock'"):
        models.build_reader("clock")
    with pytest.raises(ValueError, match="unknown trunk 'spiral'"):
        models.build_reader("multi", trunk="spiral")


def test_cli_choices_match_the_models():
    from genlab.clock import cli  # keeps its own copies so that `--help` need not import torch

    assert cli.HEAD_NAMES == models.READER_HEADS
    assert cli.TRUNK_NAMES == models.TRUNKS
    from genlab.cli import build_parser

    args = build_parser().parse_args(["clock", "train", "--trunk", "face"])
    assert args.locator_steps == train.LOCATOR_STEPS


def test_polar_unwrap_puts_three_oclock_at_a_quarter_turn():
    x = torch.ones(1, 1, 72, 72)
    x[0, 0, 35:37, 36:70] = 0  # a dark hand pointing at 3
    polar = models.polar_unwrap(x, n_radii=16, n_angles=120)
    assert polar.shape == (1, 1, 16, 120)
    assert polar[0, 0].mean(0).argmin().item() == 30


def test_polar_unwrap_around_a_given_centre_and_radius():
    x = torch.ones(1, 1, 72, 72)
    x[0, 0, 17:19, 18:34] = 0  # a hand pointing at 3 from (18, 18), the centre of the top-left quarter
    centre, radius = torch.tensor([[-0.5, -0.5]]), torch.tensor([0.5])
    polar = models.polar_unwrap(x, n_radii=16, n_angles=120, centre=centre, radius=radius)
    assert polar[0, 0].mean(0).argmin().item() == 30
    assert polar[0, 0, :13, 30].max().item() < 0.5  # dark out to ~15 px of 18: the radius was scaled
    assert models.polar_unwrap(x, 16, 120)[0, 0].mean(0).min().item() > 0.8  # around the image centre: no hand


def test_face_trunk_trains_its_locator_then_reads_through_it(tmp_path):
    torch.set_num_threads(1)
    images, labels, faces = synth.make_clocks(8, seed=12, size=48, with_faces=True)
    with pytest.raises(ValueError, match="needs face geometry"):
        train.train_reader(images, labels, head="hands", trunk="face", steps=1, width=4, input_size=48)
    model = train.train_reader(images, labels, head="hands", trunk="face", steps=2, batch_size=4, width=4,
                               input_size=48, faces=faces, locator_steps=3)
    assert model.config.locator_steps == 3 and not model.locator.training
    errors = train.face_errors(model, images, faces)
    assert set(errors) >= {"centre_median_px", "radius_median_px"} and errors["centre_median_px"] >= 0
    x = train.prepare(images, 48)
    with torch.no_grad():
        one = model.probabilities(x, shifts=((0.0, 0.0),))
        assert torch.allclose(one, model.head.probabilities(model(x)))
        face = model.locate(x)
        moved = model.head.probabilities(model(x, face + torch.tensor([0.1, 0.0, 0.0])))
        assert torch.allclose(model.probabilities(x, shifts=((0.0, 0.0), (0.1, 0.0))), (one + moved) / 2, atol=1e-6)
        assert torch.allclose(model.probabilities(x).sum(1), torch.ones(8))
    locator_before = {k: v.clone() for k, v in model.locator.state_dict().items()}
    path = tmp_path / "face.safetensors"
    train.save_reader(model, path)
    loaded = train.load_reader(path)
    assert torch.allclose(train.predict_probabilities(loaded, images), train.predict_probabilities(model, images))
    # Fine-tuning keeps the locator frozen: only the reader moves.
    tuned = train.train_reader(images, labels, head="hands", trunk="face", steps=2, batch_size=4, width=4,
                               input_size=48, init=loaded)
    assert all(torch.equal(v, tuned.locator.state_dict()[k]) for k, v in locator_before.items())
    assert tuned.config.locator_steps == 3


def test_polar_reader_can_start_a_face_reader_but_not_another_head():
    images, labels, faces = synth.make_clocks(4, seed=13, size=48, with_faces=True)
    polar = train.train_reader(images, labels, head="hands", trunk="polar", steps=1, batch_size=4, width=4,
                               input_size=48)
    face = train.train_reader(images, labels, head="hands", trunk="face", steps=0, width=4, input_size=48,
                              init=polar, faces=faces, locator_steps=1)
    assert torch.equal(face.fc[2].weight, polar.fc[2].weight)  # steps=0: the polar weights as they were
    with pytest.raises(ValueError, match="cannot start a multi/face reader from a hands/polar one"):
        train.train_reader(images, labels, head="multi", trunk="face", steps=1, width=4, input_size=48,
                           init=polar, faces=faces, locator_steps=1)


def test_ellipse_matrix_is_the_squash_it_stands_for():
    aspect, angle = torch.tensor([0.5, 0.8, 1.0]), torch.tensor([0.3, 1.2, 2.0])
    shape = models.squash_shape(aspect, angle)
    matrix = models.ellipse_matrix(shape)
    for a, t, m in zip(aspect, angle, matrix):
        c, s = math.cos(t), math.sin(t)
        rotation = torch.tensor([[c, -s], [s, c]])
        squash = rotation @ torch.diag(torch.tensor([a.item(), 1.0])) @ rotation.T  # short axis along `angle`
        assert torch.allclose(m * a.sqrt(), squash, atol=1e-6)
        assert torch.linalg.det(m).item() == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(models.ellipse_matrix(torch.zeros(2, 2)), torch.eye(2).expand(2, 2, 2))


def _ring(size=72, centre=(0.1, -0.05), radius=0.6):
    """A dial (unit coordinates) whose brightness turns with the angle: (1, 1, size, size)."""
    line = torch.linspace(-1 + 1 / size, 1 - 1 / size, size)
    ys, xs = torch.meshgrid(line, line, indexing="ij")
    angle = torch.atan2(xs - centre[0], -(ys - centre[1]))
    inside = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2).sqrt() < radius
    return (inside * (0.5 + 0.5 * torch.cos(3 * angle)))[None, None]


def test_a_squashed_dial_unwraps_face_on_with_its_shape():
    x = _ring().repeat(4, 1, 1, 1)
    faces = torch.tensor([[0.1, -0.05, 0.6]] * 4)
    squashed, found = train.squash_batch(x, faces, 1.0, torch.Generator().manual_seed(0))
    assert found.shape == (4, 6) and torch.allclose(found[:, :2], faces[:, :2])
    assert (found[:, 2] < 0.6).all() and (found[:, 3:5].norm(dim=1) > 0).all()
    assert torch.equal(found[:, 5], torch.zeros(4))  # not turned
    face_on = models.polar_unwrap(x[:1], 16, 48, faces[:1, :2], 0.9 * faces[:1, 2])
    rectified = models.polar_unwrap(squashed, 16, 48, found[:, :2], 0.9 * found[:, 2], found[:, 3:5])
    as_circle = models.polar_unwrap(squashed, 16, 48, found[:, :2], 0.9 * found[:, 2])
    assert (rectified - face_on).abs().mean().item() < 0.03 < (as_circle - face_on).abs().mean().item()
    kept, plain = train.squash_batch(x, faces, 0.0, torch.Generator().manual_seed(0))
    assert torch.allclose(kept, x, atol=1e-5) and torch.equal(plain[:, 3:], torch.zeros(4, 3))
    slanted = train.slanted((x[:, 0] * 255).to(torch.uint8).numpy(), (faces.numpy() + [1, 1, 0]) * 36, 0.5, seed=1)
    assert slanted.shape == (4, 72, 72) and slanted.dtype == np.uint8 and (slanted != x[:, 0].numpy() * 255).any()


def test_a_turned_dial_keeps_its_place_and_its_ellipse_turns_with_it():
    x = _ring().repeat(4, 1, 1, 1)
    faces = torch.tensor([[0.1, -0.05, 0.6]] * 4)
    plain = train.squash_batch(x, faces, 1.0, torch.Generator().manual_seed(0))
    turned, found = train.squash_batch(x, faces, 1.0, torch.Generator().manual_seed(0), turn=40.0)
    assert not torch.allclose(turned, plain[0], atol=0.05)
    assert torch.allclose(found[:, :3], plain[1][:, :3])  # the same place and size, the same ellipse turned
    assert torch.allclose(found[:, 3:5].norm(dim=1), plain[1][:, 3:5].norm(dim=1))
    assert (found[:, 5].abs() > 0).all() and found[:, 5].abs().max() < math.radians(4 * 40)
    face_on = models.polar_unwrap(x[:1], 16, 120, faces[:1, :2], 0.9 * faces[:1, 2])
    rectified = models.polar_unwrap(turned, 16, 120, found[:, :2], 0.9 * found[:, 2], found[:, 3:5])
    # Read along the turned ellipse, the dial is the face-on one turned: some roll of its columns matches
    errors = [(rectified - face_on.roll(k, dims=3)).abs().mean(dim=(1, 2, 3)) for k in range(120)]
    assert (torch.stack(errors).min(0).values < 0.05).all()
    assert (torch.stack(errors)[0] > 0.1).any()  # not the unrolled one: twelve o'clock is elsewhere
    # ...and started at the dial's own twelve o'clock (its turn), it is the face-on dial itself, upright
    upright = models.polar_unwrap(turned, 16, 120, found[:, :2], 0.9 * found[:, 2], found[:, 3:5], found[:, 5])
    assert ((upright - face_on).abs().mean(dim=(1, 2, 3)) < 0.05).all()
    round_dial = train.squash_batch(x, faces, 0.0, torch.Generator().manual_seed(0), turn=40.0)[1]
    assert torch.equal(round_dial[:, 3:5], torch.zeros(4, 2))  # a turned round dial is still round
    # Only a disc of TURN_DISC radii turns: beyond it the photo stays, so no turned corner gives the turn away;
    # with the dial unknown (a centred dial of the whole image's size) all of it turns
    image = torch.rand(2, 1, 72, 72, generator=torch.Generator().manual_seed(5))
    small = torch.tensor([[0.0, 0.0, 0.3]] * 2)
    kept = train.squash_batch(image, small, 0.0, torch.Generator().manual_seed(0), turn=40.0)[0]
    corner = (slice(None), slice(None), slice(0, 10), slice(0, 10))
    assert torch.allclose(kept[corner], image[corner], atol=1e-5) and not torch.allclose(kept, image, atol=0.05)
    whole = train.squash_batch(image, torch.tensor([[0.0, 0.0, 1.0]] * 2), 0.0, torch.Generator().manual_seed(0),
                               turn=40.0)[0]
    assert not torch.allclose(whole[corner], image[corner], atol=0.05)
    # A dial drawn turned already (the generator's tilt, faces' 4th column) ends turned by both
    drawn_turned = torch.cat([faces, torch.full((4, 1), 0.2)], 1)
    both = train.squash_batch(x, drawn_turned, 1.0, torch.Generator().manual_seed(0), turn=40.0)[1]
    assert torch.allclose(both[:, 5], found[:, 5] + 0.2) and torch.allclose(both[:, :5], found[:, :5])


def test_an_ellipse_reader_grows_from_a_face_reader_and_round_trips(tmp_path):
    torch.set_num_threads(1)
    images, labels, faces = synth.make_clocks(8, seed=14, size=48, with_faces=True)
    face = train.train_reader(images, labels, head="hands", trunk="face", steps=1, batch_size=4, width=4,
                              input_size=48, faces=faces, locator_steps=2)
    x = train.prepare(images, 48)
    widened = models.FaceLocator(outputs=5).widen(face.locator).eval()
    with torch.no_grad():
        assert torch.allclose(widened(x)[:, :3], face.locator(x), atol=1e-6)
        assert torch.equal(widened(x)[:, 3:], torch.zeros(8, 2))  # a round dial until it learns
    ellipse = train.train_reader(images, labels, head="hands", trunk="ellipse", steps=2, batch_size=4, width=4,
                                 input_size=48, init=face, faces=faces, locator_steps=3, squash=0.5)
    assert ellipse.config.locator_steps == 2 + 3 and ellipse.config.squash == 0.5
    assert ellipse.locate(x).shape == (8, 5)
    still = train.train_reader(images, labels, head="hands", trunk="ellipse", steps=1, batch_size=4, width=4,
                               input_size=48, init=face, faces=faces, locator_steps=2, locator_lr=0.0)
    grown = dict(widened.named_parameters())  # a locator that learns at rate 0 keeps the grown weights
    assert all(torch.equal(value, grown[name]) for name, value in still.locator.named_parameters())
    assert not all(torch.equal(value, grown[name]) for name, value in ellipse.locator.named_parameters())
    path = tmp_path / "ellipse.safetensors"
    train.save_reader(ellipse, path)
    loaded = train.load_reader(path)
    assert loaded.config.trunk == "ellipse"
    assert torch.allclose(train.predict_probabilities(loaded, images), train.predict_probabilities(ellipse, images))
    with pytest.raises(ValueError, match="cannot start a hands/face reader from a hands/ellipse one"):
        train.train_reader(images, labels, head="hands", trunk="face", steps=1, width=4, input_size=48,
                           init=loaded, faces=faces)
    # ... and an aligned reader from the ellipse one: the same ellipse at first, upright until it learns turns
    aligned_locator = models.FaceLocator(outputs=6).widen(ellipse.locator).eval()
    with torch.no_grad():
        assert torch.allclose(aligned_locator(x)[:, :5], ellipse.locator(x), atol=1e-6)
        assert torch.equal(aligned_locator(x)[:, 5], torch.zeros(8))
    aligned = train.train_reader(images, labels, head="hands", trunk="aligned", steps=1, batch_size=4, width=4,
                                 input_size=48, init=loaded, faces=faces, locator_steps=3, squash=0.5, turn=20.0)
    assert aligned.config.locator_steps == 5 + 3 and aligned.config.turn == 20.0
    assert aligned.locate(x).shape == (8, 6) and aligned.locate(x)[:, 5].abs().sum() > 0  # it learnt some turn
    train.save_reader(aligned, tmp_path / "aligned.safetensors")
    again = train.load_reader(tmp_path / "aligned.safetensors")
    assert torch.allclose(train.predict_probabilities(again, images), train.predict_probabilities(aligned, images))


# -- training and checkpoints -----------------------------------------------------------------
def test_prepare_shapes_and_gamma():
    images = np.full((2, 150, 150), 64, np.uint8)
    x = train.prepare(images, input_size=48)
    assert x.shape == (2, 1, 48, 48) and x.dtype == torch.float32
    assert x.mean().item() == pytest.approx(64 / 255, abs=1e-3)
    assert train.prepare(images, 48, gamma=0.5).mean().item() == pytest.approx((64 / 255) ** 0.5, abs=1e-3)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        train.prepare(np.zeros((150, 150), np.uint8))


@pytest.mark.slow
def test_training_overfits_a_few_clocks():
    torch.set_num_threads(1)
    images, labels = synth.make_clocks(8, seed=11, size=48)
    losses = []
    model = train.train_reader(images, labels, head="polar", steps=60, batch_size=8, width=6, input_size=48,
                               on_progress=lambda p: losses.append(p.losses["loss"]))
    assert len(losses) == 60 and np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert train.evaluate(model, images, labels)["hour_accuracy"] >= 0.75


def test_save_load_round_trip_reproduces_outputs(tmp_path):
    images, labels = synth.make_clocks(4, seed=2, size=48)
    model = train.train_reader(images, labels, head="multi", trunk="polar", steps=2, batch_size=4, width=4,
                               input_size=48, gamma=0.6)
    model.config.metrics = {"median_error": 1.5}
    path = tmp_path / "reader.safetensors"
    train.save_reader(model, path)
    loaded = train.load_reader(path)
    assert loaded.config == model.config
    assert torch.allclose(train.predict_probabilities(loaded, images), train.predict_probabilities(model, images))


def test_load_reader_refuses_foreign_and_broken_files(tmp_path):
    from safetensors.torch import save_file

    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        train.load_reader(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="garbage.safetensors is not a readable safetensors file"):
        train.load_reader(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "something else"})
    with pytest.raises(ValueError, match="foreign.safetensors is not a genlab clock reader"):
        train.load_reader(foreign)


def test_hard_cases_leave_labels_alone_and_are_deterministic():
    plain, labels, faces = synth.make_clocks(12, seed=21, with_faces=True)
    none, labels_none = synth.make_clocks(12, seed=21, hard=0.0)
    hard, labels_hard, faces_hard = synth.make_clocks(12, seed=21, with_faces=True, hard=1.0)
    again, _ = synth.make_clocks(12, seed=21, hard=1.0)
    assert np.array_equal(none, plain)  # hard=0: the same clocks as before hard cases existed
    assert np.array_equal(labels_hard, labels) and np.array_equal(hard, again)
    assert sum(not np.array_equal(a, b) for a, b in zip(hard, plain)) >= 10  # almost every clock gets some
    assert ((faces_hard[:, :2] > 30) & (faces_hard[:, :2] < 120)).all()  # foreshortened dials stay in view
    assert (faces_hard[:, 2] > 25).all()


def test_hard_extras_cover_each_case():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        seen |= set(synth.hard_extras(rng))
    assert seen == {"subdials", "text", "hollow", "tail", "counterweight", "luminous", "foreshorten", "ornament",
                    "thin", "second", "date", "winding", "chrono", "spot", "sweep", "long_hour", "ornate", "centre",
                    "defocus"}


def _clean_clocks(hour: int, minute: int, **cases) -> tuple:
    """Returns ({"plain": a clean clock showing hour:minute, name: the same clock drawn with the hard cases
    cases[name]}, the clock's face (cx, cy, r, turn)): clean clocks are upright, centred and round, all drawn from
    one seed."""
    drawn = {}
    for name, hard in (("plain", {}), *cases.items()):
        drawn[name], face = synth.render_clock_and_face(hour, minute, np.random.default_rng(5), clean=True, hard=hard)
    return drawn, face


def _hard_sample() -> list:
    """Returns 400 draws of synth.hard_extras (seed 3): how often each case comes, and its ranges."""
    rng = np.random.default_rng(3)
    return [synth.hard_extras(rng) for _ in range(400)]


def test_a_date_window_is_a_framed_box_with_the_day_in_it_where_it_was_asked_for():
    drawn, face = _clean_clocks(10, 10, date={"date": (90.0, 0.65, 17, True)})
    cx, cy, r, _ = face
    ys, xs = np.nonzero(drawn["plain"] != drawn["date"])
    x, y = cx + 0.65 * r, cy  # three o'clock, 0.65 radii out
    assert len(xs) > 50  # the frame and the figures
    assert (np.abs(xs + 0.5 - x) <= 0.11 * r + 1).all() and (np.abs(ys + 0.5 - y) <= 0.075 * r + 1).all()
    box = drawn["date"][round(y - 0.06 * r):round(y + 0.06 * r), round(x - 0.1 * r):round(x + 0.1 * r)]
    assert (box < 200).sum() > 5 and (box >= 250).sum() > 20  # dark figures on a light box


def test_winding_holes_are_dark_holes_where_they_were_asked_for():
    drawn, face = _clean_clocks(10, 10, winding={"winding": ((120.0, 240.0), 0.45, 0.07, True)})
    cx, cy, r, _ = face  # the hands at ten past ten miss four and eight
    ys, xs = np.nonzero(drawn["plain"] != drawn["winding"])
    holes = [(cx + 0.45 * r * math.sin(math.radians(a)), cy - 0.45 * r * math.cos(math.radians(a))) for a in (120, 240)]
    nearest = np.min([np.hypot(xs + 0.5 - x, ys + 0.5 - y) for x, y in holes], axis=0)
    assert len(xs) > 50 and (nearest <= 1.35 * 0.07 * r + 1.5).all()  # each hole and its rim, nothing else
    for x, y in holes:
        ring = drawn["winding"][round(y - 0.06 * r):round(y + 0.06 * r), round(x - 0.06 * r):round(x + 0.06 * r)]
        assert (ring < 40).sum() > 10 and (ring > 100).sum() > 0  # a dark hole, the arbor lighter in it


def test_chronograph_subdials_have_their_own_numerals_and_hands_inside_their_rings():
    # one subdial at six o'clock, 0.45 radii out, 0.3 radii across: numerals 1-12, two bar hands at 90 and 200 degrees
    chrono = [(180.0, 0.3, 0.45, "hours", "bar", 0.03, (90.0, 200.0))]
    drawn, face = _clean_clocks(10, 10, chrono={"chrono": chrono})
    cx, cy, r, _ = face  # the hands at ten past ten miss six
    x, y, d = cx, cy + 0.45 * r, 0.3 * r
    ys, xs = np.nonzero(drawn["plain"] != drawn["chrono"])
    assert len(xs) > 200 and (np.hypot(xs + 0.5 - x, ys + 0.5 - y) <= d + 1.5).all()  # nothing outside its ring
    for angle, length in ((90.0, 0.85 * d), (200.0, 0.6 * d)):  # each hand is ink from the pivot towards its tip
        tip = (x + 0.8 * length * math.sin(math.radians(angle)), y - 0.8 * length * math.cos(math.radians(angle)))
        assert drawn["chrono"][round(tip[1] - 0.5), round(tip[0] - 0.5)] < 60
    extras = _hard_sample()
    chronos = [e for e in extras if "chrono" in e]
    assert 0.1 < len(chronos) / len(extras) < 0.3 and not any("subdials" in e for e in chronos)  # in their place
    assert all(size + distance <= 0.9 for e in chronos for _, size, distance, *_ in e["chrono"])  # inside the dial


def test_a_sweep_second_hand_is_a_dark_line_through_the_pivot_with_a_long_tail():
    drawn, face = _clean_clocks(10, 10, sweep={"sweep": (0.4, 0.0)})
    cx, cy, r, _ = face  # a clean clock has no second hand of its own
    ys, xs = np.nonzero(drawn["plain"] != drawn["sweep"])
    assert len(xs) > 50 and (drawn["sweep"][ys, xs] < 60).all()  # dark: the hands' own ink
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    u, v = np.linalg.svd(np.stack([dx, dy]), full_matrices=False)[0].T  # the line's direction and its normal
    along, across = u[0] * dx + u[1] * dy, v[0] * dx + v[1] * dy
    assert (np.abs(across) <= 2.0).all()  # one straight line through the pivot
    tail, tip = sorted([-along.min(), along.max()])
    assert 0.35 * r <= tail <= 0.42 * r and tip >= 0.78 * r  # the tail as long as an hour hand, the tip near the rim


def test_a_long_hour_hand_reaches_as_far_as_asked_and_the_new_cases_come_at_their_shares():
    drawn, face = _clean_clocks(3, 0, long={"long_hour": 0.85})
    cx, cy, r, _ = face  # three o'clock: the hour hand points right, the minute hand up
    row = round(cy - 0.5)
    for name, reach in (("plain", 0.5), ("long", 0.85 * 0.85)):
        ink = np.nonzero(drawn[name][row, round(cx):] < 60)[0]
        assert abs(ink.max() + 0.5 - (reach * r)) <= 1.5  # the hour hand's tip
    extras = _hard_sample()
    share = {k: sum(k in e for e in extras) / len(extras) for k in ("sweep", "long_hour", "spot")}
    assert 0.2 < share["sweep"] < 0.4 and 0.08 < share["long_hour"] < 0.22 and 0.2 < share["spot"] < 0.4
    assert all(0.75 <= e["long_hour"] <= 0.9 for e in extras if "long_hour" in e)


def test_a_spot_of_glare_whitens_the_glass_where_it_was_asked_for():
    drawn = {}
    for name, hard in (("plain", {}), ("spot", {"spot": (0.4, -0.3, 0.2, 0.9)})):
        drawn[name], face = synth.render_clock_and_face(4, 40, np.random.default_rng(5), hard=hard)
    cx, cy, r, _ = face
    lift = drawn["spot"].astype(float) - drawn["plain"]
    ys, xs = np.nonzero(lift > 40)
    assert len(xs) > 30 and lift.max() > 100 and lift.min() > -30  # brighter (JPEG darkens a few pixels a little)
    assert np.hypot(xs.mean() + 0.5 - (cx + 0.4 * r), ys.mean() + 0.5 - (cy - 0.3 * r)) < 0.15 * r  # where asked
    yy, xx = np.mgrid[:lift.shape[0], :lift.shape[1]] + 0.5
    assert np.percentile(np.abs(lift[np.hypot(xx - cx, yy - cy) > 1.4 * r]), 99) <= 10  # on the glass only


def test_app_training_runs_in_the_same_second_get_their_own_readers(tmp_path, monkeypatch):
    monkeypatch.setattr(train.time, "strftime", lambda _: "20260101-120000")  # both start "in the same second"
    reports = []
    paths = [train.training_work("polar", 8, 1, None, tmp_path)(reports.append, threading.Event())["path"]
             for _ in range(2)]
    assert [Path(p).name for p in paths] == ["polar_20260101-120000.safetensors", "polar_20260101-120000-2.safetensors"]
    assert all(train.load_reader(p).config.head == "polar" for p in paths)
    assert reports[-1]["phase"] == "training" and reports[-1]["done"] == reports[-1]["total"] == 9


def test_cli_trains_an_aligned_reader_from_an_ellipse_one_and_keeps_a_flat_history(tmp_path, monkeypatch, capsys):
    from genlab.cli import main

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    common = ["--head", "hands", "--n-train", "8", "--n-test", "4", "--steps", "1", "--width", "4", "--threads", "1",
              "--locator-steps", "2", "--squash", "0.5"]
    first, second = tmp_path / "ellipse.safetensors", tmp_path / "aligned.safetensors"
    assert main(["clock", "train", *common, "--trunk", "ellipse", "--out", str(first)]) == 0
    assert main(["clock", "train", *common, "--trunk", "aligned", "--turn", "15", "--init", str(first), "--seed", "3",
                 "--out", str(second)]) == 0
    assert main(["clock", "train", *common, "--trunk", "aligned", "--init", str(second), "--seed", "4",
                 "--out", str(second)]) == 0
    reader = train.load_reader(second)
    assert reader.config.trunk == "aligned" and reader.config.locator_steps == 2 + 2
    history = reader.config.trained_on["history"]
    assert [run["seed"] for run in history] == [1, 3] and all("history" not in run for run in history)
    assert "held-out synthetic" in capsys.readouterr().out


def _trained_a_little(model: torch.nn.Module, x: torch.Tensor, *args) -> torch.nn.Module:
    """Returns model after a few training steps on x, so its BatchNorms hold statistics and scales of their own."""
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    for _ in range(3):
        optimiser.zero_grad()
        model(x, *args).square().mean().backward()
        optimiser.step()
    return model.eval()


@pytest.mark.parametrize("make", ["aligned", "polar", "detector", "twelve"])
def test_a_model_for_reading_gives_the_same_outputs_without_its_batchnorms(make):
    from genlab.clock import detect, twelve

    torch.manual_seed(0)
    x = torch.rand(4, 1, 72, 72)
    face = torch.tensor([[0.05, -0.05, 0.8, 0.1, 0.0, 0.2]]).repeat(4, 1)
    model, args = {"aligned": (models.build_reader("hands", 8, "aligned"), ()),
                   "polar": (models.build_reader("polar", 8), ()),
                   "detector": (detect.DialDetector(8), ()),
                   "twelve": (twelve.TwelveFinder(8), (face,))}[make]
    model = _trained_a_little(model, x, *args)
    with torch.no_grad():
        before = model(x, *args)
        fast = models.for_reading(model)
        after = fast(x, *args)
    assert fast is model and not model.training
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not any("running_mean" in name for name in model.state_dict())
    assert after.shape == before.shape and torch.allclose(after, before, atol=1e-4, rtol=1e-4)


def _across(image, cx, cy, along) -> np.ndarray:
    """Returns the dark pixels' offsets across a hand pointing up (twelve o'clock), `along` pixels from the pivot."""
    row = image[round(cy - along - 0.5)]
    return np.nonzero(row < 100)[0] + 0.5 - cx


def test_ornate_hands_have_scrolls_on_a_thin_shaft_and_a_pierced_spade():
    ornate = {"black": (0.3, 0.04, True, 0.0), "solid": (0.3, 0.04, False, 0.0), "gilt": (0.3, 0.04, True, 0.45)}
    drawn, face = _clean_clocks(3, 0, **{k: {"ornate": v} for k, v in ornate.items()})
    cx, cy, r, _ = face  # three o'clock on a clean clock: the hour hand (0.5 radii) right, the minute hand (0.85) up
    ys, xs = np.nonzero(drawn["plain"] != drawn["black"])
    assert len(xs) > 100 and (np.hypot(xs + 0.5 - cx, ys + 0.5 - cy) <= 0.87 * r).all()  # the hands, nothing else
    c, length = 0.04 * r, 0.85 * r
    scrolls = _across(drawn["black"], cx, cy, 0.3 * length - 0.3 * c)
    shaft = _across(drawn["black"], cx, cy, 0.55 * length)  # past the scrolls, before the minute hand's lozenge
    assert scrolls.min() <= -(1.5 * c) and scrolls.max() >= 1.5 * c  # curls on both sides
    assert np.ptp(shaft) <= 0.035 * r + 1 and abs(shaft.mean()) <= 1  # a thin shaft, upright
    row, hole = round(cy - 0.5), round(cx + 0.84 * 0.5 * r - 0.5)  # the middle of the hour hand's spade
    assert drawn["black"][row, hole] > 200 and drawn["solid"][row, hole] < 60  # a hole where pierced, ink where not
    gilt = drawn["gilt"][round(cy - 0.55 * length - 0.5)]
    assert abs(int(gilt[round(cx - 0.5)]) - 0.45 * 245) <= 3  # gilt: between the ink (0) and the face (245)
    assert gilt[round(cx - 0.5):round(cx + 3)].min() < 60  # its dark shadow, to the lower right


def test_a_centre_disc_is_another_shade_inside_its_radius_and_light_hands_go_with_a_dark_one():
    cases = {"disc": (0.5, 0.4, False, False), "rays": (0.5, 0.4, True, False), "wood": (0.6, 0.85, False, True)}
    drawn, face = _clean_clocks(3, 0, **{k: {"centre": v} for k, v in cases.items()})
    cx, cy, r, _ = face  # three o'clock on a clean clock: the hour hand points right, the minute hand up
    ys, xs = np.nonzero(drawn["plain"] != drawn["disc"])
    assert len(xs) > 500 and (np.hypot(xs + 0.5 - cx, ys + 0.5 - cy) <= 0.5 * r + 1).all()
    x, y = round(cx - 0.3 * r * 0.7), round(cy + 0.3 * r * 0.7)  # lower left: no hand there
    assert abs(int(drawn["disc"][y, x]) - round(0.6 * 245)) <= 1  # 0.4 of the way from the face (245) to the ink (0)
    ring = [drawn["rays"][round(cy + 0.3 * r * np.cos(a)), round(cx - 0.3 * r * np.sin(a))]
            for a in np.linspace(1.7, 2.9, 40)]
    assert min(ring) < 147 - 8 and max(ring) > 147 + 8  # a sunburst: rays lighter and darker by turns
    hand = drawn["wood"][round(cy - 0.5), round(cx + 0.3 * r)]
    assert hand > 200 and drawn["plain"][round(cy - 0.5), round(cx + 0.3 * r)] < 60  # light hands, not ink
    extras = _hard_sample()
    share = {k: sum(k in e for e in extras) / len(extras) for k in ("ornate", "centre")}
    assert 0.12 < share["ornate"] < 0.28 and 0.12 < share["centre"] < 0.28
    assert all(0.4 <= e["centre"][0] <= 0.7 for e in extras if "centre" in e)


def test_a_point_out_of_focus_spreads_evenly_over_a_disc_of_the_asked_radius():
    point = np.zeros((41, 41), np.float32)
    point[20, 20] = 1000
    spread = synth.defocused(point, 5.0)
    yy, xx = np.mgrid[:41, :41]
    distance = np.hypot(yy - 20, xx - 20)
    inside = spread[distance <= 4.4]
    assert abs(spread.sum() - 1000) < 0.01 and np.ptp(inside) < 1e-3  # nothing lost, spread evenly ...
    assert abs(inside.mean() - 1000 / (np.pi * 5 ** 2)) < 0.02 * inside.mean()  # ... over the disc's area ...
    assert np.abs(spread[distance >= 6]).max() < 1e-3  # ... and nothing beyond its rim
    halves = np.zeros((30, 60), np.float32)
    halves[:, 30:] = 200
    blurred = synth.defocused(halves, 4.0)
    assert np.abs(blurred[:, :20]).max() < 1e-3 and np.abs(blurred[:, 40:] - 200).max() < 1e-3  # edges not wrapped
    assert 80 < blurred[15, 29] < 100 < blurred[15, 30] < 120 and 20 < blurred[15, 27] < 40  # the step softened


def test_a_clock_out_of_focus_is_the_same_clock_blurred_and_comes_at_its_share():
    drawn, faces = {}, {}
    for name, hard in (("plain", {}), ("defocus", {"defocus": 0.08})):
        image, faces[name] = synth.render_clock_and_face(4, 40, np.random.default_rng(5), hard=hard)
        drawn[name] = image.astype(float)
    assert faces["defocus"] == faces["plain"]  # the same dial, in the same place
    detail = {name: np.abs(np.diff(image, axis=1)).mean() for name, image in drawn.items()}
    assert detail["defocus"] < 0.6 * detail["plain"]  # its edges softened
    assert abs(drawn["defocus"].mean() - drawn["plain"].mean()) < 2  # in the same light
    extras = _hard_sample()
    assert 0.17 < sum("defocus" in e for e in extras) / len(extras) < 0.33
    assert all(0.03 <= e["defocus"] <= 0.1 for e in extras if "defocus" in e)
