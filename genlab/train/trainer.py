"""The trainer: one loop for AE and VAE, a GAN step of its own, on CPU, CUDA, MPS or several processes.

Single process (CPU, or a GPU picked automatically):

    from genlab.data import load_dataset
    from genlab.models import build_model
    from genlab.train import TrainConfig, train
    result = train(build_model("vae", "gru"), load_dataset("mnist"), TrainConfig(epochs=10))

Several GPUs or machines, with PyTorch's DistributedDataParallel (NCCL on GPUs, Gloo on CPU):

    torchrun --nproc_per_node=4 -m genlab train --kind vae --backbone gru

`torchrun` sets RANK / WORLD_SIZE / LOCAL_RANK; each process then reads its share of every global
batch (DistributedSampler), gradients are averaged, and only rank 0 reports progress and saves.
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
from genlab.train.config import TrainConfig

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite or exploded; the last good checkpoint is kept."""


@dataclass
class Progress:
    """What the trainer reports to `on_progress` after every step (val_loss set at the end of an epoch)."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    losses: dict[str, float]
    samples_per_s: float
    val_loss: float | None = None


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
    """Returns (rank, world_size, device, started_here); joins the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1, resolve_device(device_name), False
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    started = not dist.is_initialized()
    if started:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device, started


def make_optimizers(model, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    """Returns the named Adam optimisers: {"model"} for AE/VAE, {"generator", "discriminator"} for a GAN."""
    if model.kind == "gan":  # WGAN-GP's Adam betas (0.5, 0.9) keep the two players from overshooting
        return {"generator": torch.optim.Adam(model.generator_parameters(), config.lr, betas=(0.5, 0.9)),
                "discriminator": torch.optim.Adam(model.discriminator_parameters(), config.lr, betas=(0.5, 0.9))}
    return {"model": torch.optim.Adam(model.parameters(), config.lr)}


def _update(optimizer, loss, params, grad_clip) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()


def autoencoder_step(net, optimizers, x, autocast, config) -> dict[str, float]:
    """Returns the losses of one AE/VAE step on x (B, 16, 16, 16) after updating the weights."""
    with autocast:
        losses = net(x)
    opt = optimizers["model"]
    _update(opt, losses.total, [p for g in opt.param_groups for p in g["params"]], config.grad_clip)
    return losses.floats()


def gan_step(net, optimizers, x, autocast, config, codes=None) -> dict[str, float]:
    """Returns the losses of one GAN step on real x (B, 16, 16, 16): n_critic critic updates, then the generator's.

    codes: x's codes (B, latent_dim) if already known (a fixed autoencoder's, computed once per run).
    """
    d_opt, g_opt = optimizers["discriminator"], optimizers["generator"]
    model = getattr(net, "module", net)  # under DistributedDataParallel
    if codes is None:
        with torch.no_grad(), autocast:
            codes = model.codes(x).float()  # the critic's real samples, shared by its steps
    for _ in range(model.config["n_critic"]):
        with autocast:
            d_losses = net(codes, part="critic")
        _update(d_opt, d_losses.total, d_opt.param_groups[0]["params"], config.grad_clip)
    with autocast:
        g_losses = net(x, part="generator", codes=codes)
    _update(g_opt, g_losses.total, g_opt.param_groups[0]["params"], config.grad_clip)
    d = d_losses.floats()
    return {**g_losses.floats(), "d_loss": d.pop("loss"), **d}


@torch.no_grad()
def prepare_gan(model, X: torch.Tensor, device, batch_size: int = 500, set_scale: bool = True) -> torch.Tensor | None:
    """Sets a GAN's code standardisation from its encoder's codes of X (N, 16, 16, 16); returns the
    standardised codes (N, latent_dim) if its autoencoder stays fixed (then they are computed once
    instead of every step: the encoder is most of a step's cost), else None.

    set_scale=False keeps the standardisation the model holds (a resumed run's, tracked while training)."""
    if model.kind != "gan" or (model.config["ae_weight"] and not set_scale):
        return None  # (an encoder pass in training mode would also move its batch-norm statistics)
    # Codes as training will see them: a fixed autoencoder is in eval mode, one that trains is not.
    raw = torch.cat([model.encoder(xb.to(device)).float() for xb in X.split(batch_size)])
    model.set_code_scale(raw)  # a fixed autoencoder's comes out the same on resume
    return None if model.config["ae_weight"] else model.standardise(raw)


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

    on_progress(Progress) is called after every step (rank 0 only); stop_event (threading.Event)
    cancels after the current step. checkpoint_path: written atomically after every epoch (the
    best weights as the model's, plus what resuming needs: current weights, optimiser and RNG
    state, history) while `checkpoint_path`.lock keeps other runs off it (FileLocked if one is
    there); with resume=True an existing one is continued, and ends as an uninterrupted run would.
    A cancelled epoch is recorded as partial and trained again in full on resume. Raises
    TrainingDiverged on a NaN or exploding loss, leaving the last good checkpoint in place.
    """
    config = config or TrainConfig()
    rank, world, device, started_group = distributed_setup(config.device)
    lock = FileLock(checkpoint_path, "checkpoint") if checkpoint_path and rank == 0 else contextlib.nullcontext()
    with lock:
        result = _train(model, dataset, config, on_progress, stop_event, checkpoint_path, resume,
                        rank, world, device)
    if started_group:
        dist.destroy_process_group()
    return result


def _train(model, dataset, config, on_progress, stop_event, checkpoint_path, resume, rank, world, device):
    torch.manual_seed(config.seed)
    if config.batch_size % world:
        raise ValueError(f"batch size {config.batch_size} does not split over {world} processes")

    # Validation split: a seeded, fixed share of the training digits.
    X_all = torch.as_tensor(np.asarray(dataset.X_train, dtype=np.float32))
    order = torch.randperm(len(X_all), generator=torch.Generator().manual_seed(config.seed))
    n_val = int(len(X_all) * config.val_fraction)
    X_val, X_train = X_all[order[:n_val]], X_all[order[n_val:]]
    if len(X_train) < config.batch_size:
        raise ValueError(f"{len(X_train)} training samples are fewer than one batch of {config.batch_size}")

    model.to(device).train()
    optimizers = make_optimizers(model, config)
    result = TrainResult(model=model, checkpoint_path=str(checkpoint_path) if checkpoint_path else None)
    start_epoch, epochs_without_gain, resumed = 0, 0, None
    if resume and checkpoint_path and os.path.exists(checkpoint_path):
        resumed = _resume(checkpoint_path, model, optimizers, dataset, config)
        start_epoch, epochs_without_gain = resumed.epochs_done, resumed.epochs_without_gain
        result.history, result.best_val_loss, result.seconds = resumed.history, resumed.best_val_loss, resumed.seconds
        result.epochs_run = start_epoch
    codes = prepare_gan(model, X_train, device, set_scale=resumed is None)
    best_state = resumed.best_state if resumed else copy.deepcopy(model.state_dict())

    net = torch.compile(model) if config.compile else model
    if world > 1:  # a GAN's discriminator step leaves the generator unused: DDP must look for that
        if device.type == "cuda":  # batch-norm statistics over the global batch (SyncBatchNorm is GPU-only)
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        net = DistributedDataParallel(net, find_unused_parameters=model.kind == "gan")
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())
    step_fn = gan_step if model.kind == "gan" else autoencoder_step

    sampler = DistributedSampler(range(len(X_train)), num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    batches = BatchSampler(sampler, config.batch_size // world, drop_last=True)
    steps_per_epoch = len(batches)
    total_steps = config.epochs * steps_per_epoch
    started = time.perf_counter() - result.seconds
    run_seen, run_step_seconds = 0, 0.0  # for the run's mean throughput

    def training_record() -> dict:
        # The learning-rate schedule is a function of the epoch, step and seconds recorded here.
        return {"config": asdict(config), "epochs_done": result.epochs_run, "history": result.history,
                "best_val_loss": result.best_val_loss, "epochs_without_gain": epochs_without_gain,
                "seconds": result.seconds, "samples_per_s": result.samples_per_s, "world_size": world,
                "device": str(device), "cancelled": result.cancelled, "stopped_early": result.stopped_early}

    def save() -> None:
        if not checkpoint_path or rank != 0:
            return
        state, groups = _resume_tensors(model, optimizers)
        save_model(model, checkpoint_path, {"dataset": _describe(dataset),
                                            "training": {**training_record(), "optimizers": groups}},
                   extra_tensors=state, weights=best_state)

    for epoch in range(start_epoch, config.epochs):
        sampler.set_epoch(epoch)
        epoch_start, sums, seen = time.perf_counter(), {}, 0
        for step, indices in enumerate(batches):
            # Learning rate: cosine from lr to lr * lr_min_ratio over the run (or over the time budget).
            done = (epoch * steps_per_epoch + step) / total_steps
            if config.max_seconds:
                done = max(done, (time.perf_counter() - started) / config.max_seconds)
            scale = config.lr_min_ratio + (1 - config.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
            for opt in optimizers.values():
                for group in opt.param_groups:
                    group["lr"] = config.lr * scale

            given = {} if codes is None else {"codes": codes[indices]}  # a fixed autoencoder's, computed once
            losses = step_fn(net, optimizers, X_train[indices].to(device, non_blocking=True), autocast, config, **given)
            bad = {k: v for k, v in losses.items() if not math.isfinite(v) or abs(v) > config.max_loss}
            if bad:
                raise TrainingDiverged(
                    f"training {model.kind}/{model.backbone} diverged at epoch {epoch + 1}, step {step + 1}: "
                    f"{', '.join(f'{k}={v:.4g}' for k, v in bad.items())} (limit {config.max_loss}); "
                    f"try a lower learning rate (now {config.lr})"
                    + (f"; the last good checkpoint is kept at {checkpoint_path}" if checkpoint_path else ""))
            seen += len(indices) * world
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            speed = seen / max(time.perf_counter() - epoch_start, 1e-9)
            if on_progress and rank == 0:
                on_progress(Progress(epoch + 1, config.epochs, step + 1, steps_per_epoch, losses, speed))
            out_of_time = config.max_seconds and time.perf_counter() - started > config.max_seconds
            if (stop_event is not None and stop_event.is_set()) or out_of_time:
                break
        result.seconds = time.perf_counter() - started
        result.cancelled = stop_event is not None and stop_event.is_set()
        complete = step + 1 == steps_per_epoch  # a cancel or the time budget can end an epoch early

        run_seen, run_step_seconds = run_seen + seen, run_step_seconds + time.perf_counter() - epoch_start
        result.samples_per_s = run_seen / max(run_step_seconds, 1e-9)  # this run's mean, validation excluded
        val = validation_loss(model, X_val) if len(X_val) else sums.get("loss", 0.0) / max(step + 1, 1)
        record = {"epoch": epoch + 1, **{k: v / (step + 1) for k, v in sums.items()},
                  "val_loss": val, "seconds": result.seconds}
        if not complete:
            record.update(partial=True, steps=step + 1)
        result.history.append(record)
        result.epochs_run = epoch + 1 if complete else epoch
        if val < result.best_val_loss:
            result.best_val_loss, best_state, epochs_without_gain = val, copy.deepcopy(model.state_dict()), 0
        else:
            epochs_without_gain += 1
        out_of_patience = config.patience is not None and epochs_without_gain >= config.patience
        result.stopped_early = bool(out_of_time) or (out_of_patience and not result.cancelled)
        if on_progress and rank == 0:
            on_progress(Progress(epoch + 1, config.epochs, step + 1, steps_per_epoch, losses,
                                 result.samples_per_s, val))
        save()
        if result.cancelled or out_of_time or out_of_patience:
            break

    model.load_state_dict(best_state)  # early stopping keeps the best validation weights
    model.eval()
    result.training = training_record()
    return result
