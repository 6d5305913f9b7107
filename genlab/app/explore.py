"""Latent-space tools for the app's explorer: decode, rank dimensions, interpolate, slider ranges.

All functions take a genlab model (see genlab.models) and numpy arrays, and return numpy.
"""

import json

import numpy as np
import torch

from genlab.models import interpolation
from genlab.models.interpolation import latent_path

INTERPOLATION_MODES = interpolation.MODES


@torch.no_grad()
def _batch_or_one(network, values, one_ndim: int) -> np.ndarray:
    """Returns network(values) as numpy for a batch, or for one item (values.ndim == one_ndim)."""
    x = torch.as_tensor(np.array(values, dtype=np.float32))   # a copy: values may be a read-only cached array
    one = x.ndim == one_ndim
    out = network(x[None] if one else x).numpy()
    return out[0] if one else out


def decode(model, z, curve: bool = True) -> np.ndarray:
    """Returns the grids (B, 16, 16, 16) decoded from latents z (B, latent_dim), or (16, 16, 16) from (latent_dim,),
    as samples are shown (model.generate: through the model's output curve, where it has one); curve=False: the
    decoder's voxel probabilities (model.decode)."""
    return _batch_or_one(model.generate if curve else model.decode, z, 1)


def encode(model, grids) -> np.ndarray:
    """Returns latents (B, latent_dim) for voxel grids (B, 16, 16, 16), or (latent_dim,) for one grid."""
    return _batch_or_one(model.encode, grids, 3)


@torch.no_grad()
def prior_samples(model, n: int, seed: int = 0) -> np.ndarray:
    """Returns n latents (n, latent_dim) drawn from the model's prior N(0, I), deterministic by seed."""
    return model.prior(n, generator=torch.Generator().manual_seed(seed)).numpy()


def rank_dimensions(model, z, step: float = 1.0) -> np.ndarray:
    """Returns the latent dimensions ordered by influence, most influential first: int (latent_dim,).

    Influence of dimension i: mean absolute change of the decoded voxels when z[i] moves by
    +-step, both directions decoded for every dimension in one batch of 2 * latent_dim.
    """
    z = np.asarray(z, dtype=np.float32)
    offsets = np.concatenate([np.eye(len(z)), -np.eye(len(z))]).astype(np.float32) * step
    grids = decode(model, np.concatenate([z[None], z[None] + offsets]))
    change = np.abs(grids[1:] - grids[0]).mean(axis=(1, 2, 3))      # (2 * latent_dim,)
    influence = change.reshape(2, len(z)).mean(axis=0)
    return np.argsort(-influence, kind="stable")


def interpolate_latents(z_a, z_b, steps: int, mode: str = "linear") -> np.ndarray:
    """Returns `steps` latents (steps, latent_dim) on the path from z_a to z_b (both ends included).

    mode: "linear" (straight line) or "spherical" (slerp, which keeps the norm of prior samples).
    """
    a = torch.as_tensor(np.array(z_a, dtype=np.float32))     # copies: the latents may be read-only cached arrays
    b = torch.as_tensor(np.array(z_b, dtype=np.float32))
    return latent_path(a, b, steps, mode).numpy()


