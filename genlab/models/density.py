"""A per-digit Gaussian mixture over a model's codes: new samples of a chosen digit, and better samples for all.

A VAE's or GAN's decoder has seen the codes of training digits, which do not fill N(0, I) evenly,
so prior samples often land between digits and decode to blends (mostly "8"-like blobs). Fitting
one full-covariance Gaussian to the codes of each digit's training examples ("ex-post density
estimation", Ghosh et al. 2020) gives samples where the decoder was trained, and lets a user ask for
a digit. An AE has no prior at all, so this is how it samples.

    density = fit_code_density(model, X_train, y_train)   # X: (N, 16, 16, 16), y: (N,) digits 0..9
    model.code_density = density                           # saved with the checkpoint
    z = density.sample(16, digit=7)                        # (16, latent_dim)
"""

from dataclasses import dataclass

import numpy as np
import torch

PREFIX = "code_density/"  # checkpoint tensor names
N_CLASSES = 10
RIDGE = 1e-3  # added to each covariance's diagonal: keeps it positive definite for rare digits


@dataclass
class CodeDensity:
    """Mixture weights (K,), means (K, D) and Cholesky factors (K, D, D) of one Gaussian per digit."""

    weights: torch.Tensor
    means: torch.Tensor
    scale_tril: torch.Tensor

    def sample(self, n: int, digit: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Returns n codes (n, D): from the mixture, or from one digit's Gaussian."""
        if digit is None:
            component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        elif digit not in range(len(self.weights)):
            raise ValueError(f"digit must be one of 0..{len(self.weights) - 1}, not {digit!r}")
        elif self.weights[digit] == 0:
            raise ValueError(f"digit {digit} cannot be sampled: the density was fitted without examples of it")
        else:
            component = torch.full((n,), int(digit))
        noise = torch.randn(n, self.means.shape[1], generator=generator)
        return self.means[component] + (self.scale_tril[component] @ noise[:, :, None])[:, :, 0]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Returns the tensors to store in a checkpoint, named under PREFIX."""
        return {f"{PREFIX}weights": self.weights, f"{PREFIX}means": self.means, f"{PREFIX}scale_tril": self.scale_tril}

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], latent_dim: int, where: str = "checkpoint"
    ) -> "CodeDensity | None":
        """Returns the density stored in a checkpoint's tensors (None if it has none); ValueError if malformed."""
        names = {name[len(PREFIX):]: value for name, value in tensors.items() if name.startswith(PREFIX)}
        if not names:
            return None
        try:
            density = cls(names["weights"].float(), names["means"].float(), names["scale_tril"].float())
        except KeyError as missing:
            raise ValueError(f"{where}: its code density lacks the tensor {PREFIX}{missing.args[0]}") from None
        k = len(density.weights)
        if (density.weights.shape != (k,) or density.means.shape != (k, latent_dim)
                or density.scale_tril.shape != (k, latent_dim, latent_dim)):
            raise ValueError(f"{where}: its code density has shapes {tuple(density.weights.shape)}, "
                             f"{tuple(density.means.shape)}, {tuple(density.scale_tril.shape)}; expected "
                             f"({k},), ({k}, {latent_dim}), ({k}, {latent_dim}, {latent_dim})")
        if not all(torch.isfinite(t).all() for t in (density.weights, density.means, density.scale_tril)) \
                or (density.weights < 0).any() or density.weights.sum() <= 0:
            raise ValueError(f"{where}: its code density holds negative, NaN or infinite values")
        return density


@torch.no_grad()
def fit_code_density(model, X, y, batch_size: int = 500) -> CodeDensity:
    """Returns the per-digit Gaussian mixture fitted to model.encode of X (N, 16, 16, 16) with digits y (N,)."""
    y = np.asarray(y).astype(np.int64)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(
            f"need one digit label per grid (and at least one grid), got {len(X)} grids and {len(y)} labels"
        )
    if y.min() < 0 or y.max() >= N_CLASSES:
        raise ValueError(f"digit labels must lie in 0..{N_CLASSES - 1}, got {y.min()}..{y.max()}")
    codes = encode_all(model, X, batch_size).double()
    d = codes.shape[1]
    weights, means, trils = torch.zeros(N_CLASSES), torch.zeros(N_CLASSES, d), torch.zeros(N_CLASSES, d, d)
    for digit in range(N_CLASSES):
        mine = codes[torch.as_tensor(y == digit)]
        if len(mine) < 2:  # too few to fit: the digit cannot be sampled (weight 0)
            trils[digit] = torch.eye(d)
            continue
        weights[digit] = len(mine) / len(codes)
        means[digit] = mine.mean(0).float()
        cov = torch.cov(mine.T).reshape(d, d) + RIDGE * torch.eye(d, dtype=torch.float64)
        trils[digit] = torch.linalg.cholesky(cov).float()
    return CodeDensity(weights, means, trils)


@torch.no_grad()
def encode_all(model, X, batch_size: int = 500) -> torch.Tensor:
    """Returns model.encode of X (N, 16, 16, 16) as float codes (N, D) on the CPU, encoded in eval mode on the model's
    device."""
    device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    model.eval()
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    codes = torch.cat([model.encode(batch.to(device)).float().cpu() for batch in X.split(batch_size)])
    model.train(was_training)
    return codes
