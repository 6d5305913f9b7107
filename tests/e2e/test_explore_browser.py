"""End-to-end: the Latent explorer's live 3D view and its controls, in headless Chromium.

The camera a user turned must stay where it is across slider moves, threshold changes and
model switches; "Front view" turns it face-on; a bad upload must not lock the page; a move of
the latent slider is drawn by the browser itself, before the server hears of it.
"""

import json
import re
import struct

import pytest
from test_app_browser import (
    FIGURE_SIGNATURE,
    assert_no_exception,
    figure_signature,
    nudge_slider,
    open_page,
    settle,
    wait_for_new_signature,
)

pytestmark = pytest.mark.e2e
LIVE_PLOT = ".genlab-live .js-plotly-plot"
CAMERA = f"""() => {{
  const plot = document.querySelector('{LIVE_PLOT}');
  const camera = plot._fullLayout.scene._scene.getCamera();
  return [camera.eye.x, camera.eye.y, camera.eye.z].map(v => Math.round(v * 1000) / 1000);
}}"""


# Lets a test hold back what the page sends to the server (window.__hold), as on a slow link.
HOLD_SENDS = """(() => {
  window.__hold = false;
  window.__held = [];
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    send(message) { if (window.__hold) window.__held.push(() => super.send(message)); else super.send(message); }
  };
})();"""
SLOW_MS = 120_000   # a first model switch encodes reference digits; shared CI machines are slow


def open_explorer(page, app_url):
    open_page(page, app_url, "explore", "Latent explorer")
    page.locator(LIVE_PLOT).wait_for()
    page.wait_for_function(f"() => ({FIGURE_SIGNATURE})() !== null")
    threshold = page.get_by_role("slider", name="Threshold").first
    threshold.focus()
    threshold.press("Home")        # the lowest threshold shows voxels even for an untrained model
    settle(page)


def camera(page) -> list[float]:
    # A model switch may remount the view: wait until its plot is drawn again.
    page.wait_for_function(f"() => document.querySelector('{LIVE_PLOT}')?._fullLayout?.scene?._scene")
    return page.evaluate(CAMERA)


def turn_the_camera(page) -> None:
    """Drags across the 3D view, as a user turning the digit."""
    box = page.locator(LIVE_PLOT).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 160, y + 40, steps=12)
    page.mouse.up()
    page.wait_for_timeout(300)


def choose_checkpoint(page, name: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Checkpoint").first
    box.locator("input").click()
    page.get_by_role("option").filter(has_text=f"{name} ·").first.click()


def move_and_wait(page, action) -> None:
    """Runs action() (a user's input), then waits until the 3D view has new data and the run is over."""
    before = figure_signature(page)
    action()
    wait_for_new_signature(page, before, SLOW_MS)
    settle(page)


def test_the_camera_stays_put_across_slider_threshold_and_model_changes(page, app_url, screenshot):
    open_explorer(page, app_url)
    default = camera(page)
    turn_the_camera(page)
    turned = camera(page)
    assert turned != default

    move_and_wait(page, lambda: nudge_slider(page, "z[", presses=15))
    assert camera(page) == turned
    threshold = page.get_by_role("slider", name="Threshold").first
    move_and_wait(page, lambda: threshold.press("ArrowRight"))
    assert camera(page) == turned
    move_and_wait(page, lambda: threshold.press("Home"))
    move_and_wait(page, lambda: choose_checkpoint(page, "e2e_vae"))
    assert camera(page) == turned
    assert_no_exception(page)
    screenshot("explore-camera-kept")

    page.get_by_role("button", name="Front view", exact=True).click()
    page.wait_for_function(f"() => ({CAMERA})()[1] < -2 && Math.abs(({CAMERA})()[0]) < 0.01")
    front = camera(page)
    # A threshold step always redraws; one untrained-VAE coordinate may move no voxel across it.
    move_and_wait(page, lambda: threshold.press("ArrowRight"))
    assert camera(page) == front
    screenshot("explore-front-view")


def test_a_latent_slider_move_is_drawn_before_the_server_answers(page, app_url, screenshot):
    page.add_init_script(HOLD_SENDS)
    open_explorer(page, app_url)
    thumb = page.get_by_role("slider", name=re.compile(r"^z\[")).first     # the slider the sweep follows
    thumb.focus()
    before = figure_signature(page)
    page.evaluate("() => { window.__hold = true; }")
    for _ in range(6):                       # within the sweep's reach; a single step may move no voxel
        thumb.press("ArrowRight")
    drawn = wait_for_new_signature(page, before, 10_000)
    assert page.evaluate("() => window.__held.length") > 0    # the server has not heard of the moves yet
    triangles = page.evaluate(f"() => document.querySelector('{LIVE_PLOT}')._fullData[0].i.length")
    page.evaluate("() => { window.__hold = false; window.__held.splice(0).forEach(send => send()); }")
    settle(page)
    # The server's answer for the same position is the same digit (up to float rounding in its colours).
    assert json.loads(figure_signature(page))[0] == json.loads(drawn)[0]
    assert page.evaluate(f"() => document.querySelector('{LIVE_PLOT}')._fullData[0].i.length") == triangles
    assert_no_exception(page)
    screenshot("explore-moved-in-browser")


def test_direction_sliders_one_colour_and_the_stl_download(page, app_url, screenshot):
    open_explorer(page, app_url)
    page.get_by_text("principal directions", exact=True).click()
    page.get_by_role("slider", name=re.compile(r"^PC1 \(σ")).wait_for()
    before = figure_signature(page)
    nudge_slider(page, "PC1", presses=20)
    before = wait_for_new_signature(page, before)
    page.get_by_text("its nearest training digit (#").first.wait_for()

    page.get_by_text("One colour").click()
    page.wait_for_function(f"""() => {{
        const plot = document.querySelector('{LIVE_PLOT}');
        return plot && plot._fullData[0] && !plot._fullData[0].intensity; }}""")
    settle(page)
    assert_no_exception(page)
    screenshot("explore-directions-one-colour")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download STL (3D print)").click()
    data = open(download.value.path(), "rb").read()
    assert download.value.suggested_filename.endswith(".stl")
    (count,) = struct.unpack("<I", data[80:84])
    assert count > 0 and len(data) == 84 + 50 * count


def test_side_by_side_draws_one_row_per_model(page, app_url, screenshot):
    open_explorer(page, app_url)
    picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Checkpoints (2 to 4)").first
    for name in ("e2e_vae", "ae_fcn"):
        picker.scroll_into_view_if_needed()
        picker.click()
        page.keyboard.type(name)      # the list shows only its first entries until filtered
        page.get_by_role("option").filter(has_text=f"{name} ·").first.click()
        page.keyboard.press("Escape")
        settle(page)
    page.get_by_text("start · decoded · nearest training digit").nth(1).wait_for()
    page.get_by_text("the same interpolation", exact=True).click()
    settle(page)
    assert_no_exception(page)
    page.get_by_role("heading", name="Side by side").scroll_into_view_if_needed()
    screenshot("explore-side-by-side")


def test_a_bad_checkpoint_upload_does_not_lock_the_page(page, app_url, tmp_path):
    open_explorer(page, app_url)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 64)
    page.get_by_role("button", name="Upload a checkpoint").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(bad))
    page.get_by_text("This checkpoint cannot be used: broken.safetensors").first.wait_for()
    assert "uploads" not in page.get_by_text("This checkpoint cannot be used").first.inner_text()
    page.keyboard.press("Escape")
    before = figure_signature(page)
    choose_checkpoint(page, "e2e_vae")
    wait_for_new_signature(page, before, SLOW_MS)
    settle(page)
    assert page.get_by_text("This checkpoint cannot be used").count() == 0
    assert_no_exception(page)
    assert figure_signature(page) is not None


