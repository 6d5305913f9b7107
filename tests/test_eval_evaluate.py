"""The full evaluation on tiny untrained models: structure, determinism, files, CLI, load_results."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.data import VoxelDataset
from genlab.eval import classifier, evaluate, report

TINY = {  # build_model options that make each backbone tiny
    "fcn": {"width": 2},
    "cnn_mlp": {"width": 2, "hidden": 8},
    "lstm": {"hidden": 8},
    "gru": {"hidden": 8},
}
CONFIG = evaluate.EvalConfig(n_samples=40, n_boot=20, n_paths=6, path_steps=5, density_fit_size=30, n_per_digit=4,
                             latency_repeats=2, prdc_k=3)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: quick on a shared CPU, and float sums (hence results) depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)

    def blobs(n):  # soft, mostly empty
        return (rng.uniform(size=(n, 16, 16, 16)) ** 4).astype(np.float32)

    return VoxelDataset(blobs(60), rng.integers(0, 10, 60), blobs(50), np.arange(50) % 10, source="tiny")


@pytest.fixture(scope="module")
def judge():
    torch.manual_seed(0)
    return classifier.DigitClassifier(width=2).eval()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from genlab.models import build_model, save_model

    folder = tmp_path_factory.mktemp("weights")
    paths = []
    for kind, backbone in (("ae", "fcn"), ("vae", "gru"), ("gan", "cnn_mlp")):
        torch.manual_seed(1)
        model = build_model(kind, backbone, latent_dim=4, **TINY[backbone])
        meta = {
            "training": {"seconds": 12.5, "samples_per_s": 800.0, "epochs_done": 3, "device": "cpu", "world_size": 1}
        }
        paths.append(save_model(model, folder / f"{kind}_{backbone}.safetensors", meta))
    return paths


def extra_tests(data) -> dict:
    """A second test set: the test grids mirrored (a stand-in for the rotated digits)."""
    return {"rotated": (np.ascontiguousarray(data.X_test[:, ::-1]), data.y_test)}


@pytest.fixture(scope="module")
def results(checkpoints, data, judge):
    return evaluate.evaluate(checkpoints, data, judge, CONFIG, extra_tests=extra_tests(data))


def test_results_hold_every_figure_in_range(results, checkpoints):
    assert results["format"] == "genlab-evaluation"
    assert [m["checkpoint"]["name"] for m in results["models"]] == ["ae_fcn", "vae_gru", "gan_cnn_mlp"]
    for m, path in zip(results["models"], checkpoints):
        assert m["checkpoint"]["sha256"] == evaluate.file_sha256(path) and len(m["checkpoint"]["sha256"]) == 64
        rec = m["reconstruction"]
        assert rec["bce"]["ci"][0] <= rec["bce"]["mean"] <= rec["bce"]["ci"][1]
        assert 0 <= rec["mse"]["mean"] <= 1 and 0 <= rec["iou"]["mean"] <= 1
        assert len(rec["bce_per_digit"]) == 10 and all(v is not None for v in rec["bce_per_digit"])
        gen = m["generation"]
        assert gen["fd"]["value"] >= 0 and gen["fd"]["ci"][0] <= gen["fd"]["ci"][1]
        for name in ("precision", "recall", "coverage"):
            assert 0 <= gen[name]["mean"] <= 1
        assert sum(gen["labels"]["shares"]) == pytest.approx(1.0)
        assert 0 <= m["latent"]["off_path_rate"] <= 1 and m["latent"]["evenness"] >= 1
        assert m["cost"]["train_seconds"] == 12.5 and m["cost"]["params"] > 0
        assert m["timing"]["decode_ms"] > 0
    gan = results["models"][2]["cost"]
    assert gan["params_with_discriminator"] > gan["params"]
    ae, vae = results["models"][0]["sampling"], results["models"][1]["sampling"]
    assert "prior" not in ae and results["models"][0]["generation"] == ae["density"]  # an AE has no prior
    assert results["models"][1]["generation"] == vae["prior"] and vae["prior"]["fd"] != vae["density"]["fd"]
    for m in results["models"]:
        on_request = m["sampling"]["on_request"]
        assert len(on_request["per_digit"]) == 10 and all(v is None or 0 <= v <= 1 for v in on_request["per_digit"])
        assert ("refine_power" in on_request) == (on_request["source"] == "refined")
        assert m["sampling"]["density_fitted_by_evaluation"]  # these checkpoints hold none
    assert results["reference"]["bce_floor"] < results["reference"]["mean_voxel_baseline"]["bce"]
    json.dumps(results)  # JSON-able throughout


def test_two_runs_give_identical_numbers(results, checkpoints, data, judge):
    again = evaluate.evaluate(checkpoints, data, judge, CONFIG, extra_tests=extra_tests(data))
    assert json.dumps(evaluate.without_timings(again)) == json.dumps(evaluate.without_timings(results))


def test_noisy_inputs_are_scored_against_clean_targets(results):
    for m in results["models"]:
        assert m["noisy_reconstruction"]["bce"]["mean"] != m["reconstruction"]["bce"]["mean"]


def test_evaluation_lends_a_density_without_keeping_it(checkpoints, data, judge):
    from genlab.models import load_model

    model = load_model(checkpoints[0])
    evaluate.evaluate([], data, judge, CONFIG, models=[(model, checkpoints[0])])
    assert model.code_density is None


def test_reconstructions_are_judged_on_the_reference_and_on_other_digits(checkpoints, data, judge):
    """A model that reconstructs perfectly matches the reference exactly (a paired FD of 0) but scores the real
    training digits' FD on the training digits: the bar no sampler of other digits can beat."""
    from genlab.models import load_model

    model = load_model(checkpoints[0])
    model.reconstruct = lambda x: x
    results = evaluate.evaluate([], data, judge, CONFIG, models=[(model, checkpoints[0])])
    record = results["models"][0]
    real_training = results["reference"]["real_train_digits"]["fd"]["value"]
    assert record["reconstructions"]["fd"]["value"] < real_training / 100  # 0 up to rounding
    assert record["training_reconstructions"]["fd"]["value"] == pytest.approx(real_training)
    row = report.summary_rows(results)[0]
    assert row["train_recon_fd"] == pytest.approx(real_training)
    assert row["fd_ratio_train"] == pytest.approx(row["fd"] / real_training)


