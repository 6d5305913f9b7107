"""Reading clocks: upload preprocessing, bad input, read_clock, the CLI."""

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.clock import models, preprocess, read, synth, train
from genlab.clock.models import common_sense_error


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny_reader():
    """An untrained (but valid) polar reader: fast, for code paths rather than accuracy."""
    torch.manual_seed(0)
    images, labels = synth.make_clocks(4, seed=0, size=48)
    return train.train_reader(images, labels, head="polar", steps=1, batch_size=4, width=4)


def test_exif_rotated_jpeg_is_turned_upright():
    upright = Image.new("RGB", (200, 120), "white")
    upright.paste((0, 0, 0), (0, 0, 200, 40))  # a dark band along the top
    stored = upright.rotate(90, expand=True)  # what a phone stores, with "rotate 90 CW to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    opened = preprocess.open_image(buffer.getvalue())
    assert opened.size == (200, 120)
    gray = np.asarray(opened.convert("L"), float)
    assert gray[:30].mean() < 40 and gray[50:].mean() > 215
    face = preprocess.preprocess_upload(buffer.getvalue())
    assert face.image.shape == (150, 150) and face.image.dtype == np.uint8


def test_rgba_webp_and_arrays_are_accepted():
    clock = synth.make_clocks(1, seed=3)[0][0]
    rgba = Image.fromarray(clock).convert("RGBA")
    buffer = io.BytesIO()
    rgba.save(buffer, "WEBP", lossless=True)
    assert preprocess.open_image(buffer.getvalue()).mode == "RGB"
    assert preprocess.open_image(clock).size == (150, 150)


def test_uncropped_150_clock_passes_through_unchanged():
    clock = synth.make_clocks(1, seed=4)[0][0]
    face = preprocess.preprocess_upload(clock)
    assert np.abs(face.image.astype(int) - clock).mean() < 1.0
    assert face.box == (0.0, 0.0, 150.0) and face.source == "centre" and face.scale == 1.0


def test_start_boxes_are_the_centre_square_and_for_wide_photos_the_whole_photo():
    wide = preprocess.open_photo(np.full((400, 600), 90, np.uint8) + np.eye(400, 600, dtype=np.uint8) * 50)
    assert preprocess.start_boxes(wide) == [((100.0, 0.0, 400), "centre"), ((0.0, -100.0, 600), "whole")]
    assert preprocess.start_boxes(wide, crop=False) == [((100.0, 0.0, 400), "centre")]
    squareish = preprocess.open_photo(np.full((400, 440), 90, np.uint8) + np.eye(400, 440, dtype=np.uint8) * 50)
    assert [source for _, source in preprocess.start_boxes(squareish)] == ["centre"]
    assert preprocess.square_around(10, 20, 100, 50) == (10, -5.0, 100)


def test_big_jpegs_are_read_at_working_size_in_original_pixels(monkeypatch):
    monkeypatch.setattr(preprocess, "FLAT_RANGE", 0)  # the noise, averaged down, is flat: compare it unstretched
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 255, (3000, 4000), dtype=np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=80)
    photo = preprocess.open_photo(buffer.getvalue())
    assert photo.size == (4000, 3000) and max(photo.image.size) <= preprocess.WORK_SIDE
    assert photo.gray.shape == photo.image.size[::-1] and photo.scale == pytest.approx(photo.image.width / 4000)
    assert preprocess.open_photo(photo) is photo  # opened once: read_clock reads a Photo as it is
    face = preprocess.crop_face(photo, (1000, 1000, 1000))  # a box in original pixels
    assert face.image.shape == (150, 150) and face.box == (1000.0, 1000.0, 1000.0)
    expected = np.asarray(Image.fromarray(photo.gray).crop(
        tuple(round(v * photo.scale) for v in (1000, 1000, 2000, 2000))).resize((150, 150), Image.BILINEAR), float)
    assert np.abs(face.image - expected).mean() < 12  # the same region (noise differs by resampling only)
    with pytest.raises(ValueError, match="positive side"):
        preprocess.crop_face(photo, (0, 0, 0))


def test_a_dim_or_flat_crop_is_stretched_to_the_full_grey_range_and_others_are_left_as_they_are():
    clock = synth.make_clocks(1, seed=4)[0][0]  # a synthetic dial: dark hands on a light face
    dim = (clock * 0.3).astype(np.uint8)        # the same dial in a dim photo: levels 0..76
    face = preprocess.crop_face(preprocess.open_photo(dim), (0, 0, 150))
    low, high = np.percentile(face.image, [1, 99])
    assert low <= 2 and high >= 250  # the reader sees the dim dial at full contrast
    stretched = preprocess.stretch_flat(dim)
    assert np.corrcoef(stretched.ravel(), dim.ravel())[0, 1] > 0.99  # the same picture, brighter
    full = np.tile(np.linspace(0, 255, 150).astype(np.uint8), (150, 1))
    assert preprocess.stretch_flat(full) is full  # a crop spanning FLAT_RANGE levels or more: as it is
    blank = np.full((150, 150), 120, np.uint8)
    blank[0, 0] = 125
    assert preprocess.stretch_flat(blank) is blank  # nothing to stretch: noise is not made into a picture


def _red_hand_clock() -> np.ndarray:
    """Returns a (150, 150, 3) white dial with a black hand towards twelve and a red one towards three."""
    image = np.full((150, 150, 3), 235, np.uint8)
    image[20:75, 72:78] = 0  # black, up
    image[72:78, 75:130] = (200, 20, 20)  # red, right
    return image


def test_colour_photos_are_read_in_three_views_grey_ones_in_one():
    photo = preprocess.open_photo(_red_hand_clock())
    luminance, brightest, darkest = photo.views
    assert luminance is photo.gray
    red, black, face = (slice(72, 78), slice(90, 120)), (slice(30, 60), slice(72, 78)), (slice(100, 140), slice(20, 60))
    assert brightest[red].min() >= 200 and darkest[red].max() <= 20  # the red hand drops out / stays dark
    assert 60 < luminance[red].mean() < 120
    for view in photo.views:
        assert view[black].max() == 0 and view[face].min() == 235  # black hand and white face alike in all
    face_crop = preprocess.crop_face(photo, (0, 0, 150), view=1)
    assert np.abs(face_crop.image.astype(int) - brightest).mean() < 1
    grey = preprocess.open_photo(np.repeat(synth.make_clocks(1, seed=4)[0][0][..., None], 3, axis=2))
    assert len(grey.views) == 1
    speck = np.repeat(synth.make_clocks(1, seed=4)[0][0][..., None], 3, axis=2)
    speck[0, 0] = (255, 0, 0)  # one coloured pixel (under 0.1%): still a grey photo
    assert len(preprocess.open_photo(speck).views) == 1


