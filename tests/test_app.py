"""Every page of the app, driven through streamlit.testing.v1.AppTest: widgets, uploads, errors."""

import base64
import functools
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from genlab import names, paths
from genlab.app import catalogue, files, jobs, state
from genlab.models import build_model, load_model, save_model

APP = str(paths.REPO_ROOT / "app.py")
SMALL_DATASET = {"source": "synthetic", "params": {"n_train": 120, "n_test": 60}}
PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/explore.py",
         "pages/compare.py", "pages/clock.py"]


def open_page(page: str, owner: str | None = None) -> AppTest:
    """Returns an AppTest of app.py switched to `page`, on a small synthetic dataset."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset_choice"] = dict(SMALL_DATASET)
    if owner:
        at.session_state["owner"] = owner
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def figure(at: AppTest, index: int = 0) -> dict:
    """Returns the Plotly figure JSON of the index-th chart on the page."""
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def digit_png() -> bytes:
    image = Image.new("L", (90, 120), 0)
    ImageDraw.Draw(image).line([(45, 10), (45, 110)], fill=255, width=14)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def checkpoint():
    """Returns a small VAE checkpoint saved where the app keeps trained runs."""
    path = files.runs_dir() / "tiny_vae.safetensors"
    save_model(build_model("vae", "fcn", latent_dim=4), path, {"dataset": {"source": "synthetic"}})
    return path


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exception(page):
    at = open_page(page)
    assert at.title, f"{page} has no title"


def test_home_names_the_dataset_and_the_checkpoints(checkpoint):
    at = open_page("pages/home.py")
    state.dataset_build(SMALL_DATASET).thread.join(60)   # loads in the background
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "Procedural digits" in text and "120 training and 60 test digits" in text
    assert "Clock reader" in text
    (table,) = [m.value for m in at.markdown if "<table>" in m.value]
    assert "<tr><td>tiny_vae</td><td>trained</td>" in table
    assert "None" not in table


def test_home_shows_real_digits_at_once_while_the_mnist_build_runs_in_the_background(monkeypatch):
    monkeypatch.delenv("GENLAB_MNIST_DIR", raising=False)
    choice = {"source": "mnist", "params": {"n_train": 40, "n_test": 20, "rotated_copies": 0}}
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset_choice"] = choice
    at.run()
    assert_clean(at)
    assert any("Real MNIST digits (embedded in genlab)" in m.value for m in at.markdown)
    assert at.get("image"), "no digit preview"
    assert state.dataset_build(choice).thread.join(60) is None and state.dataset_build(choice).finished
    at.run()
    assert any("40 training and 20 test digits" in m.value for m in at.markdown)


def test_a_delayed_dataset_load_waits_until_a_page_needs_it():
    choice = {"source": "synthetic", "params": {"n_train": 30, "n_test": 10, "seed": 7}}
    build = state.DatasetBuild(choice, delay=600)      # as Home starts it: after the page is drawn
    build.thread.join(0.5)
    assert not build.finished and build.done == 0
    build.hurry()                                       # a page needs it now (state.load_dataset does this)
    assert build.thread.join(60) is None and build.dataset is not None and len(build.dataset.X_test) == 10


def test_a_dataset_is_built_in_a_child_process_and_read_here_from_its_cache(monkeypatch):
    from genlab.data import dataset as data_module
    from genlab.data import mnist

    @functools.wraps(mnist.build)   # the same parameters and defaults
    def built_here(*args, **params):
        raise AssertionError("the server's process built the dataset")

    monkeypatch.setattr(mnist, "build", built_here)   # this process may only read the cache
    choice = {"source": "mnist", "params": {"n_train": 40, "n_test": 20, "rotated_copies": 1}}
    build = state.DatasetBuild(choice)
    assert build.building
    assert build.thread.join(60) is None and build.error is None, build.error
    assert build.done == build.total == 40 * 2 + 20      # the child's progress was heard here
    assert len(build.dataset.X_train) == 80 and data_module.is_cached("mnist", choice["params"])


def test_a_dataset_build_that_fails_in_its_child_says_why():
    choice = {"source": "kaggle", "params": {"path": "/nonexistent/full_dataset_vectors.h5"}}
    build = state.DatasetBuild(choice)
    if build.error is None:
        build.thread.join(60)
    assert build.finished and "full_dataset_vectors.h5" in str(build.error)


def test_data_browse_widgets_redraw_the_digit():
    at = open_page("pages/data.py")
    assert "digit 0" in figure(at)["layout"]["title"]["text"]
    at.segmented_control(key="data_digit").set_value(3).run()
    at.slider(key="data_index_train_3").set_value(2).run()
    assert_clean(at)
    assert "digit 3" in figure(at)["layout"]["title"]["text"]
    cubes = figure(at)["data"][0]
    at.toggle(key="browse_surface").set_value(True).run()
    at.slider(key="browse_threshold").set_value(0.3).run()
    assert_clean(at)
    surface = figure(at)["data"][0]
    assert surface["flatshading"] is False and cubes["flatshading"] is True


def open_data_tab(at: AppTest, tab: str) -> None:
    at.session_state["data_tab"] = tab
    at.run()
    assert_clean(at)


def test_data_tabs_share_one_digit_choice_and_draw_only_the_open_tab():
    at = open_page("pages/data.py")
    assert len(at.get("plotly_chart")) == 1                  # Browse only: the other tabs are not run
    at.segmented_control(key="data_digit").set_value(7).run()
    at.slider(key="data_index_train_7").set_value(3).run()
    open_data_tab(at, "Noise & rotation")
    assert at.segmented_control(key="data_digit").value == 7 and at.slider(key="data_index_train_7").value == 3
    assert len(at.get("plotly_chart")) == 3                  # original, noisy, rotated
    open_data_tab(at, "Browse")
    assert "train #" in figure(at)["layout"]["title"]["text"] and "digit 7" in figure(at)["layout"]["title"]["text"]


def test_data_noise_and_rotation_preview():
    at = open_page("pages/data.py")
    open_data_tab(at, "Noise & rotation")
    at.slider(key="noise_variance").set_value(0.2).run()
    at.slider(key="rotate_deg").set_value(90).run()
    assert_clean(at)
    titles = [figure(at, i)["layout"].get("title", {}).get("text", "") for i in range(len(at.get("plotly_chart")))]
    assert any("variance 0.20" in t for t in titles) and any("±90°" in t for t in titles)


def test_data_lifts_an_uploaded_image_and_rejects_a_non_image():
    at = open_page("pages/data.py")
    open_data_tab(at, "Lift a 2D image")
    at.file_uploader(key="lift_upload").set_value(("one.png", digit_png(), "image/png")).run()
    assert_clean(at)
    titles = [figure(at, i)["layout"].get("title", {}).get("text", "") for i in range(len(at.get("plotly_chart")))]
    assert "lifted to 3D" in titles
    at.file_uploader(key="lift_upload").set_value(("notes.png", b"just text", "image/png")).run()
    assert_clean(at)
    assert any("notes.png is not an image" in e.value for e in at.error)


def test_data_switch_rejects_a_corrupt_h5_and_a_missing_mnist_folder(tmp_path):
    at = open_page("pages/data.py")
    open_data_tab(at, "Switch dataset")
    at.file_uploader(key="kaggle_upload").set_value(("broken.h5", b"\x89HDF garbage", "application/x-hdf5")).run()
    at.button(key="use_kaggle").click().run()
    assert_clean(at)
    assert any("Could not load that dataset" in e.value and "broken.h5" in e.value for e in at.error)
    assert at.session_state["dataset_choice"] == SMALL_DATASET
    at.text_input(key="kaggle_path").set_value(str(tmp_path / "missing.h5")).run()
    at.button(key="use_kaggle_path").click().run()
    assert_clean(at)
    assert any("Could not load that dataset" in e.value and "missing.h5" in e.value for e in at.error)
    at.text_input(key="mnist_folder").set_value(str(tmp_path / "nowhere")).run()
    at.button(key="use_mnist").click().run()
    assert any("nowhere is outside the data folder this app reads" in e.value for e in at.error)


def start_training(at: AppTest, epochs: int, kind: str = "ae", voxel_weight: float = 0.0) -> jobs.Job:
    at.selectbox(key="train_kind").set_value(kind)
    at.select_slider(key="train_beta").set_value(0.5)
    at.select_slider(key="train_voxel_weight").set_value(voxel_weight)
    at.number_input(key="train_second_stage").set_value(200)
    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_digits").set_value(120)
    at.select_slider(key="train_batch").set_value(16)
    at.select_slider(key="train_latent").set_value(4)
    at.button[0].click().run()
    assert_clean(at)
    (job,) = jobs.jobs_for(at.session_state["owner"])
    return job


@pytest.mark.slow
def test_train_runs_in_the_background_and_saves_a_checkpoint():
    at = open_page("pages/train.py", owner="test-train-finish")
    job = start_training(at, epochs=1, kind="vae")
    assert job.wait(120)
    at.run()
    assert_clean(at)
    assert job.snapshot()["status"] == jobs.DONE, job.snapshot()["error"]
    saved = job.snapshot()["result"]["checkpoint"]
    assert any(saved in s.value for s in at.success)
    assert [c["path"] for c in catalogue.list_checkpoints() if c["origin"] == "trained"] == [saved]
    info = catalogue.read_checkpoint_info(saved)
    assert info["config"]["beta"] == 0.5
    assert at.get("plotly_chart"), "no loss curve"
    # finished as a CLI run is: test metrics (on the page, in the file, on Home) and a second stage
    assert "BCE" in at.dataframe[0].value.columns
    assert 0 < info["metrics"]["canonical"]["bce"] < 1 and load_model(saved).second_stage is not None
    (row,) = [r for r in catalogue.checkpoint_rows(catalogue.list_checkpoints()) if r["origin"] == "trained"]
    assert row["test BCE"] == f"{info['metrics']['canonical']['bce']:.4f}" and row["status"] == "ready"


def test_a_gan_trained_from_the_page_can_sample_digits_on_request():
    at = open_page("pages/train.py", owner="test-train-gan")
    job = start_training(at, epochs=1, kind="gan", voxel_weight=0.005)
    assert job.wait(120)
    assert job.snapshot()["status"] == jobs.DONE, job.snapshot()["error"]
    model = load_model(job.snapshot()["result"]["checkpoint"])
    assert model.kind == "gan" and "beta" not in model.config  # beta belongs to the VAE
    assert model.config["voxel_weight"] == 0.005 and model.voxel_critic is not None
    digit = int(model.code_density.weights.argmax())
    assert model.sample(2, digit=digit).shape == (2, 16, 16, 16)


def test_train_cancel_button_stops_the_run():
    at = open_page("pages/train.py", owner="test-train-cancel")
    job = start_training(at, epochs=200)
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()     # the run is still there after a page switch
    assert any(h.value == "Run: ae/fcn" for h in at.subheader)
    assert any("A run is in progress: AE · FCN" in i.value for i in at.info)   # its settings, no form
    assert not at.get("form")
    other = open_page("pages/train.py", owner="someone-else")
    assert not other.subheader                  # another user sees no run of theirs
    at.button(key=f"cancel_{job.id}").click().run()
    assert job.wait(120)
    at.run()
    assert_clean(at)
    assert job.snapshot()["status"] == jobs.CANCELLED
    assert any("Training was cancelled" in w.value for w in at.warning)


def test_train_failure_is_a_message_not_a_traceback():
    def diverge(report, stop_event):
        raise jobs.JobError("training ae/fcn diverged at epoch 1, step 3: loss=nan")

    jobs.start_job("test-train-fail", "ae/fcn", diverge).wait(10)
    at = open_page("pages/train.py", owner="test-train-fail")
    assert any("diverged at epoch 1" in e.value for e in at.error)


def open_explorer() -> AppTest:
    """Returns the explorer on the tiny_vae checkpoint (shipped weights, if any, come first)."""
    at = open_page("pages/explore.py")
    picker = at.selectbox(key="explore_checkpoint")
    picker.set_value(next(o for o in picker.options if o.startswith("tiny_vae"))).run()
    assert_clean(at)
    return at


def open_start_controls(at: AppTest) -> None:
    """Opens the explorer's "Start from…" expander, whose widgets are drawn only while it is open."""
    assert not [r for r in at.radio if r.key == "start_source"]
    at.session_state["start_open"] = True
    at.run()
    assert at.radio(key="start_source").value == "A dataset digit"