def test_generated_grids_are_judged_through_the_output_curve_and_bce_through_the_probabilities(
        checkpoints, data, judge):
    """A curve that shows every voxel empty: samples, reconstructions of the reference and of training digits are
    all judged as the same empty grids, while BCE, MSE and IoU still judge the decoded probabilities."""
    from genlab.models import load_model
    from genlab.models.output_curve import KNOTS

    model = load_model(checkpoints[0])
    plain = evaluate.evaluate([], data, judge, CONFIG, models=[(model, checkpoints[0])])
    model.output_curve = torch.zeros(KNOTS)
    empty = evaluate.evaluate([], data, judge, CONFIG, models=[(model, checkpoints[0])])
    before, after = plain["models"][0], empty["models"][0]
    assert after["reconstruction"] == before["reconstruction"]
    assert after["generation"]["fd"]["value"] != pytest.approx(before["generation"]["fd"]["value"])
    for judged in ("reconstructions", "training_reconstructions"):
        assert after[judged]["fd"]["value"] == pytest.approx(after["generation"]["fd"]["value"])
    assert after["output_curve"] and not before["output_curve"]
    assert "through its output curve" in report.markdown_report(empty)
    assert "output curve" not in report.markdown_report(plain)


def test_a_fd_of_samples_is_the_mean_over_its_draws(checkpoints, data, judge):
    """Draws 1.. add sets: the first set's figures stay as a single draw gives them; the FD is the mean of
    every set's, each set's listed and their range given as the interval (real training digits alike)."""
    from dataclasses import replace

    from genlab.models import load_model

    def run(draws):
        config = replace(CONFIG, n_draws=draws, n_samples=20)  # 60 training digits: three sets of 20
        return evaluate.evaluate([], data, judge, config, models=[(load_model(checkpoints[0]), checkpoints[0])])

    one, three = run(1), run(3)
    for get in (lambda r: r["models"][0]["generation"], lambda r: r["reference"]["real_train_digits"],
                lambda r: r["models"][0]["training_reconstructions"]):
        single, drawn = get(one), get(three)
        assert "draws" not in single["fd"] and len(drawn["fd"]["draws"]) == 3
        assert drawn["fd"]["draws"][0] == pytest.approx(single["fd"]["value"])
        assert drawn["fd"]["value"] == pytest.approx(np.mean(drawn["fd"]["draws"]))
        assert drawn["fd"]["ci"] == [min(drawn["fd"]["draws"]), max(drawn["fd"]["draws"])]
        assert len(set(drawn["fd"]["draws"])) == 3  # different sets
        assert drawn["precision"] == single["precision"] and drawn["labels"] == single["labels"]
    assert "3 sets of 20 samples per model (seeds 0, 100, ..., 200)" in report.markdown_report(three)
    assert "20 samples per model (seed 0)" in report.markdown_report(one)