def test_read_clock_reads_every_view_of_a_colour_photo(tiny_reader):
    _, chains = read.time_distribution(_red_hand_clock(), tiny_reader, crop=False)
    assert [face.source for _, face, *_ in chains] == ["centre"] * 3
    assert not np.allclose(chains[1][0], chains[2][0])  # the views differ, and so do their readings
    _, chains = read.time_distribution(_red_hand_clock(), tiny_reader, box=(0, 0, 150))
    assert [face.source for _, face, *_ in chains] == ["user"] * 3
    _, chains = read.time_distribution(synth.make_clocks(1, seed=4)[0][0], tiny_reader, crop=False)
    assert len(chains) == 1


@pytest.mark.parametrize("data,match", [
    (b"hello, I am not an image", "not an image"),
    (_png(Image.new("L", (80, 80), 0))[:60], "corrupt or truncated"),
    (_png(Image.new("L", (10, 10), 0)), "too small"),
    (_png(Image.new("L", (100, 100), 128)), "blank"),
])
def test_bad_uploads_give_clear_errors(data, match):
    with pytest.raises(ValueError, match=match):
        preprocess.open_image(data)


@pytest.mark.parametrize("box", [(10_000, 10_000, 5), (-500, 0, 400), (0, 300, 50, 50)])
def test_a_box_outside_the_photo_is_refused(box, tiny_reader):
    photo = np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (120, 1))  # 200 wide, 120 high
    with pytest.raises(ValueError, match="lies outside the 200x120 photo"):
        read.read_clock(photo, reader=tiny_reader, box=box)
    read.read_clock(photo, reader=tiny_reader, box=(150, 80, 100))  # partly inside: read, the rest filled


def test_a_missing_file_or_a_folder_is_named_as_such(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read.read_clock(tmp_path / "nowhere.jpg")
    with pytest.raises(ValueError, match="is a folder, not an image"):
        read.read_clock(tmp_path)


def test_decompression_bombs_are_refused(monkeypatch):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 100), dtype=np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 100x100 is then over twice the limit
    with pytest.raises(ValueError, match="too large to open safely"):
        preprocess.open_image(_png(noisy))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # between the limit and twice it: a warning in PIL
    with pytest.raises(ValueError, match="too large to open safely"):
        preprocess.open_image(_png(noisy))


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        preprocess.open_image(np.zeros((64, 64), np.float32))


def test_top_times_are_separated_peaks():
    p = np.zeros(720)
    p[[100, 101, 99]] = [0.5, 0.1, 0.1]
    p[400] = 0.2
    p[719], p[0] = 0.05, 0.05
    found = read.top_times(p, k=3)
    assert [(a.hour, a.minute) for a in found] == [(1, 40), (6, 40), (0, 0)]
    assert found[0].probability == pytest.approx(0.7) and found[1].probability == pytest.approx(0.2)
    assert found[2].probability == pytest.approx(0.1)  # 11:59 and 0:00 are neighbours
    assert read.format_time(0, 5) == "12:05" and read.format_time(11, 59) == "11:59"


def test_the_reading_is_the_most_probable_minute_not_the_centre_of_the_heaviest_window():
    p = np.zeros(720)
    p[[100, 97, 96]] = [0.4, 0.3, 0.3]  # the heaviest 5-minute window is 96..100, centred on 98
    first = read.top_times(p, k=1)[0]
    assert (first.hour, first.minute) == (1, 40) and first.probability == pytest.approx(0.4)  # the mass of 98..102


def test_read_clock_returns_a_reading(tiny_reader):
    image = synth.make_clocks(1, seed=9)[0][0]
    reading = read.read_clock(image, reader=tiny_reader, top_k=3)
    assert 0 <= reading.hour < 12 and 0 <= reading.minute < 60
    assert 0 <= reading.confidence <= 1 and len(reading.alternatives) == 3
    assert (reading.alternatives[0].hour, reading.alternatives[0].minute) == (reading.hour, reading.minute)
    assert reading.text == read.format_time(reading.hour, reading.minute)
    drawn = read.draw_reading(reading)
    assert drawn.mode == "RGB" and max(drawn.size) == 400  # the region around the chosen crop, scaled up
    scene = np.full((300, 600), 90, np.uint8)
    scene[100:250, 300:450] = synth.render_clock(2, 40, np.random.default_rng(1), size=150, clean=True)
    around_face = read.draw_reading(read.read_clock(scene, reader=tiny_reader))
    assert max(around_face.size) == 400 and around_face.width < 2 * around_face.height  # cropped around the face


def test_the_located_dial_is_ringed_in_yellow_with_a_dark_edge_that_shows_on_a_gold_dial():
    gray = synth.render_clock(10, 10, np.random.default_rng(3), size=150, clean=True).astype(np.float32)
    gold = np.stack([130 + gray / 2, 100 + gray / 2, 20 + gray / 10], -1).astype(np.uint8)  # no pixel darker than it
    reading = read.read_clock(gold)
    assert reading.dial is not None
    drawn = np.asarray(read.draw_reading(reading)).astype(int)
    dark = (drawn.max(-1) < 60).sum()
    yellow = ((drawn[..., 0] == 255) & (drawn[..., 1] == 200) & (drawn[..., 2] == 0)).sum()
    assert dark > 200 and yellow > 200  # the ring's edge and the ring itself, all round the dial


@pytest.mark.parametrize("trunk", ["face", "ellipse", "aligned"])
def test_a_face_reader_reports_the_dial_it_located(tiny_reader, trunk):
    images, labels, faces = synth.make_clocks(4, seed=0, size=48, with_faces=True)
    face_reader = train.train_reader(images, labels, head="hands", trunk=trunk, steps=1, batch_size=4, width=4,
                                     faces=faces, locator_steps=1, squash=0.5, turn=10.0)
    scene = np.full((300, 600), 90, np.uint8)
    scene[100:250, 300:450] = synth.render_clock(2, 40, np.random.default_rng(1), size=150, clean=True)
    reading = read.read_clock(scene, reader=face_reader)
    cx, cy, r = reading.dial  # an ellipse's too: its centre and long half axis
    assert (reading.shape is None) == (trunk == "face") and (trunk == "face" or len(reading.shape) == 2)
    assert isinstance(reading.turn, float) and (reading.turn != 0.0) == (trunk == "aligned")
    left, top, side = reading.face.box
    # The locator's unit outputs mapped into the photo: within the crop's reach, radius positive
    assert left - side < cx < left + 2 * side and top - side < cy < top + 2 * side and r > 0
    assert read.draw_reading(reading).mode == "RGB"
    assert read.read_clock(scene, reader=tiny_reader).dial is None  # no locator, no dial