def live_levels(at: AppTest) -> np.ndarray:
    """Returns the grid levels (16, 16, 16) the explorer's live 3D view was last sent (genlab.viz.live)."""
    view = json.loads(at.get("bidi_component")[0].proto.json)[0]["view"]
    return np.frombuffer(base64.b64decode(view["levels"]), np.uint8).reshape(view["shape"])


def test_explorer_sliders_drive_the_view(checkpoint):
    from genlab.app.explore import decode
    from genlab.viz.live import grid_levels

    def shows_the_copied_latent() -> bool:
        z = np.array(json.loads(at.code[0].value), np.float32)
        # The view's grid is decoded in a batch (with the slider's sweep): equal up to float rounding.
        difference = live_levels(at).astype(int) - grid_levels(decode(load_model(checkpoint), z))
        return np.abs(difference).max() <= 1

    at = open_explorer()
    sliders = [s for s in at.slider if s.label.startswith("z[")]
    assert len(sliders) == 4
    at.slider(key="explore_threshold").set_value(0.05).run()
    at.toggle(key="copy_latent").set_value(True).run()
    before = at.code[0].value
    assert shows_the_copied_latent()
    sliders[0].set_value(2.5).run()
    assert_clean(at)
    assert at.code[0].value != before and shows_the_copied_latent()
    at.button(key="reset_latent").click().run()
    assert at.code[0].value == before and shows_the_copied_latent()
    at.toggle(key="copy_latent").set_value(True).run()
    copied = json.loads(at.code[0].value)
    assert len(copied) == 4
    # Paste it back (moved) as a new start: the sliders jump to it.
    open_start_controls(at)
    at.radio(key="start_source").set_value("A copied latent").run()
    at.text_area(key="start_pasted").set_value(json.dumps([1.5, -1.0, 0.5, 2.0])).run()
    at.button(key="start_latent").click().run()
    assert_clean(at)
    assert sorted(s.value for s in at.slider if s.label.startswith("z[")) == [-1.0, 0.5, 1.5, 2.0]
    at.text_area(key="start_pasted").set_value("[1, 2]").run()
    at.button(key="start_latent").click().run()
    assert any("4 latent dimensions; the list has 2" in e.value for e in at.error)


