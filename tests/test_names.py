"""genlab.names is the one place for kinds, backbones and sources: a new backbone reaches everything
that lists them, and the command line's help needs no torch."""

import json
import subprocess
import sys

import pytest
import torch

from genlab import names, paths
from genlab.cli import build_parser
from genlab.models import backbones, build_model, save_model
from genlab.train.shipping import write_manifest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def fifth_backbone():
    """Registers a small fifth backbone, "tiny", for one test and removes it afterwards."""
    backbones.register_backbone("tiny", "Tiny FCN", backbones.Backbone(
        backbones.FCNEncoder, backbones.FCNDecoder, {"width": 4, "norm": False}))
    yield "tiny"
    del names.BACKBONES["tiny"], backbones.BACKBONES["tiny"]


def test_a_registered_backbone_reaches_names_models_cli_and_manifest(fifth_backbone, tmp_path):
    from genlab.models import BACKBONES

    assert names.BACKBONES["tiny"] == "Tiny FCN" and names.backbone_title("tiny") == "Tiny FCN"
    assert BACKBONES[-1] == "tiny"
    torch.manual_seed(0)
    model = build_model("vae", "tiny", latent_dim=3)
    assert model.decode(torch.zeros(2, 3)).shape == (2, 16, 16, 16)
    save_model(model, tmp_path / "vae_tiny.safetensors")
    entries = json.loads(write_manifest(tmp_path).read_text())["models"]
    assert [(e["name"], e["backbone"], e["paper"]) for e in entries] == [
        ("vae_tiny", "tiny", {"bce": None, "mse": None})]  # no published cell for it, and no KeyError
    args = build_parser().parse_args(["train", "--kind", "gan", "--backbone", "tiny"])
    assert (args.kind, args.backbone) == ("gan", "tiny")


def test_an_unknown_backbone_is_refused_by_the_cli_and_build_model(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--kind", "ae", "--backbone", "tiny"])
    assert "invalid choice: 'tiny'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown backbone 'tiny'"):
        build_model("ae", "tiny")


def test_registering_an_existing_name_fails():
    with pytest.raises(ValueError, match="exists already"):
        backbones.register_backbone("fcn", "FCN", backbones.BACKBONES["fcn"])
    assert names.BACKBONES["fcn"] == "FCN"


def test_titles_of_known_and_unknown_names():
    assert [names.kind_title(k) for k in names.KINDS] == ["AE", "VAE", "GAN"]
    assert names.backbone_title("cnn_mlp") == "CNN+MLP" and names.backbone_title("new") == "NEW"
    assert names.source_title("synthetic") == "Procedural digits" and names.source_short("mnist") == "MNIST"
    assert names.source_short(None) == "–" and names.source_title("other") == "other"


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"]])
def test_cli_help_does_not_import_torch(argv):
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "genlab", *argv], capture_output=True,
                         text=True, cwd=paths.REPO_ROOT, timeout=120)
    assert run.returncode == 0 and "usage:" in run.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    assert "genlab.cli" in imported  # the import log is there to read
    assert not {"torch", "streamlit"} & imported
