"""Background jobs for the app: long work (training) on a thread, with a progress log and Cancel.

A job lives in this module's registry, not in a Streamlit script run, so it survives reruns
and page switches; each job belongs to an owner (one browser session), so one user's run
never shows up in, or stops, another's.

    job = start_job(owner, "vae/gru", work)      # work(report, stop_event) -> result
    job.snapshot()                                # status, log, progress, ETA ... for drawing
    job.cancel()                                  # asks work to stop (it checks stop_event)
"""

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

RUNNING, DONE, CANCELLED, FAILED = "running", "done", "cancelled", "failed"
MAX_RUNNING = 2  # jobs running at once on this server, across all users (CPU is scarce)
KEEP_FINISHED = 5  # finished jobs remembered per owner (older ones are forgotten)


class JobError(RuntimeError):
    """A job failed for a reason worth showing to the user as it is (bad input, divergence)."""


@dataclass
class Job:
    """One background job: its thread, its progress log and how it ended."""

    id: str
    owner: str
    label: str
    stop_event: threading.Event = field(default_factory=threading.Event)
    status: str = RUNNING
    log: list[dict] = field(default_factory=list)   # what report() received, in order
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self, entry: dict) -> None:
        """Appends one progress entry (from the worker thread); its "done" and "total" give the fraction done."""
        with self._lock:
            self.log.append({**entry, "time": time.time() - self.started})

    def cancel(self) -> None:
        """Asks the job to stop; it ends as "cancelled" once the work notices."""
        self.stop_event.set()

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def snapshot(self) -> dict:
        """Returns a consistent copy for drawing: status, log, fraction done, ETA (s), result, error."""
        with self._lock:
            log = list(self.log)
            status, result, error = self.status, self.result, self.error
        fraction, eta = 0.0, None
        if log and log[-1].get("total"):
            last = log[-1]
            fraction = min(1.0, last["done"] / last["total"])
            if 0 < fraction < 1:
                eta = last["time"] * (1 - fraction) / fraction
        if status == DONE:
            fraction, eta = 1.0, 0.0
        elif status != RUNNING:
            eta = None  # cancelled or failed: nothing left to wait for
        elapsed = (self.finished or time.time()) - self.started
        return {"id": self.id, "label": self.label, "status": status, "log": log,
                "fraction": fraction, "eta_s": eta, "elapsed_s": elapsed,
                "result": result, "error": error, "cancelling": self.stop_event.is_set()}

    def wait(self, timeout: float | None = None) -> bool:
        """Returns True once the job has finished (waits up to `timeout` seconds)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running


_jobs: dict[str, Job] = {}
_registry_lock = threading.Lock()
_ids = itertools.count(1)


def start_job(owner: str, label: str, work: Callable[[Callable[[dict], None], threading.Event], Any]) -> Job:
    """Returns a new running Job that calls work(report, stop_event) on a daemon thread.

    work returns the job's result; it should return early when stop_event is set (the job is
    then "cancelled", keeping whatever result it returned). A JobError or ValueError it raises
    becomes the job's error message; any other exception too, prefixed with its type.
    Raises JobError if `owner` already has a running job or the server runs MAX_RUNNING jobs.
    """
    with _registry_lock:
        running = [job for job in _jobs.values() if job.running]
        if any(job.owner == owner for job in running):
            raise JobError("you already have a job running; cancel it or wait for it to finish")
        if len(running) >= MAX_RUNNING:
            raise JobError(f"the server is already running {MAX_RUNNING} jobs; try again when one finishes")
        finished = sorted((j for j in _jobs.values() if j.owner == owner and not j.running),
                          key=lambda j: j.started, reverse=True)
        for old in finished[KEEP_FINISHED - 1:]:
            del _jobs[old.id]
        job = Job(id=f"job-{next(_ids)}", owner=owner, label=label)
        _jobs[job.id] = job
    job.thread = threading.Thread(target=_run, args=(job, work), name=job.id, daemon=True)
    job.thread.start()
    return job


def _run(job: Job, work) -> None:
    try:
        result = work(job.report, job.stop_event)
        status, error = (CANCELLED if job.stop_event.is_set() else DONE), None
    except (JobError, ValueError, FileNotFoundError) as exc:
        result, status, error = None, FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - the user sees a message, never a traceback
        result, status, error = None, FAILED, f"{type(exc).__name__}: {exc}"
    with job._lock:
        job.result, job.status, job.error, job.finished = result, status, error, time.time()


def jobs_for(owner: str) -> list[Job]:
    """Returns `owner`'s jobs, newest first."""
    with _registry_lock:
        return sorted((job for job in _jobs.values() if job.owner == owner),
                      key=lambda job: job.started, reverse=True)


