"""End-to-end: the real app under `streamlit run`, driven in headless Chromium through Playwright.

Screenshots of every page land in screenshots/ (gitignored); look at them.
"""

import io
import json
import re

import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.e2e
PlaywrightTimeout = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").TimeoutError

PAGES = [("", "genlab", "home"), ("data", "Data", "data"), ("train", "Train", "train"),
         ("explore", "Latent explorer", "explore"), ("compare", "Compare", "compare"),
         ("clock", "Clock reader", "clock")]
# A figure on the page (not the 3D scene the frame prepares off the page: genlab.app.live_view.prepare).
PLOT = '[data-testid="stMain"] .js-plotly-plot'
# A short fingerprint of the first figure on the page: what the browser is drawing.
FIGURE_SIGNATURE = f"""() => {{
  const plot = document.querySelector('{PLOT}');
  // _fullData holds the decoded arrays (data may hold base64-encoded typed arrays).
  if (!plot || !plot._fullData || !plot._fullData.length) return null;
  const trace = plot._fullData[0];
  const sum = (a) => Array.from(a || []).reduce((s, v) => s + v, 0);
  const title = plot.layout && plot.layout.title ? plot.layout.title.text : '';
  return JSON.stringify([(trace.x || []).length, sum(trace.intensity).toFixed(4), title]);
}}"""


def settle(page, timeout_ms: int = 90_000) -> None:
    """Waits until the app has finished its current run (no "Running…" widget, no spinner)."""
    page.wait_for_timeout(400)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"], [data-testid=\"stSpinner\"]')",
        timeout=timeout_ms)
    page.wait_for_timeout(200)


def open_page(page, app_url: str, path: str, title: str) -> None:
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    settle(page)


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def figure_signature(page):
    return page.evaluate(FIGURE_SIGNATURE)


def wait_for_new_signature(page, before, timeout_ms: int = 30_000):
    page.wait_for_function(f"() => ({FIGURE_SIGNATURE})() !== {json.dumps(before)}",
                           timeout=timeout_ms)
    return figure_signature(page)


def nudge_slider(page, label_start: str, presses: int = 8) -> None:
    """Moves the first slider whose label starts with label_start by `presses` steps to the right."""
    thumb = page.get_by_role("slider", name=re.compile("^" + re.escape(label_start))).first
    thumb.focus()
    for _ in range(presses):
        thumb.press("ArrowRight")


def png_of_a_one() -> bytes:
    image = Image.new("L", (120, 160), 0)
    ImageDraw.Draw(image).line([(60, 20), (60, 140)], fill=255, width=16)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("path,title,name", PAGES, ids=[name for _, _, name in PAGES])
def test_page_loads_without_error(page, app_url, screenshot, path, title, name):
    open_page(page, app_url, path, title)
    if path in ("data", "explore", "compare"):
        page.locator(PLOT).first.wait_for()
    if path == "":
        page.locator('[data-testid="stMarkdownContainer"] table').first.wait_for()   # the checkpoint table
    if path == "compare":
        page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    assert_no_exception(page)
    screenshot(f"page-{name}")


def test_moving_a_latent_slider_redraws_the_figure(page, app_url, screenshot):
    open_page(page, app_url, "explore", "Latent explorer")
    page.locator(PLOT).first.wait_for()
    # The lowest threshold shows voxels even for a barely trained model.
    threshold = page.get_by_role("slider", name="Threshold").first
    threshold.focus()
    threshold.press("Home")
    settle(page)
    before = figure_signature(page)
    assert before is not None and json.loads(before)[0] > 0
    nudge_slider(page, "z[", presses=20)
    after = wait_for_new_signature(page, before)
    assert after != before
    assert_no_exception(page)
    screenshot("explore-after-slider")


def test_browsing_digits_redraws_the_figure(page, app_url, screenshot):
    open_page(page, app_url, "data", "Data")
    page.locator(PLOT).first.wait_for()
    before = figure_signature(page)
    nudge_slider(page, "Which 0", presses=3)
    after = wait_for_new_signature(page, before)
    assert json.loads(after)[2] != json.loads(before)[2]   # the title names another digit
    assert_no_exception(page)


def test_uploading_images_on_the_data_page(page, app_url, screenshot, tmp_path):
    open_page(page, app_url, "data", "Data")
    page.get_by_role("tab", name="Lift a 2D image").click()
    upload = page.locator('[data-testid="stFileUploaderDropzoneInput"]').first
    good, bad = tmp_path / "one.png", tmp_path / "notes.png"
    good.write_bytes(png_of_a_one())
    bad.write_bytes(b"this is not an image at all")
    upload.set_input_files(str(good))
    page.get_by_text("one.png").first.wait_for()
    settle(page)
    page.locator(PLOT).filter(has_text="lifted to 3D").first.wait_for()
    assert_no_exception(page)
    screenshot("data-lifted-upload")

    upload.set_input_files(str(bad))
    page.get_by_text("is not an image genlab can read").first.wait_for()
    assert_no_exception(page)


