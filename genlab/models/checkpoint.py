"""Checkpoints: safetensors files holding tensors plus one JSON metadata string; never pickled code.

File layout: the model's state_dict tensors (the best weights so far), code samplers, and, in
checkpoints written during training, what resuming needs under "resume/..." (the current weights,
optimiser state, RNG state); metadata {"genlab": JSON} with format_version, kind, backbone,
latent_dim, config, dataset (describe(), incl. fingerprint), metrics and training info.
"""

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from genlab import paths
from genlab.files import atomic_write
from genlab.models.density import MIXTURE_PREFIX, CodeDensity
from genlab.models.density import PREFIX as DENSITY_PREFIX
from genlab.models.second_stage import PREFIX as SECOND_STAGE_PREFIX
from genlab.models.second_stage import SecondStage

FORMAT = "genlab-checkpoint"
FORMAT_VERSION = 1
RESUME_PREFIX = "resume/"  # training state (current weights, optimisers, RNG): only resuming reads it
LEGACY_OPTIMIZER_PREFIX = "optimizer/"  # where training checkpoints before RESUME_PREFIX kept optimiser state
SAMPLER_PREFIXES = (DENSITY_PREFIX, MIXTURE_PREFIX, SECOND_STAGE_PREFIX)


def atomic_save(tensors: dict, path: Path, metadata: dict[str, str]) -> None:
    """Writes a safetensors file via a temporary file and a rename, so a crash never leaves half a file."""
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def save_model(model, path, metadata: dict | None = None, extra_tensors: dict | None = None,
               weights: dict | None = None) -> Path:
    """Returns the path written: `model`'s weights and JSON metadata as a safetensors checkpoint.

    metadata: JSON-able extras (dataset describe(), metrics, training info, ...); the model's
    kind, backbone, latent_dim and config are always recorded. extra_tensors: e.g. resume state.
    weights: the state_dict to store (default: the model's own, e.g. the best weights of a run).
    """
    info = {**getattr(model, "metadata", {}), **(metadata or {})}
    info.update(format=FORMAT, format_version=FORMAT_VERSION, kind=model.kind, backbone=model.backbone,
                latent_dim=model.latent_dim, config=model.config)
    if hasattr(model, "reconstruction_method"):
        info["reconstruction_method"] = model.reconstruction_method
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in (weights or model.state_dict()).items()}
    tensors.update(sampler_tensors(model))
    tensors.update({k: v.detach().to("cpu").contiguous() for k, v in (extra_tensors or {}).items()})
    atomic_save(tensors, path, {"genlab": json.dumps(info)})
    return Path(path)


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], dict]:
    """Returns (tensors, metadata) of a genlab checkpoint; ValueError naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("genlab")
        tensors = load_file(str(path))
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        raise ValueError(
            f"{path} is not a readable safetensors checkpoint (truncated or foreign file?): {error}"
        ) from None
    if raw is None:
        raise ValueError(f"{path} is a safetensors file but not a genlab checkpoint (no 'genlab' metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} has corrupt genlab metadata: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a genlab checkpoint (metadata format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format version {meta.get('format_version')!r}; "
                         f"this genlab reads version {FORMAT_VERSION}")
    return tensors, meta


def sampler_tensors(model) -> dict[str, torch.Tensor]:
    """Returns the tensors of the model's fitted code samplers (density, mixture, second stage), named by their
    prefixes."""
    density, mixture, second = (getattr(model, name, None) for name in ("code_density", "code_mixture", "second_stage"))
    tensors = {} if density is None else density.tensors(DENSITY_PREFIX)
    tensors |= {} if mixture is None else mixture.tensors(MIXTURE_PREFIX)
    return tensors | ({} if second is None else second.tensors())


def write_samplers(path, model) -> None:
    """Stores the model's fitted code samplers in its existing checkpoint (replacing any there), keeping all else."""
    tensors, meta = read_checkpoint(path)
    tensors = {k: v for k, v in tensors.items() if not k.startswith(SAMPLER_PREFIXES)} | sampler_tensors(model)
    atomic_save(tensors, path, {"genlab": json.dumps(meta)})


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
    model.metadata = meta
    return model.eval()


def shipped_models() -> list[dict]:
    """Returns the entries of weights/manifest.json (name, kind, backbone, path, metrics, ...); [] if none."""
    return paths.shipped_manifest()