def slider_ranges(latents, minimum: float = 3.0, margin: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Returns (low, high), each (latent_dim,): slider bounds covering the given latents.

    latents: (N, latent_dim), e.g. encoded dataset digits. Each bound is at least +-minimum
    (three prior standard deviations) and reaches `margin` times the furthest latent seen.
    """
    latents = np.asarray(latents, dtype=np.float32)
    reach = np.maximum(np.abs(latents).max(axis=0) * margin, minimum)
    reach = np.ceil(reach * 2) / 2  # round to half units so the sliders read cleanly
    return -reach, reach


def sample_latents(model, n: int, seed: int = 0, reference=None, source: str | None = None,
                   digit: int | None = None) -> np.ndarray:
    """Returns n latents (n, latent_dim) to decode as new samples, deterministic by seed.

    source and digit as in GenerativeModel.latents (default: the model's own choice). An AE
    without a fitted code density (trained before genlab kept one) draws from a diagonal
    Gaussian fitted to `reference` latents (N, latent_dim) of encoded digits.
    """
    if model.kind == "ae" and model.code_density is None and digit is None and reference is not None:
        reference = np.asarray(reference, dtype=np.float32)
        return (reference.mean(axis=0) + prior_samples(model, n, seed) * reference.std(axis=0)).astype(np.float32)
    return model.latents(n, torch.Generator().manual_seed(seed), source, digit).numpy().astype(np.float32)


def parse_latent(text: str, latent_dim: int) -> np.ndarray:
    """Returns the latent (latent_dim,) float32 written as a JSON list; ValueError saying what is wrong."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("a latent is a JSON list of numbers, like [0.1, -1.2, ...]") from None
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in values):
        raise ValueError("a latent is a JSON list of numbers, like [0.1, -1.2, ...]")
    if len(values) != latent_dim:
        raise ValueError(f"this model has {latent_dim} latent dimensions; the list has {len(values)} numbers")
    z = np.asarray(values, dtype=np.float32)
    if not np.isfinite(z).all():
        raise ValueError("the latent holds a non-finite number")
    return z


def principal_directions(model, codes, k: int = 8) -> np.ndarray:
    """Returns k orthonormal latent directions (k, latent_dim), largest variance of `codes` first.

    codes: latents (N, latent_dim) of reference digits, or voxel grids (N, 16, 16, 16) that
    `model` encodes first. The directions are the principal axes of the codes' spread (PCA, as
    GANSpace does), each signed so that its largest component is positive.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim == 4:
        codes = encode(model, codes)
    if codes.ndim != 2 or codes.shape[1] != model.latent_dim or len(codes) < 2:
        raise ValueError(f"principal directions need at least 2 codes of shape (N, {model.latent_dim}), "
                         f"not {codes.shape}")
    if not 1 <= k <= model.latent_dim:
        raise ValueError(f"this model has {model.latent_dim} latent dimensions; k={k} directions is out of range")
    centred = codes.astype(np.float64) - codes.mean(axis=0)
    variances, vectors = np.linalg.eigh(centred.T @ centred / (len(codes) - 1))  # ascending
    directions = vectors[:, ::-1][:, :k].T
    largest = directions[np.arange(k), np.abs(directions).argmax(axis=1)]
    return (directions * np.sign(largest)[:, None]).astype(np.float32)


def direction_scales(codes, directions) -> np.ndarray:
    """Returns the standard deviation (k,) of latents `codes` (N, latent_dim) along each of
    `directions` (k, latent_dim)."""
    codes = np.asarray(codes, dtype=np.float64)
    return ((codes - codes.mean(axis=0)) @ np.asarray(directions, dtype=np.float64).T).std(axis=0).astype(np.float32)


def move_along(z, directions, scales, steps) -> np.ndarray:
    """Returns z (latent_dim,) moved steps[i] standard deviations (scales[i]) along each direction i."""
    offset = (np.asarray(steps, np.float32) * np.asarray(scales, np.float32)) @ np.asarray(directions, np.float32)
    return (np.asarray(z, np.float32) + offset).astype(np.float32)


_TRAINING_NORMS: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # dataset fingerprint -> (rows, squared norms)


def _training_rows(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Returns (X_train as rows (N, 4096), their squared norms in float64), computed once per dataset."""
    key = dataset.fingerprint
    if key not in _TRAINING_NORMS:
        rows = dataset.X_train.reshape(len(dataset.X_train), -1)
        if len(_TRAINING_NORMS) >= 4:
            _TRAINING_NORMS.pop(next(iter(_TRAINING_NORMS)))
        _TRAINING_NORMS[key] = rows, np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
    return _TRAINING_NORMS[key]


def prepare_nearest(dataset) -> None:
    """Does nearest_training's once-per-dataset work now (the training rows' norms)."""
    _training_rows(dataset)


def nearest_training(grids, dataset, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Returns (indices, distances) of the k training digits nearest to each grid, nearest first.

    grids: one grid (16, 16, 16) -> int64 (k,) and float32 (k,); or a batch (B, 16, 16, 16)
    -> (B, k) each. Distance: mean squared voxel difference to `dataset.X_train`. Exact: one
    matrix product ranks every training digit, then the candidates within that product's
    rounding error of the k-th are measured directly; equal distances go to the lower index.
    """
    grids = np.asarray(grids, dtype=np.float32)
    single = grids.ndim == 3
    queries = (grids[None] if single else grids).reshape(-1, dataset.X_train[0].size)
    rows, row_norms = _training_rows(dataset)
    if not 1 <= k <= len(rows):
        raise ValueError(f"k must be between 1 and the {len(rows)} training digits, not {k}")
    query_norms = np.einsum("ij,ij->i", queries, queries, dtype=np.float64)
    approx = query_norms[:, None] + row_norms[None] - 2.0 * (queries @ rows.T)      # (B, N) sums of squares
    # Bound on the float32 rounding of each approximate distance (twice it: the k-th is approximate too).
    slack = rows.shape[1] * np.finfo(np.float32).eps * (query_norms + row_norms.max())
    indices = np.empty((len(queries), k), np.int64)
    distances = np.empty((len(queries), k), np.float32)
    for b, query in enumerate(queries):
        kth = np.partition(approx[b], k - 1)[k - 1]
        candidates = np.flatnonzero(approx[b] <= kth + 2 * slack[b])
        exact = ((rows[candidates] - query) ** 2).mean(axis=1, dtype=np.float64)
        best = np.lexsort((candidates, exact))[:k]
        indices[b], distances[b] = candidates[best], exact[best]
    return (indices[0], distances[0]) if single else (indices, distances)
