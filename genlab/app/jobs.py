"""Background jobs for the app: long work (training) on a thread, with a progress log and Cancel.

A job lives in this module's registry, not in a Streamlit script run, so it survives reruns
and page switches; each job belongs to an owner (one browser session), so one user's run
never shows up in, or stops, another's.

    job = start_job(owner, "vae/gru", work)      # work(report, stop_event) -> result
    job.snapshot()                                # status, log, progress, ETA ... for drawing
    job.cancel()                                  # asks work to stop (it checks stop_event)

Each job runs on its own number of torch CPU threads (default JOB_THREADS) without changing the
threads of the server or of other jobs: see use_torch_threads. Work given as a ChildWork (training
runs) runs in a child process of its own instead, so it never waits for the server's Python
(the GIL) while pages redraw; its progress and result come back over a queue.
"""

import itertools
import multiprocessing
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

RUNNING, DONE, CANCELLED, FAILED = "running", "done", "cancelled", "failed"
MAX_RUNNING = 2  # jobs running at once on this server, across all users (CPU is scarce)
KEEP_FINISHED = 5  # finished jobs remembered per owner (older ones are forgotten)
# torch threads per job: on a shared CPU, more threads wait on each other (benchmarks/bench_app_train.py)
JOB_THREADS = 1
# A training step releases and retakes the GIL around each of its hundreds of torch calls; while a
# page redraws (Python work on another thread) each retake can wait a whole switch interval
# (5 ms by default). A shorter one lets a job's thread back in sooner.
SWITCH_INTERVAL_S = 0.001


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


_threads_lock = threading.Lock()


def use_torch_threads(count: int) -> None:
    """Sets the calling thread's torch CPU threads to `count`; other threads, and threads started later, keep theirs.

    torch.set_num_threads (OpenMP backend) sets the calling thread's OpenMP thread count, but
    also the process-wide value that every thread adopts on its first torch call. So: this
    thread takes its own value first (a thread that has not yet used torch would adopt the
    process-wide value later and lose it), sets `count`, and a short-lived helper thread then
    puts the process-wide value back. tests/test_jobs.py checks each of these.
    """
    import torch

    with _threads_lock:
        torch.get_num_threads()  # this thread's lazy initialisation, before it is changed
        default = _in_new_thread(torch.get_num_threads)
        torch.set_num_threads(count)
        _in_new_thread(lambda: torch.set_num_threads(default))


def _in_new_thread(function):
    """Returns function() as run on a fresh thread."""
    out = []
    helper = threading.Thread(target=lambda: out.append(function()), daemon=True)
    helper.start()
    helper.join()
    return out[0]