def test_explorer_draws_the_less_influential_sliders_only_when_asked_and_keeps_their_values():
    model = build_model("ae", "fcn", latent_dim=10).eval()
    save_model(model, files.runs_dir() / "wide_ae.safetensors", {"dataset": {"source": "synthetic"}})
    at = open_page("pages/explore.py")
    picker = at.selectbox(key="explore_checkpoint")
    picker.set_value(next(o for o in picker.options if o.startswith("wide_ae"))).run()
    coordinates = lambda: {s.key for s in at.slider if s.label.startswith("z[")}  # noqa: E731
    top = coordinates()
    assert len(top) == 8                                 # the eight most influential; two more wait
    at.session_state["other_dimensions_open"] = True
    at.run()
    hidden = sorted(coordinates() - top)
    assert len(coordinates()) == 10 and len(hidden) == 2
    at.slider(key=hidden[0]).set_value(1.0).run()
    at.session_state["other_dimensions_open"] = False
    at.run()
    assert coordinates() == top
    at.session_state["other_dimensions_open"] = True
    at.run()
    assert at.slider(key=hidden[0]).value == 1.0          # closing the expander forgot nothing
    assert_clean(at)


def test_explorer_start_points_interpolation_and_samples(checkpoint):
    at = open_explorer()
    open_start_controls(at)
    at.radio(key="start_source").set_value("A random sample").run()
    at.button(key="start_random").click().run()
    assert any("random sample" in m.value for m in at.markdown)
    at.radio(key="start_source").set_value("An uploaded image").run()
    assert at.file_uploader(key="start_upload").proto.max_upload_size_mb == 40  # the cap read_image_upload applies
    at.file_uploader(key="start_upload").set_value(("one.png", digit_png(), "image/png")).run()
    at.button(key="start_image").click().run()
    assert_clean(at)
    assert any("one.png, lifted and encoded" in m.value for m in at.markdown)
    at.toggle(key="interp_3d").set_value(True).run()
    at.radio(key="interp_mode").set_value("spherical").run()
    at.slider(key="interp_steps").set_value(5).run()
    at.number_input(key="interp_example").set_value(3).run()
    assert_clean(at)
    animation = [figure(at, i) for i in range(len(at.get("plotly_chart")))][-1]
    assert len(animation["frames"]) == 5
    at.button(key="new_samples").click().run()
    assert at.number_input(key="samples_seed").value == 1
    assert_clean(at)