def test_an_aligned_reader_reads_each_crop_at_its_located_turn_and_either_side():
    images, labels, faces = synth.make_clocks(4, seed=0, size=48, with_faces=True)
    aligned = train.train_reader(images, labels, head="hands", trunk="aligned", steps=1, batch_size=4, width=4,
                                 faces=faces, locator_steps=1, squash=0.5, turn=10.0)
    x = train.prepare(images, aligned.config.input_size)
    with torch.no_grad():
        face = aligned.locate(x)
        at = [aligned.head.probabilities(aligned(x, face + torch.tensor([0, 0, 0, 0, 0, turn])))
              for turn in (0.0, -0.1, 0.2)]
        both = aligned.probabilities(x, shifts=((0.0, 0.0),), face=face, turns=(0.0, -0.1, 0.2))
        assert torch.allclose(both, sum(at) / 3, atol=1e-6)  # the mean of the three, read in one batch
        assert (both - at[0]).abs().max() > 0
        # each turn also read at twice the located turn: the mean of the six
        doubled = face.clone()
        doubled[:, 5] *= 2
        at += [aligned.head.probabilities(aligned(x, doubled + torch.tensor([0, 0, 0, 0, 0, turn])))
               for turn in (0.0, -0.1, 0.2)]
        six = aligned.probabilities(x, shifts=((0.0, 0.0),), face=face, turns=(0.0, -0.1, 0.2), turn_gains=(1.0, 2.0))
        assert torch.allclose(six, sum(at) / 6, atol=1e-6)
    # a reader that finds no turn ignores them
    ellipse = train.train_reader(images, labels, head="hands", trunk="ellipse", steps=1, batch_size=4, width=4,
                                 faces=faces, locator_steps=1, squash=0.5)
    with torch.no_grad():
        plain = ellipse.probabilities(x, shifts=((0.0, 0.0),))
        assert torch.equal(ellipse.probabilities(x, shifts=((0.0, 0.0),), turns=(0.0, -0.1, 0.2),
                                                 turn_gains=(1.0, 2.0)), plain)
    # read_clock's: the located turn first
    assert read.READ_TURNS[0] == 0.0 and len(read.READ_TURNS) == 3 and read.READ_TURN_GAINS[0] == 1.0


def test_a_turn_moves_the_reading_as_the_dial_would():
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    reader = read.load_default_reader()
    x = train.prepare(synth.render_clock(3, 0, np.random.default_rng(2), size=150, clean=True)[None],
                      reader.config.input_size)
    with torch.no_grad():
        face = reader.locate(x)
        minute = [int(reader.probabilities(x, shifts=((0.0, 0.0),), face=face, turns=turns).argmax())
                  for turns in ((0.0,), (math.pi / 6,), (-math.pi / 6,))]
    # 3:00 read upright; with twelve o'clock taken 30 degrees further round, the hands sit 30 degrees back: 1:55;
    # 30 degrees the other way, 4:05
    assert [common_sense_error(m, t) <= 1 for m, t in zip(minute, (180, 115, 245))] == [True] * 3, minute


def test_percentages_round_down_so_an_unsure_reading_never_shows_the_sure_threshold():
    assert [read.percent(p) for p in (0.796, 0.8, 0.999, 1.0, 0.0)] == ["79%", "80%", "99%", "100%", "0%"]
    assert read.percent(read.SURE_CONFIDENCE) == "80%"


def test_calibration_softens_and_sharpens_without_moving_the_reading():
    p = np.full(720, 0.1 / 719)
    p[100] = 0.9
    soft, sharp = read.calibrated(p, 2.0), read.calibrated(p, 0.5)
    for q in (soft, sharp):
        assert q.sum() == pytest.approx(1) and q.argmax() == 100
    assert soft[100] < 0.9 < sharp[100]
    assert read.calibrated(p, 1.0) == pytest.approx(p)


def test_the_shipped_detector_and_reader_find_and_read_a_small_clock_far_off_centre():
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    reader = read.load_default_reader()
    images, labels, faces = synth.make_clocks(6, seed=4245, with_faces=True)
    found, right = 0, 0
    for (left, top), image, label, (fx, fy, fr) in zip(
        [(20, 20), (330, 30), (20, 200), (330, 200), (170, 10), (40, 110)], images, labels, faces[:, :3]
    ):
        scene = np.full((360, 480), int(np.median(image)), np.uint8)
        scene[top:top + 150, left:left + 150] = image
        reading = read.read_clock(scene, reader=reader)
        cx, cy, r = reading.dial
        found += reading.face.source == "detected+recentred" and np.hypot(cx - left - fx, cy - top - fy) < 0.2 * fr
        right += abs((reading.hour * 60 + reading.minute) - (label[0] * 60 + label[1])) <= 1
    assert found >= 5 and right >= 5


def _readings(true: np.ndarray, right: np.ndarray, top: float) -> np.ndarray:
    """(N, 720) readings with `top` of their mass on the true minute where `right`, else 5 hours off."""
    read_as = np.where(right, true, (true + 300) % 720)
    p = np.full((len(true), 720), (1 - top) / 719)
    p[np.arange(len(true)), read_as] = top
    return p


def test_fit_temperature_softens_overconfident_readings_and_sharpens_timid_ones():
    true = np.random.default_rng(0).integers(0, 720, 40)
    halves = np.arange(40) % 2 == 0
    assert read.fit_temperature(_readings(true, halves, 0.95), true) > 1.2  # 95% sure but right half the time
    timid = read.fit_temperature(_readings(true, np.ones(40, bool), 0.4), true)  # always right, 40% sure
    assert timid == min(read.TEMPERATURES)