def test_a_checkpoints_own_density_is_used(checkpoints, data, judge, tmp_path):
    from genlab.models import load_model, save_model
    from genlab.models.density import fit_code_density

    model = load_model(checkpoints[1])
    model.code_density = fit_code_density(model, data.X_train[:20], data.y_train[:20])
    path = save_model(model, tmp_path / "vae_gru.safetensors", model.metadata)
    record = evaluate.evaluate([path], data, judge, CONFIG)["models"][0]
    assert record["sampling"]["density_fitted_by_evaluation"] is False
    expected = evaluate.draw_samples(load_model(path), CONFIG.n_samples, CONFIG.sample_seed, "density")
    probs, _ = classifier.classify(judge, expected)
    assert record["sampling"]["density"]["labels"]["shares"] == pytest.approx(
        list(np.bincount(probs.argmax(1), minlength=10) / len(probs)))


def test_interpolation_pairs_have_different_labels():
    y = np.array([0, 0, 0, 0, 1])
    a, b = evaluate.interpolation_pairs(y, 20, seed=0)
    assert (y[a] != y[b]).all()


def test_written_files_and_load_results(results, tmp_path):
    written = report.write_results(results, tmp_path)
    assert sorted(p.name for p in written) == sorted(report.RESULT_FILES)
    assert report.load_results(tmp_path) == json.loads((tmp_path / "evaluation.json").read_text())
    with open(tmp_path / "evaluation.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["ae_fcn", "vae_gru", "gan_cnn_mlp"]
    assert (float(rows[0]["bce_paper"]) == 0.1304
            and float(rows[0]["bce_diff"]) == pytest.approx(float(rows[0]["bce"]) - 0.1304))
    md = (tmp_path / "report.md").read_text()
    assert "### BCE" in md and "/ 0.1304 /" in md and "— / 5.5372 / —" not in md  # gan_cnn_mlp evaluated
    assert "— / 0.2249 / —" in md  # ae_cnn_mlp was not
    assert "gan_cnn_mlp on latent codes only" in md  # which game the GAN row played
    assert "paper's conclusion" in md
    assert "| model | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |" in md  # label shares per model
    assert "### The same tables on the rotated test digits (50 digits" in md
    assert float(rows[1]["rotated_bce"]) == results["models"][1]["extra_tests"]["rotated"]["bce"]["mean"]
    assert "On the rotated test digits, " in md
    html = (tmp_path / "per_digit.html").read_text()
    assert 'src="plotly.min.js"' in html and "cdn.plot.ly" not in html   # offline: plotly.js beside it
    assert "Plotly" in (tmp_path / "plotly.min.js").read_text()[:5000]


def test_log_ticks_label_a_log_axis_with_1_2_5_steps():
    assert report.log_ticks(0.0042, 0.93) == [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    assert report.log_ticks(240, 1888) == [200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 2000.0]
    assert report.log_ticks(0.0, 1.0) == []


def test_load_results_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="evaluation.json"):
        report.load_results(tmp_path)
    bad = tmp_path / "evaluation.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="evaluation.json is not valid JSON"):
        report.load_results(tmp_path)
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a genlab evaluation"):
        report.load_results(bad)


def test_evaluate_refuses_an_empty_list(data, judge):
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate.evaluate([], data, judge, CONFIG)


def test_cli_names_a_missing_checkpoint(tmp_path, capsys):
    from genlab.cli import main

    assert main(["evaluate", "--checkpoints", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path)]) == 2
    assert "nope.safetensors not found" in capsys.readouterr().err
    assert not (tmp_path / "evaluation.json").exists()


def test_cli_refuses_no_draws(capsys):
    from genlab.cli import main

    for option in ("--draws", "--samples"):
        with pytest.raises(SystemExit) as stop:
            main(["evaluate", option, "0"])
        assert stop.value.code == 2
        assert f"argument {option}: '0' is not a whole number of at least 1" in capsys.readouterr().err


