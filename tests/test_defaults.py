"""The training defaults live in TrainConfig: the command line and the app's Train page start from them."""

import pytest
from streamlit.testing.v1 import AppTest

from genlab import paths
from genlab.cli import build_parser
from genlab.models import DEFAULT_LATENT_DIM, SECOND_STAGE_STEPS, build_model
from genlab.train import TrainConfig


def test_cli_defaults_are_train_config_defaults(capsys):
    args = build_parser().parse_args(["train", "--kind", "ae", "--backbone", "fcn"])
    config = TrainConfig()
    assert (args.epochs, args.batch_size, args.lr, args.patience, args.seed, args.device) == (
        config.epochs, config.batch_size, config.lr, config.patience, config.seed, config.device)
    assert args.latent_dim is None and build_model("ae", "fcn").latent_dim == DEFAULT_LATENT_DIM
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"(default {config.batch_size})" in shown and f"(default {config.lr:g})" in shown


def test_train_page_starts_on_train_config_defaults():
    at = AppTest.from_file(str(paths.REPO_ROOT / "app.py"), default_timeout=60)
    at.session_state["dataset_choice"] = {"source": "synthetic", "params": {"n_train": 120, "n_test": 60}}
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.number_input(key="train_epochs").value == TrainConfig.epochs
    assert at.select_slider(key="train_batch").value == TrainConfig.batch_size
    assert at.select_slider(key="train_lr").value == TrainConfig.lr
    assert at.select_slider(key="train_latent").value == DEFAULT_LATENT_DIM
    assert at.number_input(key="train_second_stage").value == SECOND_STAGE_STEPS
