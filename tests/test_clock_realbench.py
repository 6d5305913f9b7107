"""Reading a folder of labelled clock photos (genlab.clock.realbench, benchmarks/bench_clock_real.py)."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from benchmarks import bench_clock_real
from genlab.clock import read, realbench, synth


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Four synthetic clocks as PNG photos; the last is labelled six hours off, so it is a misread."""
    folder = tmp_path_factory.mktemp("photos")
    images, labels = synth.make_clocks(4, seed=4246)
    entries = []
    for i, (image, (hour, minute)) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(folder / f"{i}.png")
        hour = (hour + 6) % 12 if i == 3 else hour
        entries.append({"file": f"{i}.png", "hour": int(hour), "minute": int(minute), "type": "wall" if i else "watch"})
    (folder / "labels.json").write_text(json.dumps(entries))
    return folder


@pytest.fixture(scope="module")
def rows(folder):
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    return realbench.read_folder(folder)


def test_rows_and_figures(rows):
    assert [r["file"] for r in rows] == ["0.png", "1.png", "2.png", "3.png"]
    assert rows[3]["error"] >= 300 and not rows[3]["hour_right"]  # labelled six hours off
    assert all(r["error"] <= 1 for r in rows[:3])  # clean synthetic clocks are read
    f = realbench.figures(rows)
    assert f["n"] == 4 and f["within_10_min"] == 0.75 and f["hour_accuracy"] == 0.75
    assert 0 <= f["ece"] <= 1 and 0 <= f["wrong_confident_share"] <= 1 and f["median_ms"] > 0


def test_summary_has_the_reliability_table_and_breakdowns(rows):
    text = realbench.summarise(rows)
    assert text.startswith("4 photos: hour right 75.0%, within 1 min 75.0%, within 10 min 75.0%")
    assert "| confidence | photos | mean confidence | share within 10 min |" in text
    assert "| type: wall | 3 |" in text and "| type: watch | 1 |" in text and "| face: " in text


def test_contact_sheet_shows_the_misreads(rows, tmp_path):
    path = tmp_path / "sheet.png"
    assert realbench.contact_sheet(rows, path) == 1
    assert Image.open(path).size == (6 * 220, 250)
    assert realbench.contact_sheet(rows[:3], tmp_path / "none.png") == 0


def test_bad_label_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="labels.json: cannot read"):
        realbench.load_labels(tmp_path)
    (tmp_path / "labels.json").write_text(json.dumps([{"file": "a.png", "hour": 1}]))
    with pytest.raises(ValueError, match="expected a list"):
        realbench.load_labels(tmp_path)


def test_the_benchmark_says_when_the_folder_has_no_labels(tmp_path, capsys):
    assert bench_clock_real.main(["--folder", str(tmp_path)]) == 2
    assert "labels.json missing" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--weights", "--twelve", "--detector"])
def test_the_benchmark_refuses_a_broken_network_file(folder, tmp_path, capsys, option):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    assert bench_clock_real.main(["--folder", str(folder), option, str(broken)]) == 2
    assert "error: " in (err := capsys.readouterr().err) and "broken.safetensors" in err and "Traceback" not in err


def test_the_folder_is_read_with_the_detector_given(folder, monkeypatch):
    seen = []

    def reading(photo, **options):
        seen.append(options["detector"])
        return read.ClockReading(1, 2, 0.5)

    monkeypatch.setattr(realbench, "read_clock", reading)
    marker = object()
    realbench.read_folder(folder, detector=marker)
    assert seen == [marker] * 4


def test_ece_is_zero_for_perfectly_calibrated_rows():
    rows = [{"error": 0, "confidence": 1.0, "sure": True, "hour_right": True, "ms": 1.0},
            {"error": 100, "confidence": 0.1, "sure": False, "hour_right": False, "ms": 1.0}]
    f = realbench.figures(rows)
    assert f["ece"] == pytest.approx(0.05) and f["wrong_confident_share"] == 0.0
    assert np.isclose(f["sure_within_10_min"], 1.0)


def test_the_folder_can_be_read_turned(folder, rows):
    turned = realbench.read_folder(folder, turn=25)
    assert [r["file"] for r in turned] == [r["file"] for r in rows]
    sizes = [r["reading"].face.photo.size for r in turned]
    assert all(w > 150 and h > 150 for w, h in sizes)  # the 150-px photos, turned and grown to hold their corners
    # The shipped reader finds (some of) the turn, clockwise, and reads at least two of the three correctly labelled
    # clocks right (a dial whose marks do not single out twelve o'clock cannot show how far it was turned)
    assert np.median([r["reading"].turn for r in turned]) > np.radians(5)
    assert sum(r["error"] <= 3 for r in turned[:3]) >= 2


