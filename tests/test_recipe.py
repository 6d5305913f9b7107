"""benchmarks/train_all.sh: the shipped recipe's commands, read from a dry run (PYTHON=echo writes each
command to its log instead of training, and the final float16 and manifest steps to the output)."""

import os
import shlex
import subprocess

import pytest

from genlab.paths import REPO_ROOT

KINDS, BACKBONES = ("ae", "vae", "gan"), ("fcn", "cnn_mlp", "lstm", "gru")


def dry_run(tmp_path, *args: str, **env: str) -> dict[str, list[str]]:
    """Returns each step's command (its words after `-m genlab train`), by the step's name."""
    done = subprocess.run(["bash", "benchmarks/train_all.sh", *args, str(tmp_path)], cwd=REPO_ROOT,
                          env={**os.environ, "PYTHON": "echo", **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    halved = next(shlex.split(line) for line in done.stdout.splitlines() if "--half" in line)
    assert halved[3:] == ["--half", *(str(tmp_path / f"{k}_*.safetensors") for k in KINDS)]  # the twelve, no latent/
    logs = {p.relative_to(tmp_path).with_suffix("").as_posix(): p for p in tmp_path.rglob("*.log")}
    return {name: shlex.split(path.read_text())[3:] for name, path in logs.items()}


def option(words: list[str], name: str) -> list[str]:
    """Returns every value given to option `name` in words."""
    return [words[i + 1] for i, word in enumerate(words) if word == name]


def test_the_cpu_recipe_trains_the_twelve_in_bf16_with_wider_convolutional_aes(tmp_path):
    steps = dry_run(tmp_path)
    assert set(steps) == {f"{k}_{b}" for k in KINDS for b in BACKBONES} | {f"latent/gan_{b}" for b in BACKBONES}
    for name, words in steps.items():
        assert option(words, "--precision") == ["bf16"] and option(words, "--threads") == ["1"], name
        assert ("--no-samplers" in words) == name.startswith("latent/"), name  # the shipped twelve fit theirs
    for backbone in BACKBONES:
        wide = backbone in ("fcn", "cnn_mlp")
        assert option(steps[f"ae_{backbone}"], "--set") == (["width=32"] if wide else [])
        assert option(steps[f"vae_{backbone}"], "--init-from") == [str(tmp_path / f"ae_{backbone}.safetensors")]
        assert option(steps[f"latent/gan_{backbone}"], "--init-from") == [str(tmp_path / f"ae_{backbone}.safetensors")]
        assert option(steps[f"gan_{backbone}"], "--init-from") == [
            str(tmp_path / "latent" / f"gan_{backbone}.safetensors")]
        assert option(steps[f"gan_{backbone}"], "--set") == ["ae_weight=0", "voxel_weight=0.005"]
        assert "--set" not in steps[f"vae_{backbone}"]  # its width comes from its AE (a warm start's donor sizes)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precision_is_chosen_by_the_environment_and_scale_shrinks_every_budget(tmp_path, precision):
    steps = dry_run(tmp_path, PRECISION=precision, SCALE="0.5")
    assert {option(words, "--precision")[0] for words in steps.values()} == {precision}
    assert option(steps["ae_gru"], "--max-minutes") == ["5"] and option(steps["gan_fcn"], "--max-minutes") == ["4"]


def test_the_gpu_recipe_leaves_precision_to_the_trainer_on_cuda(tmp_path):
    steps = dry_run(tmp_path, "--gpu")
    assert len(steps) == 16
    for name, words in steps.items():
        assert option(words, "--device") == ["cuda"] and "--precision" not in words, name
    assert option(steps["ae_cnn_mlp"], "--set") == ["width=32"]


def test_the_gans_step_retrains_only_the_four_gans_from_the_aes_already_there(tmp_path):
    steps = dry_run(tmp_path, "--gans")
    assert set(steps) == {f"gan_{b}" for b in BACKBONES} | {f"latent/gan_{b}" for b in BACKBONES}
    for backbone in BACKBONES:
        assert option(steps[f"latent/gan_{backbone}"], "--init-from") == [str(tmp_path / f"ae_{backbone}.safetensors")]
        assert option(steps[f"gan_{backbone}"], "--max-minutes") == ["8"]
    for name, words in steps.items():
        assert option(words, "--precision") == ["bf16"] and option(words, "--threads") == ["1"], name