def get_job(job_id: str, owner: str) -> Job | None:
    """Returns the job `job_id` if it belongs to `owner`, else None."""
    with _registry_lock:
        job = _jobs.get(job_id)
    return job if job is not None and job.owner == owner else None


def training_work(kind: str, backbone: str, latent_dim: int, epochs: int, batch_size: int, lr: float,
                  dataset, runs_dir, max_train: int | None = None, seed: int = 0, name: str | None = None,
                  **model_options):
    """Returns work for start_job that trains a new model and saves it in `runs_dir`.

    The job's log gets one entry per step: epoch, epochs, step (= done), total (steps), losses,
    samples_per_s, val_loss (at epoch ends). Its result: {"checkpoint": path or None,
    "cancelled": bool, "best_val_loss": float}. A cancelled run keeps the checkpoint of what it
    learned; a diverged run raises JobError saying so (the last good checkpoint stays).
    max_train: train on only the first max_train training digits (faster on a CPU).
    model_options: passed to build_model (e.g. beta for a VAE, ae_weight for a GAN).
    The checkpoint is runs_dir/NAME.safetensors, NAME = name or KIND_BACKBONE_TIME, with -2, -3 ...
    added when that file exists or another run is writing it.
    """

    def work(report, stop_event):
        from dataclasses import replace

        from genlab.files import claim_new_file
        from genlab.models import build_model

        data = dataset
        if max_train and max_train < len(dataset.X_train):
            data = replace(dataset, X_train=dataset.X_train[:max_train], y_train=dataset.y_train[:max_train],
                           params={**dataset.params, "max_train": max_train})
        model = build_model(kind, backbone, latent_dim=latent_dim, **model_options)
        stem = name or f"{kind}_{backbone}_{time.strftime('%Y%m%d-%H%M%S')}"
        with claim_new_file(runs_dir, stem, ".safetensors") as claimed:  # unique even within one second
            return train_into(claimed.path, model, data, report, stop_event)

    def train_into(path, model, data, report, stop_event):
        from genlab.models import fit_samplers
        from genlab.models.checkpoint import write_samplers
        from genlab.train import TrainConfig, TrainingDiverged, train

        def on_progress(progress) -> None:
            step = (progress.epoch - 1) * progress.steps_per_epoch + progress.step
            report({"epoch": progress.epoch, "epochs": progress.epochs, "step": step, "done": step,
                    "total": progress.epochs * progress.steps_per_epoch,
                    "losses": dict(progress.losses), "samples_per_s": progress.samples_per_s,
                    "val_loss": progress.val_loss})

        config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=None)
        try:
            result = train(model, data, config, on_progress=on_progress, stop_event=stop_event,
                           checkpoint_path=path)
        except TrainingDiverged as error:
            raise JobError(str(error)) from None
        if path.exists():  # so the new model can sample digits on request, as the shipped ones do
            # (a VAE's second stage would add a minute here: `python -m genlab train --fit-samplers` fits it)
            fit_samplers(result.model, data.X_train, data.y_train, second_stage_steps=0)
            write_samplers(path, result.model)
        return {"checkpoint": str(path) if path.exists() else None, "cancelled": result.cancelled,
                "best_val_loss": result.best_val_loss}

    return work