def test_fit_temperature_leaves_few_misreads_sure():
    # 36 right readings at 0.4 and 4 misreads at 0.3: sharpening helps the right ones, until the misreads turn sure
    true = np.random.default_rng(1).integers(0, 720, 40)
    right = np.arange(40) >= 4
    p = np.where(right[:, None], _readings(true, right, 0.4), _readings(true, right, 0.3))
    share_sure = {}
    for t in read.TEMPERATURES:
        confidence = np.array([read.top_times(q, 1)[0].probability for q in read.calibrated(p[~right], t)])
        share_sure[t] = np.mean(confidence >= read.SURE_CONFIDENCE)
    chosen = read.fit_temperature(p, true)
    assert share_sure[chosen] <= read.MOST_SURE_MISREADS
    sharper = [t for t in read.TEMPERATURES if t < chosen]
    assert sharper and all(share_sure[t] > read.MOST_SURE_MISREADS for t in sharper)  # the cap, not the score, chose
    assert read.fit_temperature(p, true, most_sure_misreads=1.0) < chosen  # without the cap: sharper
    # Misreads sure at every temperature (their mass on five neighbouring minutes): the best score, as without a cap
    stubborn = p.copy()
    stubborn[~right] = 1e-15
    for offset in range(-2, 3):
        stubborn[np.flatnonzero(~right), (true[~right] + 300 + offset) % 720] = 0.2
    assert read.fit_temperature(stubborn, true) == read.fit_temperature(stubborn, true, most_sure_misreads=1.0)


def test_cli_calibrate_stores_the_temperature(tmp_path, tiny_reader):
    weights, out = tmp_path / "tiny.safetensors", tmp_path / "calibrated.safetensors"
    train.save_reader(tiny_reader, weights)
    assert main(["clock", "calibrate", "--n", "2", "--weights", str(weights), "--out", str(out)]) == 0
    calibrated = train.load_reader(out)
    assert calibrated.config.temperature in read.TEMPERATURES
    scenes = calibrated.config.calibration["scenes"]
    assert [(s["n"], s["seed"]) for s in scenes] == [(2, 7000), (2, 7001)] and scenes[1]["size"] == [1512, 2016]
    assert read.reader_temperature(train.load_reader(weights)) == 1.0  # the input file is left alone
    torch.testing.assert_close(train.load_reader(out).state_dict(), tiny_reader.state_dict())  # only the config


def test_the_shipped_reader_is_calibrated_by_the_command():
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    config = train.load_reader(read.WEIGHTS_PATH).config
    assert config.temperature == 0.9 and config.calibration["scenes"][0]["seed"] == 7000


def test_the_shipped_reader_recentres_on_a_shifted_clock_and_reads_a_marked_box():
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    reader = read.load_default_reader()
    images, labels, faces = synth.make_clocks(6, seed=4244, with_faces=True)
    centred, hits, marked = 0, 0, 0
    for image, label, (fx, fy, fr, _) in zip(images, labels, faces):
        scene = np.full((190, 190), int(np.median(image)), np.uint8)
        scene[30:180, 10:160] = image  # 25 px left of the centre and 10 px down
        reading = read.read_clock(scene, reader=reader, crop=False)  # the centre square, re-centred
        cx, cy, r = reading.dial
        centred += np.hypot(cx - (10 + fx), cy - (30 + fy)) < 0.2 * fr and abs(r - fr) < 0.2 * fr
        assert reading.face.source == "centre+recentred"
        hits += (reading.hour, reading.minute) == tuple(label)
        user = read.read_clock(scene, reader=reader, box=(10, 30, 150, 150))
        assert user.face.source.startswith("user")
        marked += abs((user.hour * 60 + user.minute) - (label[0] * 60 + label[1])) <= 1
    assert centred >= 5 and hits >= 5 and marked >= 5


def test_cli_read_and_bad_file(tmp_path, tiny_reader, capsys):
    weights = tmp_path / "tiny.safetensors"
    train.save_reader(tiny_reader, weights)
    photo = tmp_path / "clock.png"
    Image.fromarray(synth.make_clocks(1, seed=1)[0][0]).save(photo)
    assert main(["clock", "read", str(photo), "--weights", str(weights)]) == 0
    assert "confidence" in capsys.readouterr().out
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    assert main(["clock", "read", str(bad), "--weights", str(weights)]) == 2
    assert "notes.png is not an image" in capsys.readouterr().err


