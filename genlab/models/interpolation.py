"""Paths through latent space: the one interpolation the models, the explorer and the evaluation share."""

import torch
import torch.nn.functional as F

MODES = ("linear", "spherical")


def latent_path(z_a: torch.Tensor, z_b: torch.Tensor, steps: int, mode: str = "linear") -> torch.Tensor:
    """Returns `steps` latents on the path from z_a to z_b, both ends included.

    z_a, z_b: (D,) -> (steps, D); or P pairs (P, D) -> (P, steps, D). mode: "linear" (a straight
    line) or "spherical" (slerp, which keeps the norm of prior samples).
    """
    if mode not in MODES:
        raise ValueError(f"interpolation mode must be one of {MODES}, not {mode!r}")
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, not {steps}")
    t = torch.linspace(0.0, 1.0, steps, dtype=z_a.dtype, device=z_a.device)
    if mode == "linear":
        return torch.lerp(z_a[..., None, :], z_b[..., None, :], t[:, None])
    return slerp(z_a, z_b, t)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Returns spherical interpolations between vectors a and b, (..., D) each, at fractions t (T,): (..., T, D).

    Nearly parallel vectors (an angle under 1e-4 rad) get the linear path, the same curve.
    """
    omega = torch.arccos(F.cosine_similarity(a, b, dim=-1).clamp(-1.0, 1.0))[..., None, None]  # (..., 1, 1)
    a, b, t = a[..., None, :], b[..., None, :], t[:, None]
    s = torch.sin(omega)
    spherical = (torch.sin((1 - t) * omega) / s) * a + (torch.sin(t * omega) / s) * b
    return torch.where(omega.abs() < 1e-4, torch.lerp(a, b, t), spherical)