def failure_message(exc: Exception) -> str:
    """Returns what the user is shown for work that raised exc: a JobError, ValueError or
    FileNotFoundError as it is (bad input, divergence), anything else prefixed with its type."""
    if isinstance(exc, (JobError, ValueError, FileNotFoundError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class ChildWork:
    """Work that start_job runs in a child process: target(report, stop_event, **kwargs).

    target must be a module-level function and kwargs must pickle (the child is a fresh
    interpreter). Called directly, as work(report, stop_event), it runs here, on this thread.
    """

    target: Callable
    kwargs: dict

    def __call__(self, report, stop_event):
        return self.target(report, stop_event, **self.kwargs)


def _child_main(work: ChildWork, threads: int | None, messages, stop_event) -> None:
    """Runs in the child process: does the work, sending ("report", entry)s and then how it ended."""
    try:
        if threads:
            import torch

            torch.set_num_threads(threads)
        result = work(lambda entry: messages.put(("report", entry)), stop_event)
        messages.put(("result", result))
    except Exception as exc:  # noqa: BLE001 - the user sees a message, never a traceback
        messages.put(("failed", failure_message(exc)))


def run_in_child(work: ChildWork, report: Callable[[Any], None], stop_event: threading.Event,
                 threads: int | None = None, name: str = "genlab-child", what: str = "the work") -> tuple[str, Any]:
    """Returns ("result", result) or ("failed", message) of work run in a spawned child process: its
    reports go to report(entry) here, and stop_event, when set here, is passed on to it. `what`
    names the work in the message of a child that dies ("the run": "the run's process ended ...").

    The child has its own interpreter and lock, so its work does not slow the server's threads."""
    context = multiprocessing.get_context("spawn")  # not fork: the server has threads
    messages, child_stop = context.Queue(), context.Event()
    child = context.Process(target=_child_main, args=(work, threads, messages, child_stop), name=name, daemon=True)
    child.start()
    try:
        while True:
            if stop_event.is_set():
                child_stop.set()
            try:
                kind, value = messages.get(timeout=0.2 if child.is_alive() else 2.0)
            except queue.Empty:
                if child.is_alive():
                    continue
                return "failed", f"{what}'s process ended unexpectedly (exit code {child.exitcode})"
            if kind == "report":
                report(value)
            else:
                return kind, value
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()


def start_job(owner: str, label: str, work: Callable[[Callable[[dict], None], threading.Event], Any],
              threads: int | None = JOB_THREADS) -> Job:
    """Returns a new running Job that calls work(report, stop_event) on a daemon thread (a ChildWork: in
    a child process, watched by that thread).

    work returns the job's result; it should return early when stop_event is set (the job is
    then "cancelled", keeping whatever result it returned). A JobError or ValueError it raises
    becomes the job's error message; any other exception too, prefixed with its type.
    Raises JobError if `owner` already has a running job or the server runs MAX_RUNNING jobs.
    threads: the job's torch CPU threads (None: torch's default).
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
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
    job.thread = threading.Thread(target=_run, args=(job, work, threads), name=job.id, daemon=True)
    job.thread.start()
    return job


def _run(job: Job, work, threads: int | None) -> None:
    try:
        if isinstance(work, ChildWork):
            ending, result = run_in_child(work, job.report, job.stop_event, threads, job.id, "the run")
            if ending == "failed":
                raise JobError(result)
        else:
            if threads:
                use_torch_threads(threads)
            result = work(job.report, job.stop_event)
        status, error = (CANCELLED if job.stop_event.is_set() else DONE), None
    except Exception as exc:  # noqa: BLE001 - the user sees a message, never a traceback
        result, status, error = None, FAILED, failure_message(exc)
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


class Cancelled(Exception):
    """Raised inside a job's work when its stop_event is set during a step that cannot poll it."""


def training_work(kind: str, backbone: str, latent_dim: int, epochs: int, batch_size: int, lr: float,
                  dataset, runs_dir, max_train: int | None = None, seed: int = 0, name: str | None = None,
                  second_stage_steps: int | None = None, **model_options):
    """Returns work for start_job that trains a new model and saves it in `runs_dir`, finished as
    the CLI finishes its runs (genlab.train.shipping.finish_checkpoint): code samplers (a VAE's
    second stage included), test metrics.

    The job's log gets one entry per training step: epoch, epochs, step (= done), total (steps),
    losses, samples_per_s, val_loss (at epoch ends); then entries with a "phase" ("samplers",
    "second stage", "test metrics") and its done / total. Its result: {"checkpoint": path or None,
    "cancelled": bool, "best_val_loss": float, "metrics": test metrics or None}. A cancelled
    run keeps the checkpoint of what it learned, finished without a second stage and marked
    cancelled; a diverged run raises JobError saying so (the last good checkpoint stays).
    max_train: train on only the first max_train training digits (faster on a CPU).
    second_stage_steps: a VAE's second stage (None: the CLI's default).
    model_options: passed to build_model (e.g. beta for a VAE, ae_weight for a GAN).
    The checkpoint is runs_dir/NAME.safetensors, NAME = name or KIND_BACKBONE_TIME, with -2, -3 ...
    added when that file exists or another run is writing it.
    The run happens in a child process (see ChildWork); the dataset travels as its cache file when
    it has one (reading that is much faster than sending the arrays).
    """
    return ChildWork(_train_run, dict(
        kind=kind, backbone=backbone, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size, lr=lr,
        dataset=_portable(dataset), runs_dir=runs_dir, max_train=max_train, seed=seed, name=name,
        second_stage_steps=second_stage_steps, model_options=model_options))


@dataclass(frozen=True)
class CachedDataset:
    """A dataset named by its cache file and fingerprint, for a child process to read."""

    path: str
    fingerprint: str

    def load(self):
        """Returns the dataset; raises JobError if the file no longer holds the same data."""
        from genlab.data.dataset import read_cache

        dataset = read_cache(self.path)
        if dataset.fingerprint != self.fingerprint:
            raise JobError("the dataset's cache file changed since the run was started; start it again")
        return dataset


def _portable(dataset):
    """Returns a CachedDataset for a dataset that has a cache file, else the dataset itself."""
    from genlab.data.dataset import cache_path

    try:
        path = cache_path(dataset.source, dataset.params)
    except (KeyError, OSError, TypeError, ValueError):  # a source or parameters this genlab cannot key
        return dataset
    return CachedDataset(str(path), dataset.fingerprint) if path.is_file() else dataset


def _train_run(report, stop_event, *, kind, backbone, latent_dim, epochs, batch_size, lr, dataset, runs_dir,
               max_train, seed, name, second_stage_steps, model_options):
    """training_work's work: builds the model, claims its file and trains into it."""
    from dataclasses import replace

    from genlab.files import claim_new_file
    from genlab.models import build_model

    data = dataset.load() if isinstance(dataset, CachedDataset) else dataset
    if max_train and max_train < len(data.X_train):
        data = replace(data, X_train=data.X_train[:max_train], y_train=data.y_train[:max_train],
                       params={**data.params, "max_train": max_train})
    model = build_model(kind, backbone, latent_dim=latent_dim, **model_options)
    stem = name or f"{kind}_{backbone}_{time.strftime('%Y%m%d-%H%M%S')}"
    with claim_new_file(runs_dir, stem, ".safetensors") as claimed:  # unique even within one second
        return _train_into(claimed.path, model, data, report, stop_event, epochs, batch_size, lr, seed,
                           second_stage_steps)


def _train_into(path, model, data, report, stop_event, epochs, batch_size, lr, seed, second_stage_steps):
    """Trains model on data into the checkpoint at path and finishes it; returns training_work's result."""
    from genlab.train import TrainConfig, TrainingDiverged, train
    from genlab.train.shipping import finish_checkpoint

    def on_progress(progress) -> None:
        report({"epoch": progress.epoch, "epochs": progress.epochs, "step": progress.done, "done": progress.done,
                "total": progress.total,
                "losses": dict(progress.losses), "samples_per_s": progress.samples_per_s,
                "val_loss": progress.val_loss})

    def on_phase(phase: str, done: int, total: int) -> None:
        if stop_event.is_set():
            raise Cancelled
        report({"phase": phase, "done": done, "total": total})

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=None)
    try:
        result = train(model, data, config, on_progress=on_progress, stop_event=stop_event, checkpoint_path=path)
    except TrainingDiverged as error:
        raise JobError(str(error)) from None
    outcome = {"checkpoint": str(path) if path.exists() else None, "cancelled": result.cancelled,
               "best_val_loss": result.best_val_loss, "metrics": None}
    if path.exists():
        options = {} if second_stage_steps is None else {"second_stage_steps": second_stage_steps}
        try:
            if result.cancelled:
                raise Cancelled
            outcome["metrics"] = finish_checkpoint(result.model, data, path, result.training, progress=on_phase,
                                                    **options)
        except Cancelled:  # finished quickly instead: no second stage, marked as cancelled
            outcome["cancelled"] = True
            outcome["metrics"] = finish_checkpoint(result.model, data, path, result.training,
                                                   {"cancelled": True}, second_stage_steps=0)
    return outcome