def test_two_readers_are_averaged_weight_by_weight(tmp_path, tiny_reader, capsys):
    torch.manual_seed(1)
    images, labels = synth.make_clocks(4, seed=1, size=48)
    other = train.train_reader(images, labels, head="polar", steps=3, batch_size=4, width=4)  # other weights
    third = train.train_reader(images, labels, head="polar", steps=2, batch_size=4, width=4)
    x = train.prepare(images)
    with torch.no_grad():
        assert torch.equal(train.average_readers(tiny_reader, [other], 0.0)(x), tiny_reader(x))
        assert torch.equal(train.average_readers(tiny_reader, [other], 1.0)(x), other(x))
        half = train.average_readers(tiny_reader, [other], 0.5)
        key = next(k for k, v in half.state_dict().items() if v.is_floating_point())
        mean = (tiny_reader.state_dict()[key] + other.state_dict()[key]) / 2
        assert torch.allclose(half.state_dict()[key], mean) and not torch.equal(half(x), tiny_reader(x))
        # the command writes the same reader, which records both
        first, second, out = tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "c.safetensors"
        train.save_reader(tiny_reader, first)
        train.save_reader(other, second)
        assert main(["clock", "average", str(first), str(second), "--weight", "0.5", "--n-test", "8",
                     "--out", str(out)]) == 0
        saved = train.load_reader(out)
        assert torch.equal(saved(x), half(x)) and saved.config.trained_on["weight"] == 0.5
        assert saved.config.metrics["n"] == 8 and 0 <= saved.config.metrics["hour_accuracy"] <= 1  # scored, as trained
        # several fine-tunes (a model soup): their mean takes the weight, each is recorded
        soup = train.average_readers(tiny_reader, [other, third], 0.6)
        expected = 0.4 * tiny_reader.state_dict()[key] + 0.6 * (other.state_dict()[key] + third.state_dict()[key]) / 2
        assert torch.allclose(soup.state_dict()[key], expected, atol=1e-6)
        assert len(soup.config.trained_on["tuned"]) == 2
        train.save_reader(third, tmp_path / "d.safetensors")
        assert main(["clock", "average", str(first), str(second), str(tmp_path / "d.safetensors"),
                     "--weight", "0.6", "--n-test", "8", "--out", str(out)]) == 0
        assert "the mean of" in capsys.readouterr().out
        assert torch.allclose(train.load_reader(out)(x), soup(x), atol=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        train.average_readers(tiny_reader, [], 0.5)
    wider = train.train_reader(images, labels, head="polar", steps=1, batch_size=4, width=8)
    with pytest.raises(ValueError, match="different architectures"):
        train.average_readers(tiny_reader, [other, wider], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        train.average_readers(tiny_reader, [other], 1.5)
    train.save_reader(wider, second)
    assert main(["clock", "average", str(first), str(second), "--out", str(out)]) == 2
    assert "cannot average readers of different architectures" in capsys.readouterr().err


def test_shipped_reader_reads_held_out_synthetic_clocks():
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    reader = read.load_default_reader()
    images, labels = synth.make_clocks(60, seed=4242)  # seeds never used in training
    readings = [read.read_clock(i, reader=reader, crop=False) for i in images]
    predicted = np.array([r.hour * 60 + r.minute for r in readings])
    errors = common_sense_error(labels[:, 0] * 60 + labels[:, 1], predicted)
    assert np.median(errors) <= 1
    # 60 of 60 with the shipped face reader (99.1% on 2,000 held-out clocks); 56 of 60 with the one before
    assert np.mean(predicted // 60 == labels[:, 0]) >= 0.95
    assert np.mean([r.sure for r in readings]) >= 0.9  # clean synthetic clocks are read with confidence


def _read_shipped(seed: int, hard_case) -> tuple:
    """Returns (the shipped reader's readings, their errors in minutes) of 48 synthetic clocks, clock i drawn with
    the hard case hard_case(i) only (synth.hard_extras' form) and seeded by (seed, i)."""
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    reader = read.load_default_reader()
    images, minutes = [], []
    for i in range(48):
        rng = np.random.default_rng([seed, i])
        hour, minute = synth.random_time(rng)
        images.append(synth.render_clock_and_face(hour, minute, rng, hard=hard_case(i))[0])
        minutes.append(60 * hour + minute)
    readings = [read.read_clock(image, reader=reader) for image in images]
    return readings, common_sense_error(np.array(minutes), np.array([60 * r.hour + r.minute for r in readings]))


def test_shipped_reader_reads_mantel_clocks_with_winding_holes(one_torch_thread):
    """Two dark winding holes at four and eight o'clock, as on most mantel clocks, are not taken for a hand."""
    # (angles, distance in radii, hole radius, brass rim)
    readings, errors = _read_shipped(13, lambda i: {"winding": ((120.0, 240.0), 0.45, 0.07, i % 2 == 0)})
    # when written: 48 within 10 minutes, 45 sure (the reader before it, its fine-tunes on generator version 6,
    # which drew no winding holes: 45 and 37)
    assert np.sum(errors <= 10) >= 47
    assert sum(r.sure for r in readings) >= 42


def test_shipped_reader_reads_chronographs_past_their_subdials(one_torch_thread):
    """Two big subdials with their own numerals and hands, as on a chronograph or an instrument clock: their hands
    are not taken for the clock's."""
    # (angle, size and distance in radii, numerals, hands' shape and width in radii, the hands' angles)
    readings, errors = _read_shipped(17, lambda i: {"chrono": [
        (angle, 0.32, 0.45, ("hours", "tens", "none")[i % 3], "bar", 0.03, (40.0 * i % 360, 77.0 * i % 360))
        for angle in ((0.0, 180.0) if i % 2 else (90.0, 270.0))]})
    # when written: 38 within 10 minutes, 3 misreads sure (the reader before it, whose fine-tunes never saw such
    # subdials: 36 and 4)
    assert np.sum(errors <= 10) >= 37
    assert sum(r.sure and e > 10 for r, e in zip(readings, errors)) <= 3


def test_shipped_reader_tells_a_long_hour_hand_from_a_second_hands_tail(one_torch_thread):
    """An hour hand nearly as long as the minute hand, and a dark second hand whose tail is as long as an hour hand
    (the pale-blue wall clock of the dev photos has both): the tail is not taken for the hour hand."""
    readings, errors = _read_shipped(29, lambda i: {"sweep": (0.4, 0.0), "long_hour": 0.85})
    # when written: 42 within 10 minutes, no misread sure (the reader before it, whose fine-tunes drew neither: 37
    # and 1)
    assert np.sum(errors <= 10) >= 40
    assert sum(r.sure and e > 10 for r, e in zip(readings, errors)) <= 1


def test_shipped_reader_reads_ornate_hands_on_a_two_tone_dial(one_torch_thread):
    """Ornate hands (a thin shaft with scrolls, the hour hand's tip a spade, black or gilt over its shadow) over a
    sunburst or plain centre disc of another shade, as on the ornate mantel clocks of the dev photos: the scrolls and
    the disc's rim are not taken for hands."""
    # ornate: (scrolls' place along the hand, curl radius in radii, pierced, gilt); centre: (radius in radii, shade's
    # share of the way from the face to the ink, sunburst, light hands)
    readings, errors = _read_shipped(47, lambda i: {"ornate": (0.35, 0.04, True, (0.0, 0.45)[i % 2]),
                                                    "centre": (0.55, 0.4, i % 2 == 0, False)})
    # when written: 42 within 10 minutes, no misread sure (the reader before it, whose fine-tunes drew neither: the
    # same)
    assert np.sum(errors <= 10) >= 40
    assert sum(r.sure and e > 10 for r, e in zip(readings, errors)) <= 1


def test_shipped_reader_reads_clocks_out_of_focus(one_torch_thread):
    """Clocks photographed out of focus, each point spread over a disc of radius 0.05 or 0.07 dial radii
    (synth.defocused): hands and numerals soft but plain are still read, and what cannot be read is not claimed."""
    readings, errors = _read_shipped(53, lambda i: {"defocus": (0.05, 0.07)[i % 2]})
    # when written: 47 within 10 minutes, 43 sure, one misread sure (the reader before it, whose fine-tunes drew no
    # defocus: the same)
    assert np.sum(errors <= 10) >= 45
    assert sum(r.sure and e > 10 for r, e in zip(readings, errors)) <= 2


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "text", "moon",
                                  "noise"])
def test_shipped_reader_is_not_sure_of_a_picture_without_a_clock(name):
    """A user who uploads the wrong picture is told the reading is unsure (2026-12-02: the most any of these
    claims is 0.61, the rocket's round tank; 0.58 with the twelve finder before winding holes)."""
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    from skimage import data

    if name == "noise":
        picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400), dtype=np.uint8))
    else:
        picture = Image.fromarray(getattr(data, name)())
    reading = read.read_clock(picture)
    assert not reading.sure and reading.confidence < 0.7


