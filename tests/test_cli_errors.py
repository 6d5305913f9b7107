"""Every error the command line can meet is one clear line on stderr and a non-zero exit, never a traceback.

Each case runs `python -m genlab ...` in its own process, as a user would.
"""

import json
import os
import socket
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch
from test_hostile_files import huge_claim
from test_train import blobs

from genlab import paths
from genlab.data import VoxelDataset
from genlab.data.dataset import cache_path, resolve_params, write_cache

TRAIN = ["train", "--kind", "ae", "--backbone", "fcn", "--batch-size", "16", "--second-stage-steps", "0",
         "--threads", "1"]


@pytest.fixture
def env(tmp_path):
    """Returns the environment for `python -m genlab`: a cache whose default synthetic dataset is 96 tiny blobs."""
    cache = tmp_path / "cache"
    environment = {**os.environ, "GENLAB_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    environment.pop("GENLAB_DEBUG", None)
    old = os.environ.get("GENLAB_CACHE_DIR")
    os.environ["GENLAB_CACHE_DIR"] = str(cache)
    try:
        params = resolve_params("synthetic", {})
        data = VoxelDataset(blobs(96), np.arange(96) % 10, blobs(16, seed=1), np.arange(16) % 10,
                            source="synthetic", params=params)
        write_cache(data, cache_path("synthetic", params))
    finally:
        os.environ["GENLAB_CACHE_DIR"] = old
    return environment


def genlab(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genlab", *map(str, args)], env=env, cwd=paths.REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def assert_error(run: subprocess.CompletedProcess, code: int, *phrases: str) -> None:
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    for phrase in phrases:
        assert phrase in last, (phrase, last)


def test_a_diverged_run_says_where_and_what_to_try(env, tmp_path):
    run = genlab(env, *TRAIN, "--epochs", "1", "--lr", "1e4", "--out", tmp_path / "run.safetensors")
    assert_error(run, 1, "error: training ae/fcn diverged at epoch 1, step", "try a lower learning rate (now 10000.0)")
    assert run.stderr.strip().splitlines()[-1].startswith("error: ")  # on a line of its own, after the bar


def test_resume_of_a_finished_run(env, tmp_path):
    out = tmp_path / "run.safetensors"
    assert genlab(env, *TRAIN, "--epochs", "1", "--out", out).returncode == 0
    assert_error(genlab(env, *TRAIN, "--epochs", "1", "--resume", "--out", out), 2,
                 "run.safetensors: cannot resume, it already holds 1 epoch of training; ask for more than 1")
    more = genlab(env, *TRAIN, "--epochs", "2", "--resume", "--out", out)
    assert more.returncode == 0, more.stderr
    assert "holds no optimiser state (a finished run); training continues from its weights after epoch 1" in more.stderr
    assert "ae_fcn: 2 epochs" in more.stdout


def test_a_second_run_on_the_same_out_is_refused(env, tmp_path):
    out = tmp_path / "run.safetensors"
    lock = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    out.with_name("run.safetensors.lock").write_text(json.dumps(lock))  # a run in this (live) process holds it
    run = genlab(env, *TRAIN, "--epochs", "1", "--out", out)
    assert_error(run, 2, f"run.safetensors is in use by process {os.getpid()}", "lock file")
    assert not out.exists()


def test_out_pointing_at_a_directory_is_refused_before_training(env, tmp_path):
    (tmp_path / "model.safetensors").mkdir()
    run = genlab(env, *TRAIN, "--epochs", "1", "--out", tmp_path / "model.safetensors")
    assert_error(run, 2, "model.safetensors is a directory")
    assert "epoch 1/1" not in run.stderr  # no training happened first


def test_a_pickled_checkpoint_is_refused(env, tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "model.pt")
    assert_error(genlab(env, "train", "--fit-samplers", tmp_path / "model.pt"), 2,
                 "model.pt is not a readable safetensors checkpoint")


def test_bad_hdf5_files_are_refused(env, tmp_path):
    huge_claim(tmp_path / "liar.h5")
    assert_error(genlab(env, "data", "build", "--source", "kaggle", "--path", tmp_path / "liar.h5"), 2,
                 "liar.h5: 10,000,001 digits would take 152.7 GiB")
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.zeros((1, 4096), np.float32).tobytes())
    with h5py.File(tmp_path / "ext.h5", "w") as file:
        file.create_dataset("X_train", shape=(1, 4096), dtype="f4", external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
        for key, value in (("y_train", np.zeros(1)), ("X_test", np.zeros((1, 4096))), ("y_test", np.zeros(1))):
            file[key] = value
    assert_error(genlab(env, "data", "build", "--source", "kaggle", "--path", tmp_path / "ext.h5"), 2,
                 "keeps its data outside the file (external storage)")


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["train"], "give --kind and --backbone"),
        ([*TRAIN, "--set", "nonsense"], "--set expects KEY=VALUE"),
        (["data", "build", "--source", "kaggle"], "--source kaggle needs --path"),
        (
            ["data", "build", "--source", "kaggle", "--path", "/nonexistent/x.h5"],
            "No such file or directory: '/nonexistent/x.h5'",
        ),
        (["train", "--kind", "ufo"], "invalid choice: 'ufo'"),
        ([*TRAIN, "--epochs", "0"], "argument --epochs: '0' is not a whole number of at least 1"),
        ([*TRAIN, "--max-minutes", "-1"], "argument --max-minutes: '-1' is not a positive number"),
        (["evaluate", "--threads", "0"], "argument --threads: '0' is not a whole number of at least 1"),
        (["data", "build", "--n-train", "many"], "argument --n-train: 'many' is not a whole number"),
        (["clock", "evaluate", "--n", "0"], "argument --n: '0' is not a whole number of at least 1"),
        (["clock", "train", "--steps", "-1"], "argument --steps: '-1' is not a whole number of at least 1"),
        (["clock", "train-detector", "--n-test", "0"], "argument --n-test: '0' is not a whole number"),
        (["clock", "read", "x.jpg", "--top-k", "two"], "argument --top-k: 'two' is not a whole number"),
        (["clock", "read", "/nonexistent/x.jpg"], "/nonexistent/x.jpg: no such file"),
    ],
)
def test_bad_arguments(env, args, phrase):
    assert_error(genlab(env, *args), 2, phrase)