def test_a_photo_re_taken_is_seeded_and_keeps_most_of_the_frame():
    photo = Image.fromarray(synth.make_clocks(1, seed=5)[0][0]).resize((400, 300))
    again = realbench.jitter(photo, 3)
    assert again.mode == "RGB" and np.array_equal(np.asarray(again), np.asarray(realbench.jitter(photo, 3)))
    assert not np.array_equal(np.asarray(again), np.asarray(realbench.jitter(photo, 4)))
    sizes = np.array([realbench.jitter(photo, seed).size for seed in range(20)])
    assert (sizes >= [360, 270]).all() and (sizes <= [400, 300]).all() and len(set(map(tuple, sizes))) > 10


def test_the_benchmark_reads_the_folder_re_taken(folder, rows):
    text = bench_clock_real.jitter_rounds(folder, None, 2)
    lines = text.splitlines()
    assert lines[0].startswith("| round | hour right |")
    assert [line[:5] for line in lines[2:5]] == ["| 1 |", "| 2 |", "| mea"]
    # photos read right every time, sometimes, never: the four photos, the one labelled six hours off never
    counts = re.fullmatch(r"re-taken 2 times: (\d+) photos read within 10 min every time, (\d+) sometimes, "
                          r"(\d+) never", lines[6]).groups()
    assert sum(map(int, counts)) == 4 and int(counts[2]) >= 1
    # then the photos not read right every time, fewest hours right first: the one labelled six hours off
    assert lines[8] == "| photo | type | hour right, of 2 | within 10 min | misreads sure |"
    assert lines[10].startswith("| 3.png | wall | 0 | 0 | ")


def test_a_photo_is_placed_small_in_a_phone_sized_scene():
    photo = Image.new("RGB", (300, 200), (200, 30, 30))  # red: the synthetic scene around it is gray
    scene = realbench.in_scene(photo, 0.1, seed=3)
    assert scene.mode == "RGB" and scene.size == (realbench.SCENE[1], realbench.SCENE[0])
    assert np.array_equal(np.asarray(scene), np.asarray(realbench.in_scene(photo, 0.1, seed=3)))  # seeded
    pixels = np.asarray(scene).astype(int)
    ys, xs = np.nonzero(pixels[..., 0] - pixels[..., 1] > 100)
    # its long side is 0.1 of the scene's short side (3024): 302 x 202 px, the rest is the scene
    assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (302, 202) and len(xs) == 302 * 202
    assert not np.array_equal(np.asarray(realbench.in_scene(photo, 0.1, seed=4)), np.asarray(scene))
    with pytest.raises(ValueError, match="share of the scene"):
        realbench.in_scene(photo, 1.5)
    small = np.asarray(realbench.in_scene(photo, 0.2, seed=3, scene=(480, 640))).astype(int)  # a film still's size
    ys, xs = np.nonzero(small[..., 0] - small[..., 1] > 100)
    assert small.shape == (480, 640, 3) and (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (96, 64)


def test_the_folder_can_be_read_small_in_scenes(folder, rows):
    small = realbench.read_folder(folder, small=0.1)
    assert [r["file"] for r in small] == [r["file"] for r in rows]
    assert all(r["reading"].face.photo.size[0] > 900 for r in small)  # read in the big scene, at working size
    assert all(r["face_share"] < 0.15 for r in small if r["error"] <= 10)  # a dial found small, where read right


def test_the_folder_can_be_read_degraded(folder, rows):
    dark = realbench.read_folder(folder, degrade="dark")
    assert [r["file"] for r in dark] == [r["file"] for r in rows]
    for r, plain in zip(dark, rows):
        assert np.asarray(r["reading"].face.photo).mean() < 0.4 * np.asarray(plain["reading"].face.photo).mean()
    assert sum(r["error"] <= 3 for r in dark[:3]) >= 2  # the three correctly labelled dials, dim, still read
    small = realbench.read_folder(folder, degrade="thumbnail")
    assert all(max(r["reading"].face.photo.size) <= 160 for r in small)
    flat, jpeg = realbench.DEGRADATIONS["flat"][1], realbench.DEGRADATIONS["jpeg"][1]
    photo = Image.open(folder / "1.png")
    assert np.ptp(np.asarray(flat(photo).convert("L"))) < 0.5 * np.ptp(np.asarray(photo.convert("L")))
    assert jpeg(photo).format == "JPEG" and jpeg(photo).size == photo.size
    with pytest.raises(ValueError, match="unknown degradation 'foggy'; choose from dark, flat, jpeg, thumbnail, "
                                         "shake, glare, blur, blur2, grain, warm"):
        realbench.read_folder(folder, degrade="foggy")


def test_shaken_and_glared_photos_keep_their_size_and_change_where_they_should():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8))
    shaken = np.asarray(realbench.DEGRADATIONS["shake"][1](photo), dtype=np.float32)
    pixels = np.asarray(photo, dtype=np.float32)
    assert shaken.shape == pixels.shape and abs(shaken.mean() - pixels.mean()) < 1  # blurred, not darkened
    assert shaken.std() < 0.7 * pixels.std()  # noise averaged along the shake
    dot = np.zeros((240, 400, 3), np.uint8)
    dot[120, 200] = 255  # one bright pixel is smeared along a line 1.5% of 400 = 6 pixels long, rising to the right
    rows, cols = np.nonzero(np.asarray(realbench.DEGRADATIONS["shake"][1](Image.fromarray(dot)))[..., 0])
    assert len(rows) == 7 and np.ptp(cols) == 6 and np.ptp(rows) == 2
    assert rows[np.argmax(cols)] < rows[np.argmin(cols)] and 197 <= cols.min() and cols.max() <= 203
    glared = np.asarray(realbench.DEGRADATIONS["glare"][1](Image.fromarray(np.zeros((100, 200, 3), np.uint8))))
    assert glared.shape == (100, 200, 3) and glared[38, 84].min() >= 200  # white at the highlight's centre
    assert glared[95, 195].max() <= 5 and glared[0, 0].max() <= 40  # fading to nothing towards the far corners