def test_shipped_reader_locates_held_out_faces():
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    reader = read.load_default_reader()
    assert reader.config.trunk == "aligned" and reader.locator is not None
    images, _, faces = synth.make_clocks(40, seed=4243, with_faces=True)
    errors = train.face_errors(reader, images, faces)
    # 1.35 px median centre error, 1.15 px radius on 2,000 held-out clocks (of 150 px)
    assert errors["centre_median_px"] < 2.5 and errors["radius_median_px"] < 2.5
    # read_clock maps the located dial back to photo pixels (here the photo is the 150x150 clock itself)
    dials = np.array([read.read_clock(image, reader=reader, crop=False).dial for image in images[:5]])
    assert np.median(np.abs(dials - faces[:5, :3])) < 2.5
    # Dials seen at a slant: the locator finds the ellipse (|q| = -log(aspect) / 2) and read_clock's dial
    # is its long half axis, the round dial's radius before the squash
    slanted = train.slanted(images[:10], faces[:10], 0.6, seed=1)
    with torch.no_grad():
        found = reader.locate(train.prepare(slanted, reader.config.input_size, reader.config.gamma))
    assert abs(found[:, 3:5].norm(dim=1).median().item() + 0.5 * math.log(0.6)) < 0.05
    dials = np.array([read.read_clock(image, reader=reader, crop=False).dial for image in slanted[:5]])
    assert np.median(np.abs(dials - faces[:5, :3])) < 3
    # Dials turned in their plane: the locator finds the turn (2.6 degrees median error on 1,000 held-out
    # clocks upright, 3.3 turned by N(0, 15) degrees), and read_clock reads them turned back
    x = train.prepare(images, reader.config.input_size, reader.config.gamma)
    unit = models.faces_to_unit(torch.as_tensor(faces), images.shape[-1])
    turned, truth = train.squash_batch(x, unit, 0.0, torch.Generator().manual_seed(2), turn=20.0)
    with torch.no_grad():
        error = torch.rad2deg(reader.locate(turned)[:, 5] - truth[:, 5]).abs()
    assert error.median().item() < 6 and truth[:, 5].abs().max() > math.radians(20)
    pictures = (turned[:10, 0] * 255).round().to(torch.uint8).numpy()
    readings = [read.read_clock(picture, reader=reader, crop=False) for picture in pictures]
    assert np.median([abs(r.turn - t) for r, t in zip(readings, truth[:10, 5].tolist())]) < math.radians(6)


def test_scenes_are_deterministic_and_cli_evaluate_scores_them(tmp_path, tiny_reader, capsys):
    photos, labels = synth.make_scenes(2, seed=3, height=120, width=160)
    again, _ = synth.make_scenes(2, seed=3, height=120, width=160)
    assert photos.shape == (2, 120, 160) and np.array_equal(photos, again) and labels.shape == (2, 2)
    weights = tmp_path / "tiny.safetensors"
    train.save_reader(tiny_reader, weights)
    assert main(["clock", "evaluate", "--scenes", "--n", "3", "--weights", str(weights)]) == 0
    out = capsys.readouterr().out
    assert "3 held-out synthetic clocks in bigger scenes (360x480 px" in out and "hour accuracy" in out
    big = ["clock", "evaluate", "--scenes", "--n", "1", "--weights", str(weights), "--scene-size", "600", "800"]
    assert main([*big, "--clock-size", "0.05", "0.1"]) == 0
    assert "1 held-out synthetic clocks in bigger scenes (600x800 px" in capsys.readouterr().out
    assert main([*big, "--clock-size", "0.02", "0.1"]) == 2  # a 12-px clock: a clear message, no traceback
    assert "clocks 0.02 of a 600x800 scene's short side are 12 px: at least 16 px needed" in capsys.readouterr().err
    grid = tmp_path / "worst.png"
    assert main(["clock", "evaluate", "--n", "3", "--weights", str(weights), "--misreads", str(grid)]) == 0
    assert "3 held-out synthetic 150x150 clocks" in capsys.readouterr().out
    assert Image.open(grid).size == (8 * 152, 152)  # 3 clocks in a grid row of 8
    assert main(["clock", "evaluate", "--n", "2", "--weights", str(weights), "--slant", "0.6"]) == 0
    assert "dial squashed to aspect 0.6 (seen at a slant)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["clock", "evaluate", "--slant", "0.1"])
    assert "'0.1' is not an aspect between 0.3 and 1" in capsys.readouterr().err
    # another dial detector (here an untrained one), and a broken file in its place
    from genlab.clock import detect

    detector = tmp_path / "detector.safetensors"
    detect.save_detector(detect.DialDetector(4), detector)
    assert main([*big, "--clock-size", "0.2", "0.3", "--detector", str(detector)]) == 0
    assert "1 held-out synthetic clocks in bigger scenes (600x800 px" in capsys.readouterr().out
    detector.write_bytes(b"not a detector")
    assert main(["clock", "evaluate", "--n", "1", "--weights", str(weights), "--detector", str(detector)]) == 2
    assert "detector.safetensors is not a readable safetensors file" in capsys.readouterr().err


def test_an_unsure_detection_looks_in_the_tiles_but_not_at_sub_dials(monkeypatch):
    from genlab.clock import detect

    photo = preprocess.open_photo(np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (192, 1)))
    monkeypatch.setattr(read, "zoomed_dials", lambda grays, dials, detector=None: dials)
    whole = [(128.0, 96.0, 60.0, 0.3), (200.0, 150.0, 20.0, 0.2)]  # unsure: a big dial in the middle, and another
    monkeypatch.setattr(detect, "detect_each", lambda grays, detector=None, k=(1,): [whole[:n] for n in k])
    sub_dial = (140.0, 100.0, 15.0, 0.9)                     # inside the big dial, smaller: ignored
    small_clock = (20.0, 20.0, 10.0, 0.7)                    # elsewhere: the best dial
    twice = (22.0, 21.0, 9.0, 0.6)                           # the small clock found again (another tile): once
    monkeypatch.setattr(detect, "detect_in_tiles_each",
                        lambda grays, detector=None, k=1: [[sub_dial, small_clock, twice] for _ in grays])
    (dials, sure), = read.detected_dials(photo, None)  # a grey photo: one view
    assert not sure and len(dials) == 1 and dials[0][3] == 0.7
    assert all(math.isclose(v, 20 / photo.scale) for v in dials[0][:2])
    (dials, sure), = read.detected_dials(photo, None, k=3)    # best first, each dial once
    assert [d[3] for d in dials] == [0.7, 0.3, 0.2]
    assert math.isclose(dials[2][0], 200 / photo.scale) and math.isclose(dials[2][2], 20 / photo.scale)
    monkeypatch.setattr(detect, "detect_in_tiles_each", lambda grays, detector=None, k=1: [[sub_dial] for _ in grays])
    assert read.detected_dials(photo, None)[0][0][0][3] == 0.3  # only a sub-dial in the tiles: the whole photo's dial
    whole[0] = (128.0, 96.0, 60.0, 0.8)                      # a sure detection: alone, and the tiles are not searched
    monkeypatch.setattr(detect, "detect_in_tiles_each", lambda grays, detector=None, k=1: [
        pytest.fail("searched the tiles") for _ in grays])
    (dials, sure), = read.detected_dials(photo, None, k=3)
    assert sure and [d[3] for d in dials] == [0.8]