def test_explorer_samples_a_requested_digit_from_the_code_density():
    model = build_model("vae", "fcn", latent_dim=4).eval()
    grids = np.random.default_rng(0).random((60, 16, 16, 16), dtype=np.float32) ** 4
    from genlab.models import fit_samplers

    fit_samplers(model, grids, np.arange(60) % 10, second_stage_steps=20)
    save_model(model, files.runs_dir() / "dense_vae.safetensors", {"dataset": {"source": "synthetic"}})
    at = open_page("pages/explore.py")
    picker = at.selectbox(key="explore_checkpoint")
    picker.set_value(next(o for o in picker.options if o.startswith("dense_vae"))).run()
    (source,) = [r for r in at.radio if r.key.startswith("samples_source_")]
    assert source.options == [names.LATENT_SOURCES[s] for s in ("refined", "mixture", "prior", "two-stage", "density")]
    assert [s for s in at.selectbox if s.key.startswith("samples_digit_")]  # the refined mixture (default): a digit
    source.set_value("prior").run()
    assert not [s for s in at.selectbox if s.key.startswith("samples_digit_")]  # the prior cannot
    [r for r in at.radio if r.key.startswith("samples_source_")][0].set_value("density").run()
    (digit,) = [s for s in at.selectbox if s.key.startswith("samples_digit_")]
    digit.set_value(7).run()
    assert_clean(at)
    open_start_controls(at)
    at.radio(key="start_source").set_value("A random sample").run()
    [r for r in at.radio if r.key.startswith("start_source_")][0].set_value("density").run()
    [s for s in at.selectbox if s.key.startswith("start_digit_")][0].set_value(3).run()
    at.button(key="start_random").click().run()
    assert_clean(at)
    assert any(f"{names.LATENT_SOURCES['density']}, digit 3" in m.value for m in at.markdown)


