"""The clock page (pages/clock.py) driven by Streamlit's AppTest, with a tiny reader."""

import dataclasses
import io
import json
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from genlab.clock import read, synth, train
from genlab.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "clock.py")
TIME = "clock-time"


@pytest.fixture
def page(tmp_path, monkeypatch):
    """The page with a tiny untrained reader standing in for the shipped weights."""
    images, labels = synth.make_clocks(4, seed=0, size=48)
    weights = tmp_path / "tiny.safetensors"
    train.save_reader(train.train_reader(images, labels, head="polar", steps=1, batch_size=4, width=4), weights)
    monkeypatch.setattr(read, "WEIGHTS_PATH", weights)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def _big_times(at):
    """Returns the markdown of the read time(s) on the page, sure or not."""
    return [m.value for m in at.markdown if TIME in m.value]


def test_page_starts_with_examples_and_no_reading(page):
    assert page.title[0].value == "Clock reader"
    assert len([b for b in page.button if b.label == "Try"]) == 4
    assert not _big_times(page)


def test_example_button_shows_a_time(page):
    page.button(key="clock_example_0").click().run()
    assert not page.exception and not page.error
    (big,) = _big_times(page)
    assert ":" in big


def test_upload_shows_a_time(page):
    buffer = io.BytesIO()
    Image.fromarray(synth.make_clocks(1, seed=77)[0][0]).convert("RGB").save(buffer, "JPEG")
    page.file_uploader[0].set_value(("kitchen.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert not page.exception and not page.error
    assert len(_big_times(page)) == 1
    assert any("kitchen.jpg" in m.value for m in [*page.markdown, *page.warning])


def test_an_unsure_reading_says_so_with_the_candidates(page):
    page.button(key="clock_example_1").click().run()  # a 1-step reader is never sure
    (time,) = _big_times(page)
    assert "unsure" in time and "?" in time
    (warning,) = page.warning
    assert "Not sure" in warning.value and "Mark the clock myself" in warning.value
    assert re.search(r"Not sure about example clock 2 \(shows \d+:\d\d\): \*\*\d+:\d\d\*\* \d+%", warning.value)


def test_a_sure_reading_is_stated(page, monkeypatch):
    monkeypatch.setattr(read.ClockReading, "sure", property(lambda self: True))
    page.button(key="clock_example_1").click().run()
    (time,) = _big_times(page)
    assert "unsure" not in time and not page.warning
    assert any("confidence" in m.value for m in page.markdown)


@pytest.mark.parametrize("runner_up,shown", [(0.004, False), (0.05, True)])
def test_a_sure_reading_lists_only_alternatives_worth_a_percent(page, monkeypatch, runner_up, shown):
    real = read.read_clock

    def sure_reading(*args, **kwargs):
        reading = real(*args, **kwargs)
        others = [read.Alternative(3, 10, runner_up), read.Alternative(9, 0, 0.001)]
        return dataclasses.replace(reading, confidence=0.9, alternatives=[reading.alternatives[0], *others])

    monkeypatch.setattr(read, "read_clock", sure_reading)
    page.button(key="clock_example_1").click().run()
    captions = [c.value for c in page.caption if c.value.startswith("alternatives")]
    assert captions == (["alternatives: 3:10 (5%)"] if shown else [])  # 9:00 at 0.1% is never listed


@pytest.mark.parametrize("runner_up,shown", [(0.004, False), (0.05, True)])
def test_an_unsure_reading_lists_only_alternatives_worth_a_percent(page, monkeypatch, runner_up, shown):
    real = read.read_clock

    def unsure_reading(*args, **kwargs):
        reading = real(*args, **kwargs)
        first = dataclasses.replace(reading.alternatives[0], probability=0.5)
        others = [read.Alternative(3, 10, runner_up), read.Alternative(9, 0, 0.001)]
        return dataclasses.replace(reading, confidence=0.5, alternatives=[first, *others])

    monkeypatch.setattr(read, "read_clock", unsure_reading)
    page.button(key="clock_example_1").click().run()
    (warning,) = page.warning
    assert "50%" in warning.value and ("**3:10** 5%" in warning.value) == shown and "9:00" not in warning.value


def test_marking_the_clock_reads_only_the_marked_square(page):
    page.button(key="clock_example_2").click().run()
    page.toggle(key="clock_mark").set_value(True).run()
    page.slider(key="clock_mark_size").set_value(50).run()
    assert not page.exception and not page.error
    assert any("reads only the square marked" in c.value for c in page.caption)
    assert len(_big_times(page)) == 1
    (chart,) = page.get("plotly_chart")  # the photo to drag a box on, the square drawn on it
    (square,) = json.loads(chart.proto.spec)["layout"]["shapes"]
    assert square["type"] == "rect" and square["x1"] - square["x0"] == pytest.approx(0.5 * 150)  # 50% of 150 px
    page.button(key="clock_example_3").click().run()  # another photo: the mark is forgotten
    assert page.toggle(key="clock_mark").value is False


def test_the_uploader_states_the_image_cap_and_takes_what_browsers_and_scanners_save(page):
    from genlab.app import files

    assert page.file_uploader[0].proto.max_upload_size_mb == files.MAX_IMAGE_BYTES // 2**20 == 40
    assert {".jpg", ".jfif", ".png", ".webp", ".tif", ".tiff", ".heic"} <= set(page.file_uploader[0].proto.type)
    buffer = io.BytesIO()
    Image.fromarray(synth.make_clocks(1, seed=77)[0][0]).save(buffer, "TIFF")
    page.file_uploader[0].set_value(("scan.tif", buffer.getvalue(), "image/tiff")).run()
    assert not page.exception and not page.error
    assert len(_big_times(page)) == 1


def test_a_phone_jpeg_over_the_old_cap_is_read_and_a_file_over_the_cap_is_refused(page):
    clock = Image.fromarray(synth.make_clocks(1, seed=77)[0][0]).resize((3000, 3000), Image.BILINEAR)
    grain = np.random.default_rng(0).integers(-40, 41, (3000, 3000, 3))  # colour noise makes phone JPEGs big
    photo = np.clip(np.asarray(clock, int)[..., None] + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "JPEG", quality=98, subsampling=0)
    assert 10 * 2**20 < len(buffer.getvalue()) < 40 * 2**20  # over the 10 MB accepted until 2026-12-02
    page.file_uploader[0].set_value(("phone.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert not page.exception and not page.error
    assert len(_big_times(page)) == 1
    page.file_uploader[0].set_value(("raw.jpg", bytes(41 * 2**20), "image/jpeg")).run()
    assert page.error and "raw.jpg is 41.0 MB; images up to 40 MB are accepted." in page.error[0].value
    assert not _big_times(page)


def test_a_bad_upload_replaces_the_previous_reading(page):
    page.button(key="clock_example_0").click().run()
    assert len(_big_times(page)) == 1
    page.file_uploader[0].set_value(("notes.png", b"not a picture", "image/png")).run()
    assert page.error and not _big_times(page)


@pytest.mark.parametrize("name,data,message", [
    ("notes.png", b"this is text", "not an image"),
    ("IMG_0042.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200), "export it as JPEG"),
    ("blank.png", None, "blank"),
])
def test_bad_upload_shows_an_error(page, name, data, message):
    if data is None:
        buffer = io.BytesIO()
        Image.fromarray(np.full((64, 64), 200, np.uint8)).save(buffer, "PNG")
        data = buffer.getvalue()
    page.file_uploader[0].set_value((name, data, "image/png")).run()
    assert not page.exception
    assert page.error and name in page.error[0].value and message in page.error[0].value
    assert not _big_times(page)


class _TrainingJob:
    """A clock-training job as the page draws it (genlab.app.jobs.Job's label, running and snapshot)."""

    def __init__(self, status: str, result=None, error=None):
        self.label, self.running = "clock reader (polar)", status == "running"
        self.state = {"label": self.label, "status": status, "fraction": 1.0 if status == "done" else 0.5,
                      "log": [{"phase": "training", "loss": 1.2345, "done": 1, "total": 2}], "result": result,
                      "error": error}

    def snapshot(self) -> dict:
        return dict(self.state)


@pytest.mark.parametrize("status, result, error", [
    ("running", None, None),
    ("done", {"path": "runs/reader_1.safetensors", "metrics": {"hour_accuracy": 0.97, "median_error": 1.0}}, None),
    ("failed", None, "out of memory"),
])
def test_the_latest_training_job_shows_how_it_stands(page, monkeypatch, status, result, error):
    from genlab.app import jobs

    monkeypatch.setattr(jobs, "jobs_for", lambda owner: [_TrainingJob(status, result, error)])
    page.run()
    assert not page.exception
    cancel = [b for b in page.button if b.label == "Cancel training"]
    assert bool(cancel) == (status == "running")  # Cancel only while it runs
    if status == "done":
        assert "Saved reader_1.safetensors: hour right 97%" in page.success[0].value
    if status == "failed":
        assert "Training failed: out of memory" in page.warning[-1].value


def test_no_training_job_draws_nothing_of_one(page):
    assert not [b for b in page.button if b.label == "Cancel training"]
    assert not page.success and not page.warning
