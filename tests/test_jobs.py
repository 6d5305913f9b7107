"""Background jobs: progress, results, cancel, failures and per-owner isolation."""

import threading
import time

import pytest
import torch  # noqa: F401 - imported once here: each job sets its torch threads, and a first import takes seconds

from genlab.app import jobs


def counting_work(steps, gate=None):
    """Returns work that reports `steps` steps; waits on `gate` (if given) before each step."""
    def work(report, stop_event):
        for step in range(1, steps + 1):
            if gate is not None:
                gate.wait(5)
            if stop_event.is_set():
                return f"stopped after {step - 1}"
            report({"done": step, "total": steps, "loss": 1.0 / step})
        return "finished"
    return work


def test_job_reports_progress_and_returns_its_result():
    job = jobs.start_job("alice", "count", counting_work(4))
    assert job.wait(5)
    state = job.snapshot()
    assert state["status"] == jobs.DONE and state["result"] == "finished"
    assert [entry["done"] for entry in state["log"]] == [1, 2, 3, 4]
    assert state["fraction"] == 1.0 and state["eta_s"] == 0.0


def test_cancel_stops_the_job_and_keeps_its_result():
    gate = threading.Event()
    job = jobs.start_job("bob", "count", counting_work(100, gate))
    assert job.snapshot()["status"] == jobs.RUNNING
    job.cancel()
    gate.set()
    assert job.wait(5)
    state = job.snapshot()
    assert state["status"] == jobs.CANCELLED and state["result"].startswith("stopped after")
    assert state["cancelling"] and state["eta_s"] is None


def test_eta_comes_from_the_fraction_done():
    gate = threading.Event()
    job = jobs.start_job("carol", "half", counting_work(2, gate))
    job.report({"done": 1, "total": 4})
    state = job.snapshot()
    assert state["fraction"] == 0.25
    assert state["eta_s"] == pytest.approx(3 * state["log"][-1]["time"])
    job.cancel()
    gate.set()
    job.wait(5)


def test_failure_becomes_a_message():
    def bad_input(report, stop_event):
        raise ValueError("file x.h5 is not HDF5")

    def crash(report, stop_event):
        raise RuntimeError("boom")

    first = jobs.start_job("dave", "bad", bad_input)
    first.wait(5)
    assert first.snapshot()["status"] == jobs.FAILED
    assert first.snapshot()["error"] == "file x.h5 is not HDF5"
    second = jobs.start_job("dave", "crash", crash)
    second.wait(5)
    assert second.snapshot()["error"] == "RuntimeError: boom"


def test_owners_are_isolated_and_limited_to_one_running_job():
    gate = threading.Event()
    mine = jobs.start_job("erin", "mine", counting_work(3, gate))
    with pytest.raises(jobs.JobError, match="already have a job running"):
        jobs.start_job("erin", "again", counting_work(1))
    assert jobs.get_job(mine.id, "frank") is None
    assert jobs.get_job(mine.id, "erin") is mine
    assert all(job.owner == "erin" for job in jobs.jobs_for("erin"))
    assert jobs.jobs_for("frank") == []
    gate.set()
    assert mine.wait(5)


def test_server_wide_limit(monkeypatch):
    monkeypatch.setattr(jobs, "MAX_RUNNING", 1)
    gate = threading.Event()
    first = jobs.start_job("gina", "one", counting_work(2, gate))
    with pytest.raises(jobs.JobError, match="already running 1 jobs"):
        jobs.start_job("hank", "two", counting_work(1))
    gate.set()
    first.wait(5)


def tiny_dataset():
    from genlab.data import load_dataset

    return load_dataset("synthetic", n_train=100, n_test=20)


@pytest.mark.slow
def test_training_work_saves_a_loadable_checkpoint_and_logs_steps(tmp_path):
    from genlab.models import load_model

    work = jobs.training_work("ae", "fcn", latent_dim=4, epochs=1, batch_size=16, lr=1e-3,
                              dataset=tiny_dataset(), runs_dir=tmp_path, max_train=80, name="tiny")
    job = jobs.start_job("trainer", "ae/fcn", work)
    assert job.wait(120)
    state = job.snapshot()
    assert state["status"] == jobs.DONE, state["error"]
    assert state["result"]["checkpoint"] == str(tmp_path / "tiny.safetensors")
    training = [entry for entry in state["log"] if "phase" not in entry]
    steps = [entry["step"] for entry in training]
    assert steps[0] == 1 and steps[-1] == training[-1]["total"] == 4   # 76 digits // 16
    assert training[-1]["val_loss"] is not None
    model = load_model(tmp_path / "tiny.safetensors")
    assert (model.kind, model.backbone, model.latent_dim) == ("ae", "fcn", 4)
    assert model.metadata["dataset"]["params"]["max_train"] == 80
    # finished as the CLI finishes a run: test metrics in the result and in the file, no optimiser state
    metrics = state["result"]["metrics"]["canonical"]
    assert 0 < metrics["bce"] < 1 and 0 <= metrics["iou"] <= 1
    assert model.metadata["metrics"]["canonical"] == metrics
    assert "optimizers" not in model.metadata["training"] and model.code_density is not None