def test_explorer_rejects_foreign_and_mismatched_checkpoints(checkpoint, tmp_path):
    at = open_explorer()
    at.file_uploader(key="checkpoint_upload").set_value(
        ("stranger.safetensors", b"\x00" * 64, "application/octet-stream")).run()
    assert_clean(at)
    assert any("This checkpoint cannot be used" in e.value and "stranger.safetensors" in e.value
               for e in at.error)
    # Right metadata, wrong weights: a latent-8 model's tensors under a latent-4 header.
    wrong = tmp_path / "wrong.safetensors"
    model = build_model("vae", "fcn", latent_dim=8)
    save_model(model, wrong, {})
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(wrong), framework="pt") as handle:
        meta = json.loads(handle.metadata()["genlab"])
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    meta["latent_dim"], meta["config"]["latent_dim"] = 4, 4
    save_file(tensors, str(wrong), metadata={"genlab": json.dumps(meta)})
    at.file_uploader(key="checkpoint_upload").set_value(
        ("wrong.safetensors", wrong.read_bytes(), "application/octet-stream")).run()
    assert_clean(at)
    assert any("This checkpoint cannot be used" in e.value for e in at.error)


def test_compare_without_evaluation_shows_the_paper(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path / "no-results")
    at = open_page("pages/compare.py")
    assert any("No evaluation yet" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == 12
    at.multiselect(key="compare_kinds").set_value(["ae"]).run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table["Kind"]) == {"AE"} and len(table) == 4          # headed and written as in the paper
    assert list(table.columns) == ["Kind", "Backbone", "BCE, paper", "MSE, paper"]
    assert set(table["Backbone"]) == {"FCN", "CNN+MLP", "LSTM", "GRU"}
    assert at.get("download_button")