def test_key_value_options_parse_json_values():
    from genlab.cli import key_values

    assert key_values(["test_rotated=true", "seed=3", "path=a=b.h5"], "--dataset-option") == {
        "test_rotated": True, "seed": 3, "path": "a=b.h5"}
    with pytest.raises(ValueError, match="--set expects KEY=VALUE, not 'rotated'"):
        key_values(["rotated"], "--set")


def test_report_includes_a_noise_study(results, tmp_path):
    study = {"description": "Twins trained for 1 epoch.", "epochs": 1, "n_train": 40, "rows": [
        {"name": "ae_fcn", "trained_on": trained_on, "epochs": 1, "bce_clean_input": 0.2, "bce_noisy_input": bce,
         "mse_noisy_input": 0.03, "iou_noisy_input": 0.5} for trained_on, bce in (("clean", 0.31), ("noisy", 0.25))]}
    md = report.markdown_report({**results, "noise_studies": [study]})
    assert "## Robustness to noisy training data: 1 epoch on 40 digits" in md and "Twins trained for 1 epoch." in md
    assert "| ae_fcn | noisy | 1 | 0.2000 | 0.2500 |" in md
    assert "reconstructs noisy inputs better in 1 of 1 pairs, and clean inputs worse in 0 of 1" in md


def test_report_names_its_test_digits_and_the_command_that_made_it(results):
    header = report.markdown_report(results).splitlines()[2]
    assert "Generated with `python -m genlab evaluate`" in header and "digits (" not in header
    unseen = {**results, "command": "python -m benchmarks.eval_unseen",
              "dataset": {**results["dataset"], "params": {"test_digits": "t10k 7000..7999"}}}
    header = report.markdown_report(unseen).splitlines()[2]
    assert "digits (t10k 7000..7999)." in header and "Generated with `python -m benchmarks.eval_unseen`" in header


def test_records_say_whether_the_checkpoint_was_trained_on_this_data(results):
    # The tiny checkpoints carry no dataset description, so nothing can be compared.
    assert all(m["trained_on"]["same_data"] is None for m in results["models"])


def test_a_model_warm_started_from_weights_trained_on_other_data_is_flagged(data):
    class Checkpoint:  # fine-tuned on this data from weights that saw another dataset
        metadata = {"dataset": {"source": "tiny", "fingerprint": data.describe()["fingerprint"]},
                    "training": {"init_fingerprints": ["0123abcd"]}}

    record = evaluate._trained_on(Checkpoint(), data)
    assert record["same_data"] is True and record["donors_same_data"] is False
    lines = report._data_warning({"models": [{"kind": "gan", "backbone": "fcn", "checkpoint": {"name": "gan_fcn"},
                                              "trained_on": record}]})
    assert ("gan_fcn were trained on this dataset, but warm-started from weights trained on other data "
            "(fingerprints 0123abcd)") in lines[0]
    Checkpoint.metadata["training"]["init_fingerprints"] = [data.describe()["fingerprint"]]
    assert evaluate._trained_on(Checkpoint(), data)["donors_same_data"] is True


def test_committed_results_match_the_shipped_weights():
    from genlab import paths

    if not (paths.RESULTS_DIR / "evaluation.json").is_file():
        pytest.skip("no committed evaluation in results/")
    results = report.load_results()
    assert len(results["models"]) >= 1
    for m in results["models"]:
        path = paths.REPO_ROOT / m["checkpoint"]["path"]
        if not Path(m["checkpoint"]["path"]).is_absolute() and path.is_file():  # only the repository's weights
            assert evaluate.file_sha256(path) == m["checkpoint"]["sha256"], (
                f"results/ is stale: {path} changed since it was evaluated; rerun python -m genlab evaluate")