def test_out_of_focus_grainy_and_warm_photos_change_as_their_names_say():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8))
    pixels = np.asarray(photo, dtype=np.float32)
    for name, most in (("blur", 0.35), ("blur2", 0.2)):  # random pixels averaged over 2 or 4 pixels' spread
        blurred = np.asarray(realbench.DEGRADATIONS[name][1](photo), dtype=np.float32)
        assert blurred.shape == pixels.shape and abs(blurred.mean() - pixels.mean()) < 1
        assert blurred.std() < most * pixels.std()
    line = np.zeros((100, 400, 3), np.uint8)
    line[:, 200] = 255  # a bright line across the middle spreads as a Gaussian of sigma 8 px (2% of 400)
    spread = np.asarray(realbench.DEGRADATIONS["blur2"][1](Image.fromarray(line)), dtype=np.float32)[50, :, 0]
    assert spread[200] == spread.max() and 0.5 < spread[208] / spread[200] < 0.7 and spread[216] / spread[200] < 0.25
    gray = Image.new("RGB", (300, 200), (120, 120, 120))
    grainy = np.asarray(realbench.DEGRADATIONS["grain"][1](gray), dtype=np.float32)
    assert abs(grainy.mean() - 120) < 0.5 and 19 < grainy.std() < 23  # sqrt(18^2 + 10.8^2) = 21
    assert np.array_equal(grainy, np.asarray(realbench.DEGRADATIONS["grain"][1](gray)))  # the same grain again
    warm = np.asarray(realbench.DEGRADATIONS["warm"][1](gray))
    assert (warm == (138, 102, 54)).all()  # 120 x 1.15, x 0.85, x 0.45


def test_the_benchmark_refuses_a_scene_too_small_to_hold_a_photo(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_clock_real.main(["--small", "0.2", "--scene", "40", "640"])
    assert exit_info.value.code == 2
    assert "--scene must be at least 64 pixels a side, got 40 640" in capsys.readouterr().err


def test_the_benchmark_saves_readings_and_says_which_changed(folder, tmp_path, capsys, monkeypatch):
    if not read.WEIGHTS_PATH.is_file():
        pytest.skip(f"{read.WEIGHTS_PATH} is missing")
    monkeypatch.setattr(bench_clock_real, "phone_photo_ms", lambda *args, **kwargs: (1.0, 1.0))
    saved = tmp_path / "readings.json"
    options = ["--folder", str(folder), "--sheet", str(tmp_path / "sheet.png"), "--jitter", "1"]
    assert bench_clock_real.main([*options, "--readings", str(saved)]) == 0
    readings = json.loads(saved.read_text())["readings"]
    assert sorted(readings) == ["as they are", "as they are, re-taken 1"]
    labels = json.loads((folder / "labels.json").read_text())
    for row, label in zip(readings["as they are"], labels):  # [file, true time, read time, confidence]
        assert row[:2] == [label["file"], f"{label['hour'] or 12}:{label['minute']:02d}"] and 0 <= row[3] <= 1
        assert re.fullmatch(r"\d{1,2}:\d\d", row[2])
    # The same reader again: nothing changed. A file saved with another reading: that one is named
    capsys.readouterr()
    assert bench_clock_real.main([*options, "--against", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "as they are: 0 of 4 readings changed, confidence by up to 0.000" in out
    assert "as they are, re-taken 1: 0 of 4 readings changed" in out
    file, true, was, confidence = readings["as they are"][2]
    readings["as they are"][2] = [file, true, "6:66", 0.5]
    saved.write_text(json.dumps({"readings": readings}))
    assert bench_clock_real.main([*options, "--against", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "as they are: 1 of 4 readings changed" in out and f"2.png (true {true}): 6:66 (0.50) -> {was}" in out
    # Readings of photos shown otherwise are not compared; a file that is not one of readings is refused
    assert bench_clock_real.main([*options[:4], "--turn", "20", "--against", str(saved)]) == 0
    assert "only in one of the two: as they are, as they are, re-taken 1, turned 20" in capsys.readouterr().out
    saved.write_text("{not json")
    assert bench_clock_real.main([*options, "--against", str(saved)]) == 2
    err = capsys.readouterr().err
    assert "readings.json is not a file of readings saved by --readings" in err and "Traceback" not in err