@pytest.fixture(scope="module")
def tiny_evaluation(tmp_path_factory):
    """Returns a results folder holding a real evaluation of three tiny untrained models."""
    import torch

    from genlab.eval import classifier, evaluate, report

    rng = np.random.default_rng(0)
    data = SimpleNamespace(X_train=(rng.uniform(size=(40, 16, 16, 16)) ** 4).astype(np.float32),
                           y_train=np.arange(40) % 10,
                           X_test=(rng.uniform(size=(30, 16, 16, 16)) ** 4).astype(np.float32),
                           y_test=np.arange(30) % 10,
                           describe=lambda: {"source": "tiny", "fingerprint": "0" * 12, "n_train": 40, "n_test": 30})
    folder = tmp_path_factory.mktemp("tiny-eval")
    checkpoints = [
        save_model(
            build_model(kind, backbone, latent_dim=4, **options),
            folder / f"{kind}_{backbone}.safetensors",
            {"training": {"seconds": 3.0, "samples_per_s": 100.0}},
        )
        for kind, backbone, options in (
            ("ae", "fcn", {"width": 2}),
            ("vae", "gru", {"hidden": 8}),
            ("gan", "fcn", {"width": 2}),
        )
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        judge = classifier.DigitClassifier(width=2).eval()
        config = evaluate.EvalConfig(
            n_samples=20,
            n_boot=5,
            n_paths=4,
            path_steps=4,
            density_fit_size=20,
            n_per_digit=3,
            latency_repeats=1,
            prdc_k=3,
        )
        results = evaluate.evaluate(checkpoints, data, judge, config)
    finally:
        torch.set_num_threads(threads)
    report.write_results(results, folder / "results")
    return folder / "results"


def test_compare_with_an_evaluation_filters_and_offers_the_csv(monkeypatch, tiny_evaluation):
    monkeypatch.setattr(paths, "RESULTS_DIR", tiny_evaluation)
    at = open_page("pages/compare.py")
    assert not at.info and "Findings" in at.markdown[1].value
    assert any("gan_fcn on latent codes only" in c.value for c in at.caption)   # which game the GAN row played
    table = at.dataframe[0].value
    assert sorted(table["Kind"]) == ["AE", "GAN", "VAE"]
    assert (list(table.columns[:4]) == ["Model", "Kind", "Backbone", "BCE"]
            and {"FD", "Precision", "Recall"} <= set(table))
    at.multiselect(key="compare_backbones").set_value(["fcn"]).run()
    assert_clean(at)
    assert set(at.dataframe[0].value["Backbone"]) == {"FCN"}
    at.radio(key="compare_metric").set_value("mse").run()
    at.toggle(key="compare_all_columns").set_value(True).run()
    assert_clean(at)
    assert "Fd high" in at.dataframe[0].value.columns
    assert len(at.get("plotly_chart")) == 3   # ours vs paper, quality vs cost, per digit
    assert "compare_test_digits" not in [radio.key for radio in at.radio]   # no unseen evaluation: no choice


def test_compare_switches_to_the_unseen_test_digits(monkeypatch, tiny_evaluation, tmp_path):
    import shutil

    results = tmp_path / "results"
    shutil.copytree(tiny_evaluation, results)
    shutil.copytree(tiny_evaluation, results / "unseen")
    unseen = results / "unseen" / "evaluation.json"
    data = json.loads(unseen.read_text())
    data["models"] = data["models"][:1]   # tell the two apart: one model judged on the unseen digits
    unseen.write_text(json.dumps(data))
    monkeypatch.setattr(paths, "RESULTS_DIR", results)
    at = open_page("pages/compare.py")
    assert len(at.dataframe[0].value) == 3
    at.radio(key="compare_test_digits").set_value("unseen").run()
    assert_clean(at)
    assert list(at.dataframe[0].value["Model"]) == ["ae_fcn"]


def test_compare_reports_an_unreadable_evaluation(monkeypatch, tmp_path):
    (tmp_path / "evaluation.json").write_text("{not json")
    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path)
    at = open_page("pages/compare.py")
    assert any("cannot be read" in e.value and "evaluation.json" in e.value for e in at.error)


def test_home_and_the_explorer_never_import_pandas():
    """Importing pandas costs about 0.8 s of a shared core: Home and the explorer (with its live 3D
    view, whose data Streamlit would scan for dataframes) must run without it. A fresh process, so
    nothing imported by other tests counts."""
    import subprocess
    import sys

    script = f"""
import json
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=120)
at.session_state["dataset_choice"] = {dict(SMALL_DATASET)!r}
at.run()
assert not at.exception and at.get("bidi_component"), "Home did not run with its prepared 3D view"
at.switch_page("pages/explore.py").run()
views = [json.loads(c.proto.json)[0] for c in at.get("bidi_component")]
assert not at.exception and any("view" in v for v in views), "the explorer drew no live view"
print("pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=paths.REPO_ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "False"