def test_the_scene_readied_while_the_user_reads_home_becomes_the_explorers_view(page, app_url):
    open_page(page, app_url, "", "genlab")
    page.wait_for_function("() => window.__genlabSpare", timeout=SLOW_MS)   # plotly.js read, a 3D scene made
    page.evaluate("() => { window.__genlabSpare.__readied = true; "
                  "window.__genlabSpare.querySelector('.gl-container canvas').__readied = true; }")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Latent explorer").click()
    page.wait_for_function(f"() => ({FIGURE_SIGNATURE})() !== null", timeout=SLOW_MS)
    plot = page.locator(LIVE_PLOT)
    assert plot.evaluate("(plot) => plot.__readied === true")      # taken over, not made anew
    # and its WebGL scene with it (Plotly.react keeps a plot's scene only while the div has its class)
    assert plot.evaluate("(plot) => plot.querySelector('.gl-container canvas').__readied === true")
    assert plot.bounding_box()["width"] > 300                       # sized to the page, not off it
    assert page.evaluate("() => window.__genlabSpare") is None
    assert_no_exception(page)
    # Back on Home, the next scene is readied, and the next visit to the explorer takes it over too.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Home").click()
    page.wait_for_function("() => window.__genlabSpare", timeout=SLOW_MS)
    page.evaluate("() => { window.__genlabSpare.querySelector('.gl-container canvas').__second = true; }")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Latent explorer").click()
    page.wait_for_function(f"() => ({FIGURE_SIGNATURE})() !== null", timeout=SLOW_MS)
    assert page.locator(LIVE_PLOT).evaluate("(plot) => plot.querySelector('.gl-container canvas').__second === true")
    assert_no_exception(page)


def test_the_other_dimensions_are_drawn_on_demand_and_keep_their_values(page, app_url):
    open_explorer(page, app_url)                         # a shipped 32-dimension model comes first
    coordinates = page.locator('input[type="range"][aria-label^="z["]')
    assert coordinates.count() == 8
    page.get_by_text("The other 24 dimensions").click()
    page.wait_for_function("() => document.querySelectorAll('input[type=\"range\"][aria-label^=\"z[\"]').length == 32")
    settle(page)
    last = coordinates.nth(31)
    label, before = last.get_attribute("aria-label"), last.get_attribute("aria-valuetext")
    move_and_wait(page, lambda: [last.press("ArrowRight") for _ in range(4)])
    moved = page.locator(f'input[type="range"][aria-label="{label}"]').get_attribute("aria-valuetext")
    assert moved != before
    page.get_by_text("The other 24 dimensions").click()
    page.wait_for_function("() => document.querySelectorAll('input[type=\"range\"][aria-label^=\"z[\"]').length == 8")
    settle(page)
    page.get_by_text("The other 24 dimensions").click()
    page.wait_for_function("() => document.querySelectorAll('input[type=\"range\"][aria-label^=\"z[\"]').length == 32")
    settle(page)
    assert page.locator(f'input[type="range"][aria-label="{label}"]').get_attribute("aria-valuetext") == moved
    assert_no_exception(page)
