"""The trainer: one loop for every model kind, on CPU, CUDA, MPS or several processes.

Single process (CPU, or a GPU picked automatically):

    from genlab.data import load_dataset
    from genlab.models import build_model
    from genlab.train import TrainConfig, train
    result = train(build_model("vae", "gru"), load_dataset("mnist"), TrainConfig(epochs=10))

Several GPUs or machines, with PyTorch's DistributedDataParallel (NCCL on GPUs, Gloo on CPU):

    torchrun --nproc_per_node=4 -m genlab train --kind vae --backbone gru

`torchrun` sets RANK / WORLD_SIZE / LOCAL_RANK; each process then reads its share of every global
batch (DistributedSampler), gradients are averaged, and only rank 0 reports progress and saves.

A run, step by step (the `_Run` methods): split the data, resume, wrap the model for DDP, then per
epoch: run the epoch (learning-rate schedule, the kind's training step), validate, save. What one
step does (its losses, its optimisers, a GAN's critic steps) is the model kind's: genlab.models.kinds.
"""

import contextlib
import copy
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import BatchSampler, DistributedSampler

from genlab.files import FileLock
from genlab.models.checkpoint import RESUME_PREFIX, check_finite, read_checkpoint, save_model, split_tensors
from genlab.models.kinds import StepSettings
from genlab.train.callbacks import Progress, stop_requested
from genlab.train.config import PRECISIONS, TrainConfig

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite or exploded; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    """What `train` returns: the trained model (best validation weights) and how the run went."""

    model: torch.nn.Module
    history: list[dict] = field(default_factory=list)  # one record per epoch
    best_val_loss: float = math.inf
    epochs_run: int = 0
    seconds: float = 0.0  # wall-clock time of the run (resumed runs add up)
    samples_per_s: float = 0.0
    cancelled: bool = False
    stopped_early: bool = False
    checkpoint_path: str | None = None
    training: dict = field(default_factory=dict)  # the training record a checkpoint of this run holds


def resolve_device(name: str = "auto") -> torch.device:
    """Returns the torch device for a name; "auto" picks CUDA, then Apple MPS, then CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def distributed_setup(device_name: str) -> tuple[int, int, torch.device, bool]:
    """Returns (rank, world_size, device, started_here); joins the process group under torchrun, one
    process included (the same DDP path as many, so `torchrun --nproc_per_node=1` checks it)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1 and "RANK" not in os.environ:
        return 0, 1, resolve_device(device_name), False
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    started = not dist.is_initialized()
    if started:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device, started


def split_data(dataset, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (X_train, X_val): a seeded, fixed share (config.val_fraction) of dataset.X_train held out
    for validation; ValueError if what is left is less than one batch."""
    X_all = torch.as_tensor(np.asarray(dataset.X_train, dtype=np.float32))
    order = torch.randperm(len(X_all), generator=torch.Generator().manual_seed(config.seed))
    n_val = int(len(X_all) * config.val_fraction)
    X_val, X_train = X_all[order[:n_val]], X_all[order[n_val:]]
    if len(X_train) < config.batch_size:
        raise ValueError(f"{len(X_train)} training samples are fewer than one batch of {config.batch_size}")
    return X_train, X_val


def wrap_for_ddp(model, config: TrainConfig, device: torch.device):
    """Returns what training steps call: the model, compiled if asked, inside DistributedDataParallel
    when a process group is up (batch-norm statistics then synchronised on GPUs)."""
    net = torch.compile(model) if config.compile else model
    if dist.is_initialized():
        if device.type == "cuda":  # SyncBatchNorm is GPU-only
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        net = DistributedDataParallel(net, find_unused_parameters=model.step_leaves_parameters_unused)
    return net


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Returns whether training steps at this precision run under bf16 autocast: when asked ("bf16"),
    and by default ("auto") on CUDA. On a CPU with native bf16 (AVX-512 BF16, AMX) bf16 trains 1.2-2x
    faster than fp32 (README, "bf16 on the CPU"); on one without, it can be slower."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def autocast_for(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Returns the autocast context of a training step (see uses_bf16): bf16 mixed precision or none."""
    if uses_bf16(precision, device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def learning_rate(config: TrainConfig, done: float) -> float:
    """Returns the learning rate a fraction `done` (0..1) into the run: cosine from lr to lr * lr_min_ratio."""
    ratio = config.lr_min_ratio
    return config.lr * (ratio + (1 - ratio) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0))))