def test_findings_say_where_we_agree_with_the_paper(results):
    import copy

    def changed_results(bce: dict, fd: dict, seconds: dict, devices: dict) -> dict:
        changed = copy.deepcopy(results)
        for m in changed["models"]:
            m["reconstruction"]["bce"]["mean"] = bce[m["kind"]]
            m["generation"]["fd"]["value"] = fd[m["kind"]]
            m["cost"]["train_seconds_total"] = seconds[m["kind"]]
            m["cost"]["train_device"] = devices[m["kind"]]
        return changed

    def verdict(bce: dict, fd: dict, seconds: dict, devices: dict | None = None) -> str:
        return report.findings(changed_results(bce, fd, seconds, devices or dict.fromkeys(seconds, "cpu")))[-1]

    same = {"ae": 10.0, "vae": 10.0, "gan": 10.0}
    text = verdict({"ae": 0.1, "vae": 0.2, "gan": 0.3}, {"ae": 9.0, "vae": 5.0, "gan": 20.0}, same)
    assert "we agree: AEs have the lowest mean reconstruction BCE at the lowest training cost" in text
    assert "the VAE has the best mean FD, so the AE's advantage does not carry over" in text
    gpu_aes = {"ae": "cuda", "vae": "cpu", "gan": "cpu"}  # seconds on a GPU beside a CPU's judge no cost
    text = verdict({"ae": 0.1, "vae": 0.2, "gan": 0.3}, {"ae": 9.0, "vae": 5.0, "gan": 20.0}, same, gpu_aes)
    assert "we agree: AEs have the lowest mean reconstruction BCE" in text and "training cost" not in text
    changed = changed_results({"ae": 0.1, "vae": 0.2, "gan": 0.3}, {"ae": 9.0, "vae": 5.0, "gan": 20.0}, same, gpu_aes)
    cost = next(f for f in report.findings(changed) if f.startswith("Cost:"))
    assert ("(trained on different devices: AE on cuda, VAE on cpu, GAN on cpu; seconds compare only within one "
            "device)") in cost
    text = verdict({"ae": 0.1, "vae": 0.05, "gan": 0.3}, {"ae": 1.0, "vae": 5.0, "gan": 20.0}, same)
    assert "we disagree: the VAE has the lowest mean reconstruction BCE" in text
    assert "the AE (sampled from its per-digit code density" in text
    text = verdict(
        {"ae": 0.1, "vae": 0.2, "gan": 0.3},
        {"ae": 1.0, "vae": 5.0, "gan": 20.0},
        {"ae": 30.0, "vae": 10.0, "gan": 50.0},
    )
    assert "we partly agree: AEs have the lowest mean reconstruction BCE, but VAEs train faster" in text


def test_charts_plot_quality_against_training_time(results):
    figures = report.figures(results)
    scatter = figures["quality_vs_cost"]
    assert scatter.layout.xaxis.title.text.startswith("training time (s)")
    # one legend entry per model, no text labels on the points (they collided)
    assert [t.name for t in scatter.data if t.showlegend] == ["AE · FCN", "VAE · GRU", "GAN · CNN+MLP"]
    assert all(t.mode == "markers" for t in scatter.data)
    assert list(scatter.data[0].x) == [12.5]  # from the checkpoint's training metadata
    assert all(
        text == f"{value:,g}" for text, value in zip(scatter.layout.xaxis.ticktext, scatter.layout.xaxis.tickvals)
    )
    heatmap = figures["per_digit"].data[1]
    assert len(heatmap.z) == 3 and all(len(row) == 10 for row in heatmap.z)


def test_the_reconstruction_finding_names_the_kind_best_on_most_backbones():
    from genlab import paths

    changed = json.loads((paths.RESULTS_DIR / "evaluation.json").read_text())  # all twelve
    bce = {"ae": 0.2, "vae": 0.1, "gan": 0.3}
    for m in changed["models"]:
        worse = 0.15 if (m["kind"], m["backbone"]) == ("vae", "gru") else 0.0  # the AE wins on GRU
        m["reconstruction"]["bce"]["mean"] = bce[m["kind"]] + worse
    (line,) = [f for f in report.findings(changed) if f.startswith("Reconstruction:")]
    assert line.startswith("Reconstruction: the VAE has the lowest test BCE on 3 of 4 backbones, the AE on 1, "
                           "the GAN on 0 (mean BCE by kind: AE 0.2000")


def test_report_says_how_the_digits_asked_for_were_drawn():
    def asked(on_requests):
        return {"models": [{"sampling": {"on_request": o}} for o in on_requests]}

    assert report._spread_words(asked([{"spread": 0.5}])) == "0.5 of each digit's fitted spread"
    assert report._spread_words(asked([{"spread": 0.5, "refine_power": 16}] * 2)) == (
        "0.5 of each digit's fitted spread; the refined mixture's components weighted by fidelity^16")
    assert report._spread_words(asked([{}])) == "each digit's fitted spread"  # evaluations from before the spread
    assert "spreads differ" in report._spread_words(asked([{"spread": 0.5}, {"spread": 1.0}]))
