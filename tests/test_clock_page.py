"""The clock page (pages/clock.py) driven by Streamlit's AppTest, with a tiny reader."""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from genlab.clock import read, synth, train
from genlab.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "clock.py")
BIG_TIME = "font-size:5.5rem"


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
    return [m.value for m in at.markdown if BIG_TIME in m.value]


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
    assert any("kitchen.jpg" in m.value and "confidence" in m.value for m in page.markdown)


@pytest.mark.parametrize("name,data,message", [
    ("notes.png", b"this is text", "not an image"),
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