@torch.no_grad()
def validation_loss(model, X: torch.Tensor, batch_size: int = 500) -> float:
    """Returns the model's mean validation loss on X (N, 16, 16, 16), the early-stopping figure.

    AE and GAN: reconstruction BCE per voxel (a GAN's through encode and decode: its adversarial game
    has no held-out measure); VAE: that at the mean code plus beta * KL.
    """
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for start in range(0, len(X), batch_size):
        xb = X[start:start + batch_size].to(device)
        total += float(model.validation_loss(xb)) * len(xb)
    model.train()
    return total / max(len(X), 1)


def _resume_tensors(model, optimizers) -> tuple[dict[str, torch.Tensor], dict]:
    """Returns (tensors, JSON optimiser hyper-parameters) that resuming needs beside the best weights:
    the current weights, the optimisers' state and the RNG state, named under RESUME_PREFIX."""
    tensors = {f"{RESUME_PREFIX}model/{k}": v for k, v in model.state_dict().items()}
    tensors[f"{RESUME_PREFIX}rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors.update({f"{RESUME_PREFIX}rng/cuda/{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    groups = {}
    for name, opt in optimizers.items():
        state = opt.state_dict()
        groups[name] = state["param_groups"]
        for index, values in state["state"].items():
            for key, value in values.items():
                tensors[f"{RESUME_PREFIX}optimizer/{name}/{index}/{key}"] = torch.as_tensor(value)
    return tensors, groups


def _load_optimizers(optimizers, state_tensors, groups) -> None:
    for name, opt in optimizers.items():
        state: dict = {}
        for key, value in state_tensors.items():
            if key.startswith(f"optimizer/{name}/"):
                index, field_name = key.split("/")[2:]
                state.setdefault(int(index), {})[field_name] = value
        opt.load_state_dict({"state": state, "param_groups": groups[name]})


def _describe(dataset) -> dict:
    return dataset.describe() if hasattr(dataset, "describe") else {"source": "unknown"}


@dataclass
class _Resumed:
    epochs_done: int
    history: list
    best_val_loss: float
    best_state: dict
    epochs_without_gain: int
    seconds: float


def _resume(path, model, optimizers, dataset, config: TrainConfig) -> _Resumed:
    """Returns where the run in checkpoint `path` stopped, after loading its weights into `model` and,
    if it was saved during training, its optimiser and RNG state (a finished file has neither: the
    run then continues from its weights with fresh optimisers, and says so)."""
    tensors, meta = read_checkpoint(path)
    if (meta["kind"], meta["backbone"], meta["config"]) != (model.kind, model.backbone, model.config):
        raise ValueError(f"{path}: cannot resume, it holds a {meta['kind']}/{meta['backbone']} "
                         f"model with config {meta['config']}")
    trained_on = (meta.get("dataset") or {}).get("fingerprint")
    fingerprint = getattr(dataset, "fingerprint", None)
    if trained_on and fingerprint and trained_on != fingerprint:
        raise ValueError(f"{path}: cannot resume, it was trained on other data (fingerprint {trained_on}, "
                         f"this dataset {fingerprint})")
    training = meta.get("training") or {}
    done = int(training.get("epochs_done", 0))
    if done >= config.epochs:
        raise ValueError(f"{path}: cannot resume, it already holds {done} epoch{'s' * (done != 1)} of training; "
                         f"ask for more than {done} (--epochs) to train on")
    best, state = split_tensors(tensors)
    current = {k[len("model/"):]: v for k, v in state.items() if k.startswith("model/")}
    check_finite(best, path)
    check_finite(current, path)
    if current and "optimizers" in training:
        model.load_state_dict(current)
        _load_optimizers(optimizers, state, training["optimizers"])
        torch.set_rng_state(state["rng/torch"])
        cuda = [state[f"rng/cuda/{i}"] for i in range(sum(k.startswith("rng/cuda/") for k in state))]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        without_gain = int(training.get("epochs_without_gain", 0))
    else:
        model.load_state_dict(best)
        log.warning("note: %s holds no optimiser state (a finished run); training continues from its "
                    "weights after epoch %d with fresh optimisers", path, done)
        without_gain = 0
    return _Resumed(epochs_done=done, history=[h for h in training.get("history", []) if not h.get("partial")],
                    best_val_loss=float(training.get("best_val_loss", math.inf)),
                    best_state={k: v.clone() for k, v in best.items()}, epochs_without_gain=without_gain,
                    seconds=float(training.get("seconds", 0.0)))


def train(model, dataset, config: TrainConfig | None = None, on_progress=None, stop_event=None,
          checkpoint_path=None, resume: bool = False) -> TrainResult:
    """Returns a TrainResult after training `model` on `dataset.X_train` (N, 16, 16, 16).

    on_progress(Progress) is called after every step and at each epoch's end (rank 0 only, see
    genlab.train.callbacks); stop_event (threading.Event) cancels after the current step.
    checkpoint_path: written atomically after every epoch (the best weights as the model's, plus
    what resuming needs: current weights, optimiser and RNG state, history) while
    `checkpoint_path`.lock keeps other runs off it (FileLocked if one is there); with resume=True
    an existing one is continued, and ends as an uninterrupted run would. A cancelled epoch is
    recorded as partial and trained again in full on resume. Raises TrainingDiverged on a NaN or
    exploding loss, leaving the last good checkpoint in place.
    """
    config = config or TrainConfig()
    rank, world, device, started_group = distributed_setup(config.device)
    lock = FileLock(checkpoint_path, "checkpoint") if checkpoint_path and rank == 0 else contextlib.nullcontext()
    with lock:
        run = _Run(model, dataset, config, checkpoint_path, rank, world, device)
        result = run.fit(resume, on_progress if rank == 0 else None, stop_event)
    if started_group:
        dist.destroy_process_group()
    return result


@dataclass
class _Epoch:
    """How one epoch went: its summed step losses, the steps and samples it ran, and why it ended."""

    sums: dict = field(default_factory=dict)
    steps: int = 0
    seen: int = 0
    seconds: float = 0.0
    last: dict = field(default_factory=dict)  # the last step's losses
    complete: bool = False
    out_of_time: bool = False


class _Run:
    """One training run, in the steps `fit` takes: each method is one of them."""

    def __init__(self, model, dataset, config: TrainConfig, checkpoint_path, rank: int, world: int, device):
        torch.manual_seed(config.seed)
        if config.batch_size % world:
            raise ValueError(f"batch size {config.batch_size} does not split over {world} processes")
        self.model, self.dataset, self.config = model, dataset, config
        self.checkpoint_path, self.rank, self.world, self.device = checkpoint_path, rank, world, device
        self.X_train, self.X_val = split_data(dataset, config)
        model.to(device).train()
        self.optimisers = model.make_optimisers(config.lr)
        self.result = TrainResult(model=model, checkpoint_path=str(checkpoint_path) if checkpoint_path else None)
        self.epochs_without_gain = 0
        self.best_state: dict | None = None  # the best validation weights so far (set by resume or fit)
        self.run_seen, self.run_step_seconds = 0, 0.0  # for the run's mean throughput

    def fit(self, resume: bool, on_progress, stop_event) -> TrainResult:
        """Returns the result after training epoch by epoch until done, cancelled, out of time or patience."""
        config, result = self.config, self.result
        start_epoch = self.prepare(resume)
        for epoch in range(start_epoch, config.epochs):
            outcome = self.run_epoch(epoch, on_progress, stop_event)
            val = self.validate(outcome)
            out_of_patience = self.record(epoch, outcome, val, stop_event)
            if on_progress:
                on_progress(Progress(epoch + 1, config.epochs, outcome.steps, len(self.batches), outcome.last,
                                     result.samples_per_s, val))
            self.save()
            if result.cancelled or outcome.out_of_time or out_of_patience:
                break
        self.model.load_state_dict(self.best_state)  # early stopping keeps the best validation weights
        self.model.eval()
        result.training = self.training_record()
        return result

    def prepare(self, resume: bool) -> int:
        """Returns the epoch to start from, after resuming (if asked and the checkpoint exists), letting the kind
        prepare its training, and setting up the DDP wrapper, autocast and the batch sampler."""
        config = self.config
        start_epoch = self.resume() if resume and self.checkpoint_path and os.path.exists(self.checkpoint_path) else 0
        resumed = self.best_state is not None
        self.extra = self.model.prepare_training(self.X_train, self.device, resumed=resumed)
        if not resumed:
            self.best_state = copy.deepcopy(self.model.state_dict())
        self.net = wrap_for_ddp(self.model, config, self.device)
        self.step_settings = StepSettings(autocast_for(config.precision, self.device), config.grad_clip)
        self.sampler = DistributedSampler(range(len(self.X_train)), num_replicas=self.world, rank=self.rank,
                                          shuffle=True, seed=config.seed)
        self.batches = BatchSampler(self.sampler, config.batch_size // self.world, drop_last=True)
        self.started = time.perf_counter() - self.result.seconds
        return start_epoch

    def resume(self) -> int:
        """Returns the epochs the checkpoint already holds, after loading what it holds (see _resume)."""
        resumed = _resume(self.checkpoint_path, self.model, self.optimisers, self.dataset, self.config)
        self.epochs_without_gain, self.best_state = resumed.epochs_without_gain, resumed.best_state
        self.result.history, self.result.best_val_loss = resumed.history, resumed.best_val_loss
        self.result.seconds, self.result.epochs_run = resumed.seconds, resumed.epochs_done
        return resumed.epochs_done

    def run_epoch(self, epoch: int, on_progress, stop_event) -> _Epoch:
        """Returns how epoch `epoch` (0-based) went: a training step per batch, each at its scheduled learning
        rate, until the epoch ends, a stop is asked for or the time budget runs out."""
        config, steps_per_epoch = self.config, len(self.batches)
        self.sampler.set_epoch(epoch)
        outcome, epoch_start = _Epoch(), time.perf_counter()
        for step, indices in enumerate(self.batches):
            self.set_learning_rate((epoch * steps_per_epoch + step) / (config.epochs * steps_per_epoch))
            extra = None if self.extra is None else self.extra[indices]
            x = self.X_train[indices].to(self.device, non_blocking=True)
            losses = self.model.training_step(self.net, x, self.optimisers, self.step_settings, extra)
            self.check_losses(losses, epoch, step)
            outcome.steps, outcome.seen, outcome.last = step + 1, outcome.seen + len(indices) * self.world, losses
            for k, v in losses.items():
                outcome.sums[k] = outcome.sums.get(k, 0.0) + v
            if on_progress:
                speed = outcome.seen / max(time.perf_counter() - epoch_start, 1e-9)
                on_progress(Progress(epoch + 1, config.epochs, step + 1, steps_per_epoch, losses, speed))
            outcome.out_of_time = bool(config.max_seconds) and time.perf_counter() - self.started > config.max_seconds
            if stop_requested(stop_event) or outcome.out_of_time:
                break
        outcome.seconds = time.perf_counter() - epoch_start
        outcome.complete = outcome.steps == steps_per_epoch  # a cancel or the time budget can end an epoch early
        return outcome

    def set_learning_rate(self, done: float) -> None:
        """Sets every optimiser's learning rate for a fraction `done` of the run (or of its time budget)."""
        if self.config.max_seconds:
            done = max(done, (time.perf_counter() - self.started) / self.config.max_seconds)
        for optimiser in self.optimisers.values():
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(self.config, done)

    def check_losses(self, losses: dict[str, float], epoch: int, step: int) -> None:
        """Raises TrainingDiverged if a loss is NaN, infinite or above config.max_loss."""
        config, model = self.config, self.model
        bad = {k: v for k, v in losses.items() if not math.isfinite(v) or abs(v) > config.max_loss}
        if bad:
            raise TrainingDiverged(
                f"training {model.kind}/{model.backbone} diverged at epoch {epoch + 1}, step {step + 1}: "
                f"{', '.join(f'{k}={v:.4g}' for k, v in bad.items())} (limit {config.max_loss}); "
                f"try a lower learning rate (now {config.lr})"
                + (f"; the last good checkpoint is kept at {self.checkpoint_path}" if self.checkpoint_path else ""))

    def validate(self, outcome: _Epoch) -> float:
        """Returns the epoch's validation loss (the mean training loss if nothing is held out)."""
        if len(self.X_val):
            return validation_loss(self.model, self.X_val)
        return outcome.sums.get("loss", 0.0) / max(outcome.steps, 1)

    def record(self, epoch: int, outcome: _Epoch, val: float, stop_event) -> bool:
        """Records the epoch in the result (history, best weights, timing); returns whether patience ran out."""
        result, config = self.result, self.config
        result.seconds = time.perf_counter() - self.started
        result.cancelled = stop_requested(stop_event)
        self.run_seen, self.run_step_seconds = self.run_seen + outcome.seen, self.run_step_seconds + outcome.seconds
        result.samples_per_s = self.run_seen / max(self.run_step_seconds, 1e-9)  # this run's mean, validation excluded
        record = {"epoch": epoch + 1, **{k: v / max(outcome.steps, 1) for k, v in outcome.sums.items()},
                  "val_loss": val, "seconds": result.seconds}
        if not outcome.complete:
            record.update(partial=True, steps=outcome.steps)
        result.history.append(record)
        result.epochs_run = epoch + 1 if outcome.complete else epoch
        if val < result.best_val_loss:
            result.best_val_loss, self.best_state, self.epochs_without_gain = val, copy.deepcopy(
                self.model.state_dict()), 0
        else:
            self.epochs_without_gain += 1
        out_of_patience = config.patience is not None and self.epochs_without_gain >= config.patience
        result.stopped_early = outcome.out_of_time or (out_of_patience and not result.cancelled)
        return out_of_patience

    def training_record(self) -> dict:
        """Returns the run's training record, as its checkpoints hold it (the learning-rate schedule is a
        function of the epoch, step and seconds recorded here)."""
        result = self.result
        return {"config": asdict(self.config), "epochs_done": result.epochs_run, "history": result.history,
                "best_val_loss": result.best_val_loss, "epochs_without_gain": self.epochs_without_gain,
                "seconds": result.seconds, "samples_per_s": result.samples_per_s, "world_size": self.world,
                "backend": dist.get_backend() if dist.is_initialized() else None,
                "device": str(self.device), "cancelled": result.cancelled, "stopped_early": result.stopped_early}

    def save(self) -> None:
        """Writes the checkpoint (rank 0, if the run has a path): best weights and what resuming needs."""
        if not self.checkpoint_path or self.rank != 0:
            return
        state, groups = _resume_tensors(self.model, self.optimisers)
        save_model(self.model, self.checkpoint_path,
                   {"dataset": _describe(self.dataset), "training": {**self.training_record(), "optimizers": groups}},
                   extra_tensors=state, weights=self.best_state)
