"""The output curve: a decoder's voxel values mapped, by quantile, onto the values real training digits have.

    curve = fit_output_curve(decoded, real)   # decoded: the model's reconstructions of training grids
    grids = apply_curve(curve, model.decode(z))   # what model.render() does

A decoder trained with BCE gives each voxel its expected value: a haze of small values around a digit
and softened strokes, where a real digit's grid is mostly exact zeros and bright strokes. The curve
is the monotone map that gives the decoder's outputs the value distribution of real training grids
(histogram matching): a decoded value at the q-th quantile of the decoder's outputs becomes the q-th
quantile of the real voxels. KNOTS values, a piecewise-linear map of [0, 1] sampled at evenly spaced
decoded values, fitted at the end of training (genlab.models.fit_samplers) from training digits only;
no classifier is involved. model.render() applies it to what is shown and judged as generated grids
(samples, reconstructions judged as samples, interpolations); decode() and reconstruct() stay the
probabilities the paper's BCE and MSE judge.
"""

import numpy as np
import torch

PREFIX = "output_curve"  # its tensor's name in a checkpoint
KNOTS = 65
FIT_GRIDS = 2000  # training grids fit_samplers fits the curve on (a seeded pick)


def fit_output_curve(decoded: np.ndarray, real: np.ndarray, knots: int = KNOTS) -> torch.Tensor:
    """Returns the curve (knots,) float32: at decoded value k / (knots - 1), the real voxel value of the same
    quantile, given decoded grids and real grids (any shapes, values in [0, 1]); monotone, in [0, 1]."""
    decoded, real = np.sort(np.ravel(decoded)), np.sort(np.ravel(real))
    if not len(decoded) or not len(real):
        raise ValueError("the output curve needs decoded and real voxel values; got none")
    at = np.linspace(0.0, 1.0, knots)
    share = np.searchsorted(decoded, at, side="right") / len(decoded)  # the decoder's quantile of each knot
    values = np.quantile(real, np.clip(share, 0.0, 1.0))
    return torch.from_numpy(np.clip(np.maximum.accumulate(values), 0.0, 1.0).astype(np.float32))


@torch.no_grad()
def fit_to_model(model, X, codes: torch.Tensor, n: int = FIT_GRIDS, seed: int = 0) -> torch.Tensor:
    """Returns the output curve of a model, fitted on n training grids of X (N, 16, 16, 16) picked by seed, decoded
    from their codes (N, latent_dim; density.encode_all of X)."""
    from genlab.models.density import _in_eval_mode

    pick = torch.from_numpy(np.random.default_rng(seed).permutation(len(X))[:n])
    decoded = _in_eval_mode(model, model.decode, codes[pick].split(500))
    return fit_output_curve(decoded.numpy(), np.asarray(X)[pick.numpy()])


def apply_curve(curve: torch.Tensor, grids: torch.Tensor) -> torch.Tensor:
    """Returns grids (any shape, values in [0, 1]) mapped through the curve, piecewise linearly, same dtype."""
    x = grids.float().clamp(0, 1) * (len(curve) - 1)
    left = x.floor().long().clamp(max=len(curve) - 2)
    weight = x - left
    curve = curve.to(grids.device)
    return (curve[left] * (1 - weight) + curve[left + 1] * weight).to(grids.dtype)


def curve_from_tensors(tensors: dict, where: str = "checkpoint") -> torch.Tensor | None:
    """Returns the output curve stored in a checkpoint's tensors (None if it has none); ValueError naming `where`
    unless it is KNOTS finite, non-decreasing values in [0, 1]."""
    curve = tensors.get(PREFIX)
    if curve is None:
        return None
    curve = curve.float()
    if curve.shape != (KNOTS,) or not torch.isfinite(curve).all() or curve.min() < 0 or curve.max() > 1 \
            or (curve.diff() < 0).any():
        raise ValueError(f"{where}: its output curve must be {KNOTS} non-decreasing values in 0..1, "
                         f"got shape {tuple(curve.shape)}")
    return curve