def _peaked(minute: int, spread: float) -> np.ndarray:
    """(720,) probabilities peaked at a minute, wider for a larger spread."""
    distance = np.minimum(np.abs(np.arange(720) - minute), 720 - np.abs(np.arange(720) - minute))
    p = np.exp(-0.5 * (distance / spread) ** 2) + 1e-6
    return p / p.sum()


@pytest.mark.parametrize("shape", [(32, 4000), (4000, 32), (40, 3000, 3)])
def test_a_thin_strip_is_read_unsure_without_a_detected_dial(shape, tiny_reader):
    strip = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    photo = preprocess.open_photo(strip)
    found = read.detected_dials(photo, None, k=3)
    assert len(found) == len(photo.views)
    for dials, sure in found:
        (x, y, r, score), = dials  # the strip's centre, in its own pixels
        assert np.allclose([x, y, r], [shape[1] / 2, shape[0] / 2, min(shape[:2]) / 2], rtol=0.1)
        assert score == 0.0 and not sure
    reading = read.read_clock(strip, reader=tiny_reader)
    assert 0 <= reading.hour < 12 and 0 <= reading.minute < 60


def test_a_dial_read_surer_than_the_mean_reading_wins_weighed_by_its_detector_score(tiny_reader):
    mean = _peaked(100, 30.0)  # the usual reading: unsure (about 7% within two minutes)
    chains = [(mean, "usual")]
    sure_dial, blurred_dial = (_peaked(400, 1.0), "sure"), (_peaked(200, 20.0), "blurred")
    confidence = read.top_times(read.calibrated(sure_dial[0], read.reader_temperature(tiny_reader)), 1)[0].probability
    assert confidence > 0.9
    p, kept = read._best_candidate(tiny_reader, mean, chains, [blurred_dial, sure_dial],
                                   [(0, 0, 1, 0.4), (5, 5, 1, 0.3)])
    assert p is sure_dial[0] and kept == [sure_dial]  # read alone, its chain the reading's
    # A dial the detector hardly believes in does not win, however sure the reader is of it
    assert read.CANDIDATE_LEAST_SCORE * confidence > read.top_times(mean, 1)[0].probability
    hardly = (0, 0, 1, 0.9 * read.CANDIDATE_LEAST_SCORE)
    p, kept = read._best_candidate(tiny_reader, mean, chains, [sure_dial], [hardly])
    assert p is mean and kept == chains
    # ... nor one whose confidence times its score is below the usual reading's confidence
    p, kept = read._best_candidate(tiny_reader, mean, chains, [blurred_dial], [(0, 0, 1, 0.4)])
    assert p is mean and kept == chains


def test_the_reader_picks_the_clock_among_the_detectors_unsure_dials(monkeypatch):
    from genlab.clock import detect

    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    images, labels, faces = synth.make_clocks(3, seed=77, with_faces=True)
    scene = np.full((360, 480), 128, np.uint8)
    scene[200:350, 320:470] = images[0]  # the clock, bottom right; a blank wall elsewhere
    fx, fy, fr = faces[0, :3]
    clock = (320 + fx, 200 + fy, fr)
    shrink = read.DETECT_SIDE / 480  # the detector sees the photo this much smaller
    decoy = (50.0, 50.0, 25.0, 0.45)  # the detector's best guess: the blank wall
    found = [decoy, (*(shrink * v for v in clock), 0.3)]
    monkeypatch.setattr(detect, "detect_each", lambda grays, detector=None, k=(1,): [found[:n] for n in k])
    monkeypatch.setattr(detect, "detect_in_tiles_each", lambda grays, detector=None, k=1: [[] for _ in grays])
    monkeypatch.setattr(read, "zoomed_dials", lambda grays, dials, detector=None: dials)
    reading = read.read_clock(scene)
    assert (reading.hour, reading.minute) == tuple(labels[0])
    assert math.hypot(reading.dial[0] - clock[0], reading.dial[1] - clock[1]) < 0.2 * fr
    monkeypatch.setattr(read, "CANDIDATES", 1)  # only the decoy: the blank wall and the centre square are read
    reading = read.read_clock(scene)
    assert (reading.hour, reading.minute) != tuple(labels[0]) and not reading.sure


def test_each_view_of_a_colour_photo_has_its_dials(one_torch_thread):
    photos, _, places = synth.make_scenes(2, seed=3, height=756, width=1008, sizes=(0.04, 0.08), with_places=True)
    for gray, (left, top, side) in zip(photos, places):
        tinted = np.clip(gray[..., None] * np.array([1.0, 0.8, 0.6]) + np.array([0, 20, 40]), 0, 255).astype(np.uint8)
        photo = preprocess.open_photo(tinted)
        found = read.detected_dials(photo, k=3)
        assert len(photo.views) == 3 and len(found) == 3
        assert 1 <= len(found[0][0]) <= 3 and [len(dials) for dials, _ in found[1:]] == [1, 1]
        assert all(len(dials) == 1 for dials, sure in found if sure)
        assert any(score >= read.DETECT_TRUSTED and math.hypot(x - left - side / 2, y - top - side / 2) < side / 4
                   for x, y, _, score in found[0][0])  # the small clock, found in the luminance view