@pytest.mark.slow
def test_a_vae_trained_as_a_job_gets_its_second_stage_with_progress(tmp_path):
    from genlab.models import load_model

    work = jobs.training_work("vae", "fcn", latent_dim=4, epochs=1, batch_size=16, lr=1e-3,
                              dataset=tiny_dataset(), runs_dir=tmp_path, name="vae", second_stage_steps=200)
    job = jobs.start_job("vae-trainer", "vae/fcn", work)
    assert job.wait(120)
    state = job.snapshot()
    assert state["status"] == jobs.DONE, state["error"]
    phases = [(entry["phase"], entry["done"], entry["total"]) for entry in state["log"] if "phase" in entry]
    assert phases == [("samplers", 0, 1), ("second stage", 100, 200), ("second stage", 200, 200),
                      ("test metrics", 0, 1)]
    model = load_model(tmp_path / "vae.safetensors")
    assert model.second_stage is not None and "canonical" in model.metadata["metrics"]


@pytest.mark.slow
def test_a_run_cancelled_in_its_second_stage_is_kept_and_marked_cancelled(tmp_path):
    from genlab.models import load_model

    work = jobs.training_work("vae", "fcn", latent_dim=4, epochs=1, batch_size=16, lr=1e-3,
                              dataset=tiny_dataset(), runs_dir=tmp_path, name="stopped", second_stage_steps=10_000)
    job = jobs.start_job("canceller", "vae/fcn", work)
    deadline = time.time() + 120
    while not any(entry.get("phase") == "second stage" for entry in job.snapshot()["log"]) and time.time() < deadline:
        time.sleep(0.05)
    job.cancel()
    assert job.wait(120)
    state = job.snapshot()
    assert state["status"] == jobs.CANCELLED and state["result"]["cancelled"]
    model = load_model(tmp_path / "stopped.safetensors")
    assert model.metadata["training"]["cancelled"] is True and model.second_stage is None
    assert "canonical" in model.metadata["metrics"]


def test_a_job_sets_its_own_torch_threads_and_leaves_the_others_alone():

    before = torch.get_num_threads()
    seen = {}

    def work(report, stop_event):
        seen["job"] = torch.get_num_threads()
        return None

    jobs.start_job("threads", "t", work, threads=before + 1).wait(10)  # differs from everyone's
    later = []
    fresh = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    fresh.start()
    fresh.join()
    assert seen["job"] == before + 1
    assert torch.get_num_threads() == before      # this thread (the server's) keeps its threads
    assert later == [before]                      # and so does a thread started afterwards


def test_training_divergence_becomes_the_jobs_error(monkeypatch, tmp_path):
    import genlab.train
    from genlab.train import TrainingDiverged

    def diverge(*args, **kwargs):
        raise TrainingDiverged("training ae/fcn diverged at epoch 1, step 2: loss=nan")

    monkeypatch.setattr(genlab.train, "train", diverge)
    work = jobs.training_work("ae", "fcn", latent_dim=4, epochs=1, batch_size=16, lr=10.0,
                              dataset=tiny_dataset(), runs_dir=tmp_path)
    job = jobs.start_job("diverger", "ae/fcn", lambda report, stop: work(report, stop))  # here: train is patched
    assert job.wait(60)
    assert job.snapshot()["status"] == jobs.FAILED
    assert job.snapshot()["error"] == "training ae/fcn diverged at epoch 1, step 2: loss=nan"


def test_only_the_latest_finished_jobs_are_remembered(monkeypatch):
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 2)
    for n in range(4):
        jobs.start_job("ivy", f"run {n}", counting_work(1)).wait(5)
    assert [job.label for job in jobs.jobs_for("ivy")] == ["run 3", "run 2"]


# -- work in a child process ------------------------------------------------------------------------
def child_counting(report, stop_event, steps, pause=0.0):
    """ChildWork target: reports `steps` steps from its own process; stops early when asked."""
    import os

    for step in range(1, steps + 1):
        if stop_event.is_set():
            return {"pid": os.getpid(), "stopped_after": step - 1}
        report({"done": step, "total": steps})
        time.sleep(pause)
    return {"pid": os.getpid(), "stopped_after": None}


def child_bad_input(report, stop_event):
    raise ValueError("the digits file is empty")


def child_dies(report, stop_event):
    import os

    report({"done": 1, "total": 2})
    os._exit(3)  # killed, out of memory ...: no message comes back


def test_child_work_runs_in_another_process_and_reports_back():
    import os

    job = jobs.start_job("child-alice", "count", jobs.ChildWork(child_counting, {"steps": 3}))
    assert job.wait(120)
    state = job.snapshot()
    assert state["status"] == jobs.DONE, state["error"]
    assert state["result"]["pid"] != os.getpid() and state["result"]["stopped_after"] is None
    assert [entry["done"] for entry in state["log"]] == [1, 2, 3]
    # called directly, the same work runs here (what tests and scripts use)
    assert jobs.ChildWork(child_counting, {"steps": 1})(lambda entry: None, threading.Event())["pid"] == os.getpid()


def test_child_work_is_cancelled_through_the_job():
    job = jobs.start_job("child-bob", "count", jobs.ChildWork(child_counting, {"steps": 10_000, "pause": 0.01}))
    deadline = time.time() + 120
    while not job.snapshot()["log"] and time.time() < deadline:
        time.sleep(0.05)
    job.cancel()
    assert job.wait(120)
    state = job.snapshot()
    assert state["status"] == jobs.CANCELLED and state["result"]["stopped_after"] < 10_000


@pytest.mark.parametrize("work, message", [
    (child_bad_input, "^the digits file is empty$"),
    (child_dies, r"^the run's process ended unexpectedly \(exit code 3\)$"),
])
def test_a_failing_or_dying_child_is_a_message(work, message):
    job = jobs.start_job(f"child-{work.__name__}", "fail", jobs.ChildWork(work, {}))
    assert job.wait(120)
    state = job.snapshot()
    assert state["status"] == jobs.FAILED
    assert __import__("re").match(message, state["error"]), state["error"]
