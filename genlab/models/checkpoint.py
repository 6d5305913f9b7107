"""Checkpoints of the 3D models, written and read by genlab.checkpoint_file (tensors and a JSON header).

File layout: the model's state_dict tensors (the best weights so far), code samplers, and, in
checkpoints written during training, what resuming needs under "resume/..." (the current weights,
optimiser state, RNG state); a header with the format and its version, kind, backbone,
latent_dim, config, dataset (describe(), incl. fingerprint), metrics and training info.
"""

from pathlib import Path

import torch

from genlab import checkpoint_file, paths
from genlab.models.density import MIXTURE_PREFIX, CodeDensity
from genlab.models.density import PREFIX as DENSITY_PREFIX
from genlab.models.output_curve import PREFIX as CURVE_PREFIX
from genlab.models.output_curve import curve_from_tensors
from genlab.models.second_stage import PREFIX as SECOND_STAGE_PREFIX
from genlab.models.second_stage import SecondStage

FORMAT = checkpoint_file.MODEL
RESUME_PREFIX = "resume/"  # training state (current weights, optimisers, RNG): only resuming reads it
LEGACY_OPTIMIZER_PREFIX = "optimizer/"  # where training checkpoints before RESUME_PREFIX kept optimiser state
SAMPLER_PREFIXES = (DENSITY_PREFIX, MIXTURE_PREFIX, SECOND_STAGE_PREFIX, CURVE_PREFIX)  # fitted after training


def save_model(model, path, metadata: dict | None = None, extra_tensors: dict | None = None,
               weights: dict | None = None) -> Path:
    """Returns the path written: `model`'s weights and JSON metadata as a safetensors checkpoint.

    metadata: JSON-able extras (dataset describe(), metrics, training info, ...); the model's
    kind, backbone, latent_dim and config are always recorded. extra_tensors: e.g. resume state.
    weights: the state_dict to store (default: the model's own, e.g. the best weights of a run).
    """
    info = {**getattr(model, "metadata", {}), **(metadata or {})}
    info.update(kind=model.kind, backbone=model.backbone, latent_dim=model.latent_dim, config=model.config)
    if hasattr(model, "reconstruction_method"):
        info["reconstruction_method"] = model.reconstruction_method
    tensors = {**(weights or model.state_dict()), **sampler_tensors(model), **(extra_tensors or {})}
    return checkpoint_file.save(path, tensors, FORMAT, info)


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], dict]:
    """Returns (tensors, metadata) of a genlab checkpoint; ValueError naming the file if it is not one."""
    return checkpoint_file.read(path, FORMAT)


def read_checkpoint_info(path) -> dict:
    """Returns a genlab checkpoint's metadata without reading its tensors; errors as read_checkpoint."""
    return checkpoint_file.read_info(path, FORMAT)


def sampler_tensors(model) -> dict[str, torch.Tensor]:
    """Returns the tensors of what was fitted after training (code density, mixture, second stage, output curve),
    named by their prefixes."""
    density, mixture, second = (getattr(model, name, None) for name in ("code_density", "code_mixture", "second_stage"))
    tensors = {} if density is None else density.tensors(DENSITY_PREFIX)
    tensors |= {} if mixture is None else mixture.tensors(MIXTURE_PREFIX)
    tensors |= {} if second is None else second.tensors()
    return tensors | ({} if model.output_curve is None else {CURVE_PREFIX: model.output_curve})


def write_samplers(path, model) -> None:
    """Stores what was fitted after training (sampler_tensors) in the model's existing checkpoint (replacing any
    there), keeping all else."""
    tensors, meta = read_checkpoint(path)
    tensors = {k: v for k, v in tensors.items() if not k.startswith(SAMPLER_PREFIXES)} | sampler_tensors(model)
    checkpoint_file.save(path, tensors, FORMAT, meta)


def store_half(path) -> None:
    """Rewrites a finished checkpoint with its network weights in float16 (half the bytes; load_model reads them
    back into float32 networks), keeping its code samplers and metadata as they are. A tensor beyond float16's
    range (a batch-norm running variance of millions, say) stays in float32. ValueError naming the file for a
    checkpoint that holds resume state or NaN or infinite weights."""
    tensors, meta = read_checkpoint(path)
    weights, resume = split_tensors(tensors)
    if resume:
        raise ValueError(f"{path}: holds training state to resume from; store only finished checkpoints in float16")
    check_finite(weights, path)
    halved = {name: value.half() for name, value in weights.items() if value.dtype == torch.float32}
    halved = {name: value for name, value in halved.items() if torch.isfinite(value).all()}
    checkpoint_file.save(path, tensors | halved, FORMAT, meta)


def split_tensors(tensors: dict) -> tuple[dict, dict]:
    """Returns (model weights, resume state) of a checkpoint's tensors (code samplers are neither).

    The resume state's names lose RESUME_PREFIX: "model/..." (current weights), "optimizer/...", "rng/...".
    """
    weights = {k: v for k, v in tensors.items()
               if not k.startswith((RESUME_PREFIX, LEGACY_OPTIMIZER_PREFIX, *SAMPLER_PREFIXES))}
    resume = {k[len(RESUME_PREFIX):]: v for k, v in tensors.items() if k.startswith(RESUME_PREFIX)}
    return weights, resume


def check_finite(weights: dict, where) -> None:
    """Raises ValueError naming `where` and the first tensors that hold NaN or infinite values."""
    bad = [name for name, value in weights.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ValueError(f"{where}: weights contain NaN or infinite values in {', '.join(bad[:3])}{more}")


def load_model(path):
    """Returns the model stored in a checkpoint: eval mode, on CPU, with `.metadata` (dict) attached.

    Raises ValueError naming the file for foreign, truncated or mismatched checkpoints.
    """
    from genlab.models import build_model  # here to avoid an import cycle

    tensors, meta = read_checkpoint(path)
    try:
        model = build_model(meta["kind"], meta["backbone"], **meta["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: cannot rebuild its model from the metadata: {error}") from None
    weights, _ = split_tensors(tensors)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ValueError(f"{path}: weights do not match a {meta['kind']}/{meta['backbone']} model "
                         f"with config {meta.get('config')}: {' '.join(first[:3])}") from None
    check_finite(weights, path)
    model.code_density = CodeDensity.from_tensors(tensors, model.latent_dim, where=str(path))
    model.code_mixture = CodeDensity.from_tensors(tensors, model.latent_dim, where=str(path), prefix=MIXTURE_PREFIX)
    model.second_stage = SecondStage.from_tensors(tensors, model.latent_dim, where=str(path))
    model.output_curve = curve_from_tensors(tensors, where=str(path))
    model.metadata = meta
    return model.eval()


def shipped_models() -> list[dict]:
    """Returns the entries of weights/manifest.json (name, kind, backbone, path, metrics, ...); [] if none."""
    return paths.shipped_manifest()