def test_an_unsure_dial_is_looked_at_again_closer(monkeypatch):
    from genlab.clock import detect

    gray = np.zeros((800, 1000), np.uint8)
    unsure = (500.0, 400.0, 80.0, 0.3)  # the square searched again: x 180..820, y 80..720
    for relative, expected in [
        ((320.0, 320.0, 30.0, 0.9), (500.0, 400.0, 30.0, 0.9)),  # the same dial, sure, its true size
        ((420.0, 320.0, 30.0, 0.9), unsure),                      # another dial, beyond the first's radius
        ((320.0, 320.0, 120.0, 0.9), unsure),                     # a bigger one around it
        ((320.0, 320.0, 30.0, 0.4), unsure),                      # still unsure
    ]:
        monkeypatch.setattr(detect, "detect_each", lambda squares, detector=None, k=1, found=relative: [[found]])
        assert read.zoomed_dials([gray], [unsure]) == [expected]
    # Still unsure but the same dial, smaller: looked at again around it (x 420..580, y 320..480)
    for answers, expected in [([(320.0, 320.0, 20.0, 0.4), (82.0, 80.0, 19.0, 0.8)], (502.0, 400.0, 19.0, 0.8)),
                              ([(320.0, 320.0, 20.0, 0.4), (80.0, 80.0, 19.0, 0.45)], unsure)]:
        answers = list(answers)
        monkeypatch.setattr(detect, "detect_each", lambda squares, detector=None, k=1: [[answers.pop(0)]])
        assert read.zoomed_dials([gray], [unsure]) == [expected] and not answers
    monkeypatch.setattr(detect, "detect_each", lambda *args, **kwargs: pytest.fail("searched a 9-px square"))
    assert read.zoomed_dials([gray], [(500.0, 400.0, 1.0, 0.3)]) == [(500.0, 400.0, 1.0, 0.3)]
    # Several dials are looked at together, one batch per step, each as it would be alone
    batches = []

    def seen(squares, detector=None, k=1):
        batches.append(len(squares))
        return [[(320.0, 320.0, 30.0, 0.9)], [(320.0, 320.0, 20.0, 0.4)]][:len(squares)] if len(batches) == 1 else [
            [(82.0, 80.0, 19.0, 0.8)]]

    monkeypatch.setattr(detect, "detect_each", seen)
    assert read.zoomed_dials([gray, gray], [unsure, unsure]) == [(500.0, 400.0, 30.0, 0.9), (502.0, 400.0, 19.0, 0.8)]
    assert batches == [2, 1]


def test_a_small_clock_in_a_big_photo_is_found_sure_once_looked_at_closer(monkeypatch, one_torch_thread):
    # Clocks 3-6% of a 1512x2016 scene's short side: a few pixels in the detector's view of the whole photo
    photos, _, places = synth.make_scenes(20, seed=1, height=1512, width=2016, sizes=(0.03, 0.06), with_places=True)

    def found_sure():
        hits = 0
        for photo, (left, top, side) in zip(photos, places):
            (x, y, _, score), *_ = read.detected_dials(preprocess.open_photo(photo))[0][0]
            hits += score >= read.DETECT_TRUSTED and math.hypot(x - left - side / 2, y - top - side / 2) < side / 4
        return hits

    closer = found_sure()
    monkeypatch.setattr(read, "zoomed_dials", lambda grays, dials, detector=None: dials)
    assert closer >= 5 and found_sure() <= 2


@pytest.mark.parametrize("aspect, angle", [(1.0, 0.0), (0.55, 0.0), (0.55, 0.7)])
def test_face_on_turns_a_located_elliptic_dial_round(aspect, angle):
    from genlab.clock.models import ellipse_matrix, squash_shape
    from genlab.clock.preprocess import Face

    q = squash_shape(torch.tensor([aspect]), torch.tensor([angle]))
    e = ellipse_matrix(q)[0].numpy()
    # A white elliptic dial (rim = centre + r0 * e @ unit circle) on black, in a 200-pixel crop of a photo
    # whose box starts at (1000, 500) and spans 400 original pixels (2 per crop pixel)
    centre, r0 = np.array([90.0, 110.0]), 40.0
    ys, xs = np.mgrid[0:200, 0:200] + 0.5
    inside = np.linalg.solve(e, np.stack([xs - centre[0], ys - centre[1]]).reshape(2, -1)) / r0
    image = np.where((inside ** 2).sum(0) <= 1, 255, 0).reshape(200, 200).astype(np.uint8)
    face = Face(image, Image.new("RGB", (8, 8)), (1000.0, 500.0, 400.0), "test")
    long_axis = r0 * float(np.exp(np.linalg.norm(q.numpy())))
    dial = (1000 + 2 * centre[0], 500 + 2 * centre[1], 2 * long_axis)  # in original pixels, as read_clock gives it
    shape = tuple(float(v) for v in q[0])
    seen = read.face_on(read.ClockReading(1, 0, 0.9, face=face, dial=dial, shape=shape), size=112)
    yy, xx = np.mgrid[0:112, 0:112] + 0.5
    distance = np.hypot(xx - 56, yy - 56) / (56 / read.MARGIN)  # in dial radii, face-on
    assert seen.shape == (112, 112) and seen.dtype == np.uint8
    assert (seen[distance < 0.9] > 200).mean() > 0.99 and (seen[distance > 1.1] < 50).mean() > 0.99  # round
    as_circle = read.face_on(read.ClockReading(1, 0, 0.9, face=face, dial=dial), size=112)
    assert ((as_circle[distance < 0.9] > 200).mean() > 0.99) == (aspect == 1.0)  # ignoring the shape: not round
    assert read.face_on(read.ClockReading(1, 0, 0.9, face=face)) is image  # no dial located: the crop itself


@pytest.mark.parametrize("turn", [0.0, 0.5, -0.8])
def test_face_on_turns_a_turned_dial_upright(turn):
    from genlab.clock.preprocess import Face

    # A grey dial with a white mark at its own twelve o'clock, turned `turn` radians clockwise, in a 200-pixel crop
    centre, r0 = np.array([100.0, 100.0]), 60.0
    ys, xs = np.mgrid[0:200, 0:200] + 0.5
    mark = centre + 0.8 * r0 * np.array([math.sin(turn), -math.cos(turn)])
    image = np.where(np.hypot(xs - centre[0], ys - centre[1]) <= r0, 100, 0)
    image = np.where(np.hypot(xs - mark[0], ys - mark[1]) <= 8, 255, image).astype(np.uint8)
    face = Face(image, Image.new("RGB", (8, 8)), (0.0, 0.0, 200.0), "test")
    dial = (*centre, r0)
    seen = read.face_on(read.ClockReading(1, 0, 0.9, face=face, dial=dial, shape=(0.0, 0.0), turn=turn), size=112)
    rows, cols = np.nonzero(seen > 200)
    mark_at = (cols.mean() + 0.5 - 56, rows.mean() + 0.5 - 56)  # from the centre, face-on pixels
    assert abs(mark_at[0]) < 2 and mark_at[1] < -30  # straight above the centre: twelve o'clock is up
    drawn = read.draw_reading(read.ClockReading(0, 0, 0.9, face=face, dial=dial, shape=(0.0, 0.0), turn=turn))
    assert drawn.mode == "RGB"
