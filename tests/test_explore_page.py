"""The Latent explorer page through AppTest: direction sliders, nearest digit, export, side by side, uploads."""

import base64
import json
import zlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from genlab import paths
from genlab.app import files
from genlab.models import build_model, save_model

APP = str(paths.REPO_ROOT / "app.py")
SMALL_DATASET = {"source": "synthetic", "params": {"n_train": 120, "n_test": 60}}


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def live_data(at: AppTest) -> dict:
    """Returns what the live 3D view was last sent (genlab.viz.live)."""
    return json.loads(at.get("bidi_component")[0].proto.json)[0]


def unpacked(text: str) -> np.ndarray:
    """Returns a sweep's packed levels (zlib-compressed) as uint8."""
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), np.uint8)


def shown(view: dict) -> np.ndarray:
    """Returns the levels of the grid a live view shows (sent uncompressed, drawn on arrival)."""
    return np.frombuffer(base64.b64decode(view["levels"]), np.uint8)


@pytest.fixture
def checkpoints():
    """Saves two small trained-looking checkpoints where the app keeps runs; returns their names."""
    for name, kind, latent in (("tiny_vae", "vae", 4), ("tiny_ae", "ae", 6)):
        save_model(build_model(kind, "fcn", latent_dim=latent), files.runs_dir() / f"{name}.safetensors",
                   {"dataset": {"source": "synthetic"}})
    return ["tiny_vae", "tiny_ae"]


def option(at: AppTest, key: str, name: str) -> str:
    return next(o for o in at.selectbox(key=key).options if o.startswith(f"{name} ·"))


def open_explorer(name: str = "tiny_vae") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["dataset_choice"] = dict(SMALL_DATASET)
    at.run()
    at.switch_page("pages/explore.py").run()
    at.selectbox(key="explore_checkpoint").set_value(option(at, "explore_checkpoint", name)).run()
    assert_clean(at)
    return at


def copied_latent(at: AppTest) -> np.ndarray:
    return np.array(json.loads(at.code[0].value))


def test_direction_sliders_move_the_latent_and_coordinates_are_kept(checkpoints):
    at = open_explorer("ae_fcn")   # shipped: a trained encoder spreads the digits' codes
    at.toggle(key="copy_latent").set_value(True).run()
    at.slider(key=next(s.key for s in at.slider if s.label.startswith("z["))).set_value(1.5).run()
    coordinates = sorted(s.value for s in at.slider if s.label.startswith("z["))
    before = copied_latent(at)
    at.segmented_control(key="slider_mode").set_value("principal directions").run()
    assert_clean(at)
    directions = [s for s in at.slider if s.label.startswith("PC")]
    assert len(directions) == 8
    assert not [s for s in at.slider if s.label.startswith("z[")]
    np.testing.assert_allclose(copied_latent(at), before)  # switching modes alone moves nothing
    directions[0].set_value(2.5).run()
    assert_clean(at)
    sigma = float(directions[0].label.split("σ = ")[1].rstrip(")"))
    moved = copied_latent(at) - before
    assert sigma > 0.1 and np.linalg.norm(moved) == pytest.approx(2.5 * sigma, rel=0.01, abs=3e-3)
    at.segmented_control(key="slider_mode").set_value("coordinates").run()
    assert sorted(s.value for s in at.slider if s.label.startswith("z[")) == coordinates
    np.testing.assert_allclose(copied_latent(at) - before, moved, atol=1e-3)   # the PC offset still applies
    at.button(key="reset_latent").click().run()
    at.segmented_control(key="slider_mode").set_value("principal directions").run()
    assert all(s.value == 0.0 for s in at.slider if s.label.startswith("PC"))


def test_the_view_carries_a_sweep_of_the_slider_last_moved(checkpoints):
    from genlab.app.explore import decode
    from genlab.models import load_model
    from genlab.viz.live import grid_levels

    at = open_explorer("tiny_ae")
    at.toggle(key="copy_latent").set_value(True).run()
    sliders = [s for s in at.slider if s.label.startswith("z[")]
    first = live_data(at)["sweep"]
    assert first["label"] == sliders[0].label           # at first: the most influential dimension
    moved = sliders[2]
    moved.set_value(1.0).run()
    assert_clean(at)
    data = live_data(at)
    sweep, view = data["sweep"], data["view"]
    assert sweep["label"] == moved.label and sweep["values"][sweep["at"]] == pytest.approx(1.0)
    stops = [round(1.0 + 0.05 * n, 6) for n in range(-10, 11)]                 # every stop within reach
    assert sweep["values"] == sorted(sweep["values"]) and set(stops) <= set(sweep["values"])
    assert sweep["values"][0] == moved.min and sweep["values"][-1] == moved.max   # and the whole range
    gaps = np.diff(sweep["values"])
    assert 0 < gaps.max() <= 2 * sweep["snap"] + 1e-6          # every value is within snap of a position
    assert set(sweep["others"]) == {s.label for s in sliders} - {moved.label}
    grids = unpacked(sweep["levels"]).reshape(len(sweep["values"]), 16, 16, 16)
    assert np.array_equal(grids[sweep["at"]].ravel(), shown(view))
    # Each swept grid is what the model decodes with the slider at that position, also after a
    # further step (which decodes only the new positions and reuses the others).
    index = int(moved.label[2:-1])
    model = load_model(files.runs_dir() / "tiny_ae.safetensors")
    for value in (1.0, 1.05):
        moved.set_value(value).run()
        sweep = live_data(at)["sweep"]
        grids = unpacked(sweep["levels"]).reshape(len(sweep["values"]), 16, 16, 16)
        z = np.array(json.loads(at.code[0].value), np.float32)
        assert sweep["values"][sweep["at"]] == pytest.approx(value)
        for n in (0, sweep["at"] + 1, len(grids) - 1):
            z[index] = sweep["values"][n]
            assert np.abs(grid_levels(decode(model, z)).astype(int) - grids[n]).max() <= 1
    at.toggle(key="explore_surface").set_value(True).run()
    assert live_data(at)["sweep"] is None and live_data(at)["view"]["mesh"]["count"] >= 0