def test_start_and_cancel_a_training_run(page, app_url, screenshot):
    open_page(page, app_url, "train", "Train")
    digits = page.get_by_role("spinbutton", name="Training digits (0 = all)")
    digits.fill("400")
    digits.press("Tab")
    # Enough epochs that the run is still going when Cancel is clicked, even on an idle machine.
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("200")
    epochs.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run: ae/fcn").first.wait_for()
    page.get_by_text("step", exact=False).filter(has_text="epoch ").filter(has_text="/200").first.wait_for(
        timeout=90_000)
    screenshot("train-running")
    cancelling = page.get_by_text("Cancelling after the current step").or_(
        page.get_by_text("Training was cancelled"))
    for _ in range(3):  # the page redraws every second while training: retry a lost click
        page.get_by_role("button", name="Cancel").click()
        try:
            cancelling.first.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            continue
    page.get_by_text("Training was cancelled").first.wait_for(timeout=120_000)
    assert_no_exception(page)
    screenshot("train-cancelled")


def grid_rows(page, header: str) -> list[list[str]]:
    """Returns the text of each body row of the first data frame with a column `header`: Streamlit draws a
    data frame on a canvas and keeps its cells in an accessible table inside it (not visible)."""
    grid = page.locator("[data-testid='stDataFrame'] table[role=grid]").filter(
        has=page.locator("th", has_text=re.compile(f"^{re.escape(header)}$"))).first
    grid.wait_for(state="attached", timeout=30_000)
    return [[cell.text_content() for cell in row.locator("td").all()] for row in grid.locator("tbody tr").all()]


def test_a_run_finished_on_the_train_page_shows_its_test_metrics_there_and_on_home(page, app_url, screenshot):
    open_page(page, app_url, "train", "Train")
    for name, value in (("Training digits (0 = all)", "200"), ("Epochs", "1")):
        box = page.get_by_role("spinbutton", name=name)
        box.fill(value)
        box.press("Tab")
    page.get_by_role("button", name="Start training").click()
    finished = page.get_by_text("Finished. Checkpoint saved as").first
    finished.wait_for(timeout=180_000)
    saved = re.search(r"runs/(\S+)\.safetensors", finished.inner_text()).group(1)
    (canonical, *_) = grid_rows(page, "BCE")   # test digits, BCE, MSE, IoU
    assert re.fullmatch(r"0\.\d{4}", canonical[1]), canonical
    screenshot("train-finished")
    assert_no_exception(page)
    open_page(page, app_url, "", "genlab")   # Home lists the run with the same test BCE, ready
    home_row = page.locator("tr").filter(has_text=saved).first   # Home's table is HTML
    home_row.wait_for(timeout=30_000)
    row = home_row.locator("td").all_inner_texts()
    assert canonical[1] in row and "ready" in row, row


def test_a_box_dragged_on_the_photo_marks_the_clock(page, app_url, screenshot, tmp_path):
    """A clock in the top-right corner of a bigger photo: a box dragged around it moves the three sliders to it,
    is drawn on the photo, and only it is read."""
    import numpy as np

    from genlab.clock import synth

    photo = Image.new("RGB", (900, 600), (120, 118, 110))
    clock = synth.render_clock(3, 40, np.random.default_rng(4), size=150, clean=True)
    photo.paste(Image.fromarray(clock).convert("RGB"), (650, 80))
    path = tmp_path / "corner.png"
    photo.save(path)
    open_page(page, app_url, "clock", "Clock reader")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    page.locator(".clock-time").first.wait_for()
    settle(page)
    page.get_by_text("Mark the clock myself", exact=True).first.click()
    settle(page)
    chart = page.locator(f"{PLOT} .nsewdrag").first
    chart.wait_for()
    area = chart.bounding_box()
    to_page = lambda x, y: (area["x"] + area["width"] * x / 900, area["y"] + area["height"] * y / 600)  # noqa: E731
    page.mouse.move(*to_page(640, 70))
    page.mouse.down()
    page.mouse.move(*to_page(810, 240), steps=10)
    page.mouse.up()
    across = page.get_by_role("slider", name="Clock centre, across (%)")
    page.wait_for_function("e => e.value !== '50'", arg=across.element_handle(), timeout=30_000)
    settle(page)
    values = [int(page.get_by_role("slider", name=name).get_attribute("value"))
              for name in ("Clock centre, across (%)", "Clock centre, down (%)", "Clock size (% of the short side)")]
    # the box's centre (725, 155) and its side (170 px of the 600-px short side)
    assert abs(values[0] - 81) <= 1 and abs(values[1] - 26) <= 1 and abs(values[2] - 28) <= 1, values
    assert page.get_by_text("genlab reads only the square marked in yellow.").count() == 1
    assert page.locator(PLOT).first.evaluate("e => e.layout.shapes.length") == 1  # the square, on the photo
    assert page.locator(".clock-time").first.inner_text().rstrip("?") == "3:40"
    assert_no_exception(page)
    screenshot("clock-marked-box")


def test_on_a_phone_the_examples_stay_in_one_row_and_the_reading_comes_soon_after(page, app_url, screenshot):
    """Streamlit stacks columns in a narrow window: the four example clocks, a screen wide each, pushed the reading
    three screens below the uploader (its top at 2,378 px when written)."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, app_url, "clock", "Clock reader")
    buttons = page.get_by_role("button", name="Try", exact=True)
    tops = {round(buttons.nth(i).bounding_box()["y"]) for i in range(buttons.count())}
    assert buttons.count() == 4 and len(tops) == 1, tops  # one row
    buttons.first.click()
    page.locator(".clock-time").first.wait_for()
    settle(page)
    assert page.locator(".clock-time").first.bounding_box()["y"] < 1000  # 815 px when written
    assert_no_exception(page)
    screenshot("clock-phone")
