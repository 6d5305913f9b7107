"""Faults a run must survive: crashes and resumes, two runs on one file, stale files of killed processes."""

import json
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from test_train import blobs, tiny

from genlab.app import jobs
from genlab.data import VoxelDataset
from genlab.models import load_model, save_model
from genlab.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return VoxelDataset(blobs(96), np.zeros(96, np.int64), blobs(16, seed=1), np.zeros(16, np.int64),
                        source="synthetic", params={"blobs": True})


# A constant learning rate high enough that validation loss goes up after the first epoch: the best
# weights are then not the last ones, which is what resuming used to get wrong.
BUMPY = dict(epochs=3, batch_size=16, lr=0.03, lr_min_ratio=1.0, device="cpu", patience=None, val_fraction=0.25)


class Crash(Exception):
    """Stands for a crash (power cut, kill) at the end of an epoch, before its checkpoint is written."""


def crash_at(epoch: int):
    def on_progress(progress):
        if progress.val_loss is not None and progress.epoch == epoch:
            raise Crash
    return on_progress


def without_times(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def lock_of(path):
    """Returns the lock file beside a checkpoint."""
    return path.with_name(path.name + ".lock")


def dead_pid() -> int:
    """Returns the PID of a process that has finished."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# -- resume (issue 12) ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_a_run_interrupted_at_any_epoch_resumes_to_the_same_weights_and_history(kind, data, tmp_path):
    config = TrainConfig(**BUMPY)
    straight = train(tiny(kind), data, config)
    losses = [h["val_loss"] for h in straight.history]
    assert int(np.argmin(losses)) < len(losses) - 1, losses  # the best epoch is not the last
    for epoch in range(1, config.epochs + 1):
        path = tmp_path / f"crash-{epoch}.safetensors"
        with pytest.raises(Crash):
            train(tiny(kind), data, config, checkpoint_path=path, on_progress=crash_at(epoch))
        resumed = train(tiny(kind), data, config, checkpoint_path=path, resume=True)
        assert without_times(resumed.history) == without_times(straight.history), f"crash after epoch {epoch}"
        assert resumed.best_val_loss == straight.best_val_loss
        for (name, p), q in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
            assert torch.equal(p, q), f"crash after epoch {epoch}: {name}"


def test_a_checkpoint_written_during_training_holds_the_best_weights_so_far(data, tmp_path):
    path = tmp_path / "run.safetensors"
    with pytest.raises(Crash):
        train(tiny(), data, TrainConfig(**BUMPY), checkpoint_path=path, on_progress=crash_at(3))
    straight = train(tiny(), data, TrainConfig(**{**BUMPY, "epochs": 3}))
    saved = load_model(path)  # after epoch 2 of a run whose best epoch so far is the first
    assert saved.metadata["training"]["epochs_done"] == 2
    assert saved.metadata["training"]["best_val_loss"] == straight.history[0]["val_loss"]
    assert saved.metadata["training"]["epochs_without_gain"] == 1


def test_resuming_a_finished_checkpoint_continues_from_its_weights_with_fresh_optimisers(data, tmp_path, caplog):
    path = tmp_path / "done.safetensors"
    first = train(tiny(), data, TrainConfig(**{**BUMPY, "epochs": 2, "lr": 3e-3}), checkpoint_path=path)
    save_model(first.model, path, {"dataset": data.describe(), "training": first.training})  # as the CLI finishes
    with caplog.at_level("WARNING", logger="genlab.train.trainer"):
        more = train(tiny(), data, TrainConfig(**{**BUMPY, "epochs": 4, "lr": 3e-3}), checkpoint_path=path, resume=True)
    assert "no optimiser state" in caplog.text and "fresh optimisers" in caplog.text
    assert [h["epoch"] for h in more.history] == [1, 2, 3, 4] and more.epochs_run == 4
    with pytest.raises(ValueError, match=r"done\.safetensors: cannot resume, it already holds 4 epochs"):
        train(tiny(), data, TrainConfig(**{**BUMPY, "epochs": 4}), checkpoint_path=path, resume=True)


def test_resume_refuses_a_checkpoint_trained_on_other_data(data, tmp_path):
    path = tmp_path / "run.safetensors"
    train(tiny(), data, TrainConfig(**{**BUMPY, "epochs": 1}), checkpoint_path=path)
    other = VoxelDataset(blobs(96, seed=5), np.zeros(96, np.int64), blobs(16, seed=1), np.zeros(16, np.int64),
                         source="synthetic", params={"blobs": 5})
    with pytest.raises(ValueError, match="trained on other data"):
        train(tiny(), other, TrainConfig(**{**BUMPY, "epochs": 2}), checkpoint_path=path, resume=True)


# -- the lock file beside a checkpoint ----------------------------------------------------------
def held_by(pid: int) -> str:
    return json.dumps({"pid": pid, "host": socket.gethostname(), "started": 0})


def test_a_second_run_on_the_same_checkpoint_is_refused_while_the_first_runs(data, tmp_path):
    path = tmp_path / "run.safetensors"
    lock_of(path).write_text(held_by(os.getppid()))  # a live process holds it
    with pytest.raises(OSError, match=rf"run\.safetensors is in use by process {os.getppid()}"):
        train(tiny(), data, TrainConfig(**BUMPY), checkpoint_path=path)
    assert not path.exists()


def test_a_lock_left_by_a_crashed_run_is_taken_over_and_removed_at_the_end(data, tmp_path):
    path = tmp_path / "run.safetensors"
    lock_of(path).write_text(held_by(dead_pid()))
    train(tiny(), data, TrainConfig(**{**BUMPY, "epochs": 1}), checkpoint_path=path)
    assert path.exists() and not lock_of(path).exists()


def test_the_lock_is_released_when_a_run_fails(data, tmp_path):
    path = tmp_path / "run.safetensors"
    with pytest.raises(Crash):
        train(tiny(), data, TrainConfig(**BUMPY), checkpoint_path=path, on_progress=crash_at(1))
    assert not lock_of(path).exists()


def test_another_thread_of_the_same_process_cannot_take_a_held_lock(tmp_path):
    from genlab import files

    path = tmp_path / "run.safetensors"
    outcome = []
    with files.FileLock(path):
        with files.FileLock(path):  # the same thread may nest
            pass
        assert lock_of(path).exists()

        def other():
            try:
                files.FileLock(path).acquire()
                outcome.append("taken")
            except files.FileLocked as error:
                outcome.append(str(error))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert "another run in this process" in outcome[0]
    assert not lock_of(path).exists()


def test_a_directory_as_the_checkpoint_is_refused_before_training(data, tmp_path):
    folder = tmp_path / "model.safetensors"
    folder.mkdir()
    seen = []
    with pytest.raises(IsADirectoryError, match="model.safetensors is a directory"):
        train(tiny(), data, TrainConfig(**BUMPY), checkpoint_path=folder, on_progress=seen.append)
    assert seen == []


# -- temporaries of killed writers ---------------------------------------------------------------
def test_a_checkpoint_write_removes_temporaries_left_by_killed_writers(tmp_path):
    path = tmp_path / "model.safetensors"
    stale = tmp_path / f".model.safetensors.{dead_pid()}.tmp"
    live = tmp_path / f".model.safetensors.{os.getppid()}.tmp"  # a writer still at work: left alone
    stale.write_bytes(b"x" * 1000)
    live.write_bytes(b"x")
    save_model(tiny(), path)
    assert path.exists() and not stale.exists() and live.exists()


def test_a_killed_checkpoint_write_leaves_no_temporary_after_the_next_save(tmp_path):
    """kill -9 in the middle of writing: the next save of that checkpoint cleans up."""
    path = tmp_path / "model.safetensors"
    script = ("import os, safetensors.torch as st, torch\n"
              "st.save_file = lambda *a, **k: (open(a[1], 'wb').write(b'half'), os.kill(os.getpid(), 9))\n"
              "from genlab import checkpoint_file\n"
              "from genlab.models.checkpoint import FORMAT\n"
              f"checkpoint_file.save({str(path)!r}, {{'w': torch.zeros(2)}}, FORMAT, {{}})\n")
    subprocess.run([sys.executable, "-c", script], cwd=os.path.dirname(os.path.dirname(__file__)), check=False)
    assert list(tmp_path.glob(".model.safetensors.*.tmp"))  # what kill -9 leaves
    save_model(tiny(), path)
    assert not list(tmp_path.glob("*.tmp"))


# -- runs trained in the app ----------------------------------------------------------------------
def test_app_runs_started_in_the_same_second_get_their_own_checkpoints(data, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs.time, "strftime", lambda *args: "20260101-000000")  # the same second
    gate = threading.Barrier(2)
    results = []

    def run(seed):
        work = jobs.training_work("ae", "fcn", latent_dim=4, epochs=1, batch_size=16, lr=1e-3, dataset=data,
                                  runs_dir=tmp_path, seed=seed, width=4)
        gate.wait(5)
        results.append(work(lambda entry: None, threading.Event()))

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    saved = sorted(r["checkpoint"] for r in results)
    assert [os.path.basename(p) for p in saved] == ["ae_fcn_20260101-000000-2.safetensors",
                                                     "ae_fcn_20260101-000000.safetensors"]
    seeds = {load_model(p).metadata["training"]["config"]["seed"] for p in saved}
    assert seeds == {1, 2}  # each file holds its own run
    assert not list(tmp_path.glob("*.lock"))


def test_an_app_run_never_replaces_an_existing_checkpoint(data, tmp_path):
    existing = save_model(tiny(), tmp_path / "mine.safetensors")
    before = existing.read_bytes()
    work = jobs.training_work("ae", "fcn", latent_dim=4, epochs=1, batch_size=16, lr=1e-3, dataset=data,
                              runs_dir=tmp_path, name="mine", width=4)
    result = work(lambda entry: None, threading.Event())
    assert result["checkpoint"].endswith("mine-2.safetensors")
    assert existing.read_bytes() == before


@pytest.mark.parametrize("ae_weight", [1.0, 0.0])
def test_a_gan_interrupted_after_an_epoch_resumes_to_the_same_weights(data, tmp_path, ae_weight):
    config = TrainConfig(**{**BUMPY, "lr": 3e-3})
    straight = train(tiny("gan", "cnn_mlp", ae_weight=ae_weight), data, config)
    path = tmp_path / "gan.safetensors"
    with pytest.raises(Crash):
        train(tiny("gan", "cnn_mlp", ae_weight=ae_weight), data, config, checkpoint_path=path, on_progress=crash_at(2))
    resumed = train(tiny("gan", "cnn_mlp", ae_weight=ae_weight), data, config, checkpoint_path=path, resume=True)
    assert without_times(resumed.history) == without_times(straight.history)
    for (name, p), q in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(p, q), name  # the code scale a training autoencoder tracks included
