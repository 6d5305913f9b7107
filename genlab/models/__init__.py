"""genlab.models: AE, VAE and GAN over FCN, CNN+MLP, LSTM and GRU backbones, and their checkpoints.

    from genlab.models import build_model, save_model, load_model
    model = build_model("vae", "gru", latent_dim=32)
    z = model.encode(x)            # x: (B, 16, 16, 16) in [0, 1] -> (B, 32)
    grids = model.decode(z)        # -> (B, 16, 16, 16) probabilities (what BCE judges)
    shown = model.generate(z)      # -> the same through the output curve fitted with the samplers (as sample() gives)
    fit_samplers(model, X_train, y_train)   # after training: per-digit (refined) mixture, density, a VAE's 2nd stage
    model.sample(8); model.sample(8, digit=3)
"""

from genlab import names
from genlab.models.backbones import BACKBONES as _BACKBONES
from genlab.models.checkpoint import load_model, save_model, shipped_models
from genlab.models.density import (
    checked_labels,
    cycle_fidelity,
    encode_all,
    fit_density_to_codes,
    fit_mixture_to_codes,
)
from genlab.models.kinds import KIND_CLASSES, GenerativeModel, Losses
from genlab.models.output_curve import fit_to_model
from genlab.models.second_stage import STEPS as SECOND_STAGE_STEPS
from genlab.models.second_stage import fit_second_stage

KINDS = tuple(names.KINDS)  # ("ae", "vae", "gan")
DEFAULT_LATENT_DIM = 32


def __getattr__(attribute: str):
    # BACKBONES is read when asked for, so a backbone registered later (register_backbone) is in it.
    if attribute == "BACKBONES":
        return tuple(names.BACKBONES)  # ("fcn", "cnn_mlp", "lstm", "gru", ...)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def build_model(kind: str, backbone: str, latent_dim: int = DEFAULT_LATENT_DIM, **config) -> GenerativeModel:
    """Returns a new model of `kind` on `backbone`; config overrides the backbone's sizes and the kind's loss weights.

    model.config records every option (defaults filled in), so build_model(kind, backbone, **model.config)
    rebuilds the same architecture.
    """
    if kind not in KIND_CLASSES:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {KINDS}")
    if backbone not in _BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {tuple(names.BACKBONES)}")
    cls, net = KIND_CLASSES[kind], _BACKBONES[backbone]
    config = {k: v for k, v in config.items() if k != "latent_dim"}
    unknown = set(config) - set(net.defaults) - set(cls.defaults)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for {kind}/{backbone}; "
                         f"known: {sorted({*net.defaults, *cls.defaults})}")
    latent_dim = int(latent_dim)
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, not {latent_dim}")
    backbone_options = {k: config.get(k, v) for k, v in net.defaults.items()}
    kind_options = {k: config.get(k, v) for k, v in cls.defaults.items()}
    full = {"latent_dim": latent_dim, **backbone_options, **kind_options}
    return cls(backbone, latent_dim, full, backbone_options)


def fit_samplers(model: GenerativeModel, X, y, second_stage_steps: int = SECOND_STAGE_STEPS, progress=None) -> None:
    """Fits the model's code samplers to training digits X (N, 16, 16, 16) with labels y (N,): the
    per-digit mixture and its components' fidelity (the "refined" mixture, sample()'s default), the
    per-digit density, the output curve its samples are rendered with (genlab.models.output_curve),
    and for a VAE its second stage (second_stage_steps=0 leaves that out). progress(step, steps), if
    given, hears how the second stage advances."""
    y = checked_labels(X, y)
    codes = encode_all(model, X)  # once for both
    model.code_density = fit_density_to_codes(codes, y)
    model.code_mixture = fit_mixture_to_codes(codes, y)
    model.code_mixture.fidelity = cycle_fidelity(model, model.code_mixture)
    model.output_curve = fit_to_model(model, X, codes)
    if model.kind == "vae" and second_stage_steps:
        model.second_stage = fit_second_stage(model, X, steps=second_stage_steps, progress=progress)


__all__ = ["KINDS", "BACKBONES", "GenerativeModel", "Losses", "build_model", "fit_samplers", "save_model", "load_model",
           "shipped_models"]