def captions(at: AppTest) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def download_buttons(at: AppTest) -> dict:
    return {b.proto.label: b.proto for b in at.get("download_button")}


def test_nearest_training_digit_and_downloads_are_shown(checkpoints):
    at = open_explorer()
    at.slider(key="explore_threshold").set_value(0.05).run()
    (caption,) = [c for c in captions(at) if "nearest training digit" in c]
    assert "the start digit · the decoded latent · its nearest training digit (#" in caption
    assert "mean squared difference" in caption
    buttons = download_buttons(at)
    assert {"Download STL (3D print)", "Download OBJ"} <= set(buttons)
    assert not buttons["Download STL (3D print)"].disabled
    at.slider(key="explore_threshold").set_value(0.95).run()
    view = live_data(at)["view"]
    if not (shown(view) >= view["threshold_level"]).any():   # nothing to print
        assert download_buttons(at)["Download STL (3D print)"].disabled


def test_one_colour_and_threshold_reach_the_live_view_and_the_animation(checkpoints):
    at = open_explorer()
    assert not at.get("plotly_chart")              # the path's 3D animation is drawn only when asked for
    at.toggle(key="interp_3d").set_value(True).run()
    at.slider(key="explore_threshold").set_value(0.05).run()
    assert live_data(at)["view"]["one_colour"] is False
    frames_low = json.loads(at.get("plotly_chart")[0].proto.spec)["frames"]
    at.toggle(key="explore_one_colour").set_value(True).run()
    assert_clean(at)
    assert live_data(at)["view"]["one_colour"] is True
    animation = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "intensity" not in animation["frames"][0]["data"][0]
    at.slider(key="explore_threshold").set_value(0.95).run()
    frames_high = json.loads(at.get("plotly_chart")[0].proto.spec)["frames"]
    # The animation follows the threshold: fewer (or no) voxels at 0.95 than at 0.05.
    count = lambda frames: sum(len(f["data"][0].get("i", [])) for f in frames)   # noqa: E731
    assert count(frames_high) < count(frames_low)


def test_the_output_curve_can_be_switched_off_to_see_the_decoders_probabilities(checkpoints):
    """A model whose curve shows every voxel empty: on (the default), the live view, the samples and the
    interpolation are empty; off, they are the decoded probabilities. A model without a curve has no switch."""
    import torch

    from genlab.models import load_model
    from genlab.models.output_curve import KNOTS

    at = open_explorer()
    assert "explore_curve" not in [toggle.key for toggle in at.toggle]
    path = files.runs_dir() / "tiny_vae.safetensors"
    model = load_model(path)
    model.output_curve = torch.zeros(KNOTS)
    save_model(model, path, model.metadata)
    at = open_explorer()
    assert at.toggle(key="explore_curve").value is True
    assert not shown(live_data(at)["view"]).any()
    pictures = lambda: [image.url for element in at.get("image") for image in element.proto.imgs]  # noqa: E731
    empty = pictures()
    at.toggle(key="explore_curve").set_value(False).run()
    assert_clean(at)
    assert shown(live_data(at)["view"]).any()
    assert all(a != b for a, b in zip(pictures(), empty))  # the thumbnails, path and samples drawn again


def test_side_by_side_walks_one_row_per_model(checkpoints):
    at = open_explorer()
    at.multiselect(key="side_models").set_value(
        [option(at, "explore_checkpoint", "tiny_vae"), option(at, "explore_checkpoint", "tiny_ae")]).run()
    assert_clean(at)
    rows = lambda: [m.value for m in at.markdown if m.value.startswith("**tiny_")]   # noqa: E731
    assert rows() == ["**tiny_vae**  \nVAE · FCN", "**tiny_ae**  \nAE · FCN"]
    at.slider(key="side_pc_0").set_value(2.0).run()
    assert_clean(at)
    at.segmented_control(key="side_walk").set_value("the same interpolation").run()
    at.slider(key="side_frames").set_value(4).run()
    assert_clean(at)
    assert len(rows()) == 2
    at.segmented_control(key="side_walk").set_value("the same per-digit request").run()
    assert_clean(at)
    # Neither tiny model has fitted per-digit Gaussians: each row says so instead of drawing.
    assert sum("cannot be asked for a 3" in i.value for i in at.info) == 2


def test_a_bad_upload_does_not_lock_the_page(checkpoints):
    at = open_explorer()
    at.file_uploader(key="checkpoint_upload").set_value(
        ("stranger.safetensors", b"\x00" * 64, "application/octet-stream")).run()
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any("stranger.safetensors" in e for e in errors)
    assert not any("uploads" in e or "-stranger" in e for e in errors)   # the user's name, not the saved path
    assert live_data(at)["view"]["shape"] == [16, 16, 16]                  # the picked model still draws
    at.selectbox(key="explore_checkpoint").set_value(option(at, "explore_checkpoint", "tiny_ae")).run()
    assert_clean(at)
    assert not at.error
    assert "6 latent dimensions" in at.caption[0].value


def test_data_page_offers_the_digit_as_stl():
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["dataset_choice"] = dict(SMALL_DATASET)
    at.run()
    at.switch_page("pages/data.py").run()
    assert_clean(at)
    (button,) = [b.proto for b in at.get("download_button") if b.proto.label == "Download STL (3D print)"]
    assert not button.disabled
