"""Per-digit Gaussian mixtures over a model's codes: new samples of a chosen digit, and better samples for all.

A VAE's or GAN's decoder has seen the codes of training digits, which do not fill N(0, I) evenly,
so prior samples often land between digits and decode to blends (mostly "8"-like blobs). Fitting
a density to the codes of each digit's training examples ("ex-post density estimation", Ghosh et
al. 2020) gives samples where the decoder was trained, and lets a user ask for a digit. An AE has
no prior at all, so this is how it samples. Two are fitted and stored with every checkpoint:

- the *density*: one full-covariance Gaussian per digit (`fit_code_density`);
- the *mixture*: COMPONENTS full-covariance Gaussians per digit, fitted by EM (`fit_code_mixture`).
  One Gaussian per digit spreads its mass over the gaps between a digit's styles (slanted,
  rotated, open or closed loops), where the decoder draws blends; many small ones follow the codes.

Both are a `CodeDensity`: a Gaussian mixture whose every component belongs to one digit.

The mixture also stores each component's *fidelity* (`cycle_fidelity`): how often codes drawn from it,
decoded and encoded again, land among its own digit's codes. A component that sits where the decoder
draws blends or another digit's shape scores low. `CodeDensity.refined()` weights every component by
fidelity ** REFINE_POWER, each digit keeping its share: the "refined" source, sample()'s default.

    density = fit_code_density(model, X_train, y_train)   # X: (N, 16, 16, 16), y: (N,) digits 0..9
    model.code_density = density                           # saved with the checkpoint
    z = density.sample(16, digit=7)                        # (16, latent_dim)
    z = density.sample(16, digit=7, spread=DIGIT_SPREAD)   # nearer its components' centres: clearer 7s
    model.code_mixture = fit_code_mixture(model, X_train, y_train)
    model.code_mixture.fidelity = cycle_fidelity(model, model.code_mixture)
    z = model.code_mixture.refined().sample(16, digit=7)

A digit asked for is drawn at DIGIT_SPREAD by default (GenerativeModel.latents): each component's
noise scaled down, the "truncation trick" of BigGAN (Brock et al. 2019); and from its components refined
at DIGIT_REFINE_POWER, which leans harder on the components whose codes decode as that digit. A user
who asks for a 4 wants a clear 4 more than the rarest style of one; samples of all digits keep the
full spread and REFINE_POWER.
"""

from dataclasses import dataclass

import numpy as np
import torch

PREFIX = "code_density/"  # checkpoint tensor names of the density (one Gaussian per digit)
MIXTURE_PREFIX = "code_mixture/"  # ... and of the mixture (COMPONENTS per digit)
N_CLASSES = 10
RIDGE = 1e-3  # added to each covariance's diagonal: keeps it positive definite for rare digits
COMPONENTS = 32  # Gaussians per digit in the mixture
MIXTURE_RIDGE = 1e-4  # the mixture's ridge, as a share of the codes' mean variance (its components are small)
EM_STEPS = 40  # EM rounds per digit at most (it also stops once the likelihood stops rising)
# The spread a requested digit is drawn at by default: on the weights shipped on 2026-11-30 before the
# bf16 retrain (100 samples per digit) the classifier called 0.90-0.96 of them the digit asked for,
# against 0.82-0.88 at 1 (the retrained ones: 0.92-0.97 at 0.5 from the mixture as fitted).
DIGIT_SPREAD = 0.5
CYCLE_SAMPLES = 32  # codes drawn from each mixture component to measure its fidelity
# A refined component's weight is its fitted weight times fidelity ** REFINE_POWER (each digit's total kept).
# On four of the weights shipped on 2026-11-30 (5,000 samples, two seeds) 4 lowered FD by 7-16% against
# the fitted weights and 2 by 5-10%, recall unchanged (docs/models.md, "The refined mixture").
REFINE_POWER = 4
# ... and of a digit asked for (GenerativeModel.latents with a digit). On the shipped weights (2026-11-30,
# 100 samples per digit, the evaluation's seeds) powers 4 / 8 / 16 gave a mean of 0.929-0.981 / 0.941-0.984 /
# 0.953-0.983 classified as the digit asked for, a second classifier 0.943-0.978 / 0.948-0.979 / 0.961-0.983;
# each digit's samples still come from 16-18 components in effect (of 32; 20 at power 4), and their recall
# of that digit's real test digits fell by 0.01-0.05 (docs/models.md, "A digit asked for").
DIGIT_REFINE_POWER = 16


@dataclass
class CodeDensity:
    """A Gaussian mixture over codes, each component one digit's: weights (K,), means (K, D), Cholesky factors
    (K, D, D), digits (K,) int64 (None: component k is digit k, one Gaussian per digit) and, once measured,
    each component's fidelity (K,) in [0, 1] (see cycle_fidelity)."""

    weights: torch.Tensor
    means: torch.Tensor
    scale_tril: torch.Tensor
    digits: torch.Tensor | None = None
    fidelity: torch.Tensor | None = None

    def __post_init__(self):
        if self.digits is None:
            self.digits = torch.arange(len(self.weights))

    def digit_weights(self) -> torch.Tensor:
        """Returns each digit's share of the mixture (N_CLASSES,); 0 for a digit fitted without examples."""
        return torch.zeros(N_CLASSES).index_add_(0, self.digits, self.weights.float())

    def refined(self, power: float = REFINE_POWER) -> "CodeDensity":
        """Returns the mixture with each component's weight times its fidelity ** power, rescaled so that every
        digit keeps its share (a digit whose components all have fidelity 0 keeps its fitted weights)."""
        if self.fidelity is None:
            raise ValueError("this mixture has no measured fidelity: see genlab.models.density.cycle_fidelity")
        scaled = self.weights * self.fidelity**power
        fitted = self.digit_weights()[self.digits]
        now = torch.zeros(N_CLASSES).index_add_(0, self.digits, scaled.float())[self.digits]
        weights = torch.where(now > 0, scaled * fitted / now.clamp_min(1e-30), self.weights)
        return CodeDensity(weights, self.means, self.scale_tril, self.digits)

    def digit_probabilities(self, codes: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Returns each code's posterior over digits (N, N_CLASSES) under this mixture: which digit's components
        explain it (0 for a digit without components)."""
        parts = []
        for batch in codes.float().split(batch_size):
            log_joint = _log_joint(self.weights, self.means, self.scale_tril, batch)  # (K, B)
            per_digit = torch.full((N_CLASSES, len(batch)), -float("inf"))
            for digit in self.digits.unique().tolist():
                per_digit[digit] = torch.logsumexp(log_joint[self.digits == digit], 0)
            parts.append(torch.softmax(per_digit, 0).T)
        return torch.cat(parts)

    def sample(self, n: int, digit: int | None = None, generator: torch.Generator | None = None,
               spread: float = 1.0) -> torch.Tensor:
        """Returns n codes (n, D): from the whole mixture, or from one digit's components; spread scales each
        component's noise (1: the fitted density; 0: its components' centres)."""
        if not spread >= 0:
            raise ValueError(f"spread must be 0 or more, not {spread!r}")
        if digit is None:
            component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        elif digit not in range(N_CLASSES):
            raise ValueError(f"digit must be one of 0..{N_CLASSES - 1}, not {digit!r}")
        elif self.digit_weights()[digit] == 0:
            raise ValueError(f"digit {digit} cannot be sampled: the density was fitted without examples of it")
        else:
            mine = torch.where(self.digits == digit, self.weights, torch.zeros_like(self.weights))
            if (mine > 0).sum() == 1:  # one Gaussian for the digit: no draw of a component
                component = torch.full((n,), int(mine.argmax()))
            else:
                component = torch.multinomial(mine, n, replacement=True, generator=generator)
        noise = spread * torch.randn(n, self.means.shape[1], generator=generator)
        return self.means[component] + (self.scale_tril[component] @ noise[:, :, None])[:, :, 0]

    def tensors(self, prefix: str = PREFIX) -> dict[str, torch.Tensor]:
        """Returns the tensors to store in a checkpoint, named under prefix."""
        tensors = {"weights": self.weights, "means": self.means, "scale_tril": self.scale_tril, "digits": self.digits}
        if self.fidelity is not None:
            tensors["fidelity"] = self.fidelity
        return {f"{prefix}{name}": value.contiguous() for name, value in tensors.items()}

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], latent_dim: int, where: str = "checkpoint", prefix: str = PREFIX
    ) -> "CodeDensity | None":
        """Returns the density stored under prefix in a checkpoint's tensors (None if it has none); ValueError naming
        `where` if malformed (missing tensors, wrong shapes, NaN, negative weights, digits outside 0..9, a
        fidelity outside 0..1)."""
        names = {name[len(prefix):]: value for name, value in tensors.items() if name.startswith(prefix)}
        if not names:
            return None
        what = "code density" if prefix == PREFIX else "code mixture"
        try:
            density = cls(names["weights"].float(), names["means"].float(), names["scale_tril"].float(),
                          names.get("digits"))
        except KeyError as missing:
            raise ValueError(f"{where}: its {what} lacks the tensor {prefix}{missing.args[0]}") from None
        k = len(density.weights)
        if (density.weights.shape != (k,) or density.means.shape != (k, latent_dim)
                or density.scale_tril.shape != (k, latent_dim, latent_dim) or density.digits.shape != (k,)):
            raise ValueError(f"{where}: its {what} has shapes {tuple(density.weights.shape)}, "
                             f"{tuple(density.means.shape)}, {tuple(density.scale_tril.shape)}, "
                             f"{tuple(density.digits.shape)}; expected "
                             f"({k},), ({k}, {latent_dim}), ({k}, {latent_dim}, {latent_dim}), ({k},)")
        if not all(torch.isfinite(t).all() for t in (density.weights, density.means, density.scale_tril)) \
                or (density.weights < 0).any() or density.weights.sum() <= 0:
            raise ValueError(f"{where}: its {what} holds negative, NaN or infinite values")
        if density.digits.is_floating_point() or density.digits.min() < 0 or density.digits.max() >= N_CLASSES:
            raise ValueError(f"{where}: its {what} names digits outside 0..{N_CLASSES - 1}")
        density.digits = density.digits.long()
        fidelity = names.get("fidelity")
        if fidelity is not None:
            if fidelity.shape != (k,) or not torch.isfinite(fidelity).all() or fidelity.min() < 0 or fidelity.max() > 1:
                raise ValueError(f"{where}: its {what}'s fidelity must be {k} values in 0..1, "
                                 f"got shape {tuple(fidelity.shape)}")
            density.fidelity = fidelity.float()
        return density


def checked_labels(X, y) -> np.ndarray:
    """Returns y as int64 digits; ValueError unless there is one label in 0..9 per grid of X."""
    y = np.asarray(y).astype(np.int64)
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(
            f"need one digit label per grid (and at least one grid), got {len(X)} grids and {len(y)} labels"
        )
    if y.min() < 0 or y.max() >= N_CLASSES:
        raise ValueError(f"digit labels must lie in 0..{N_CLASSES - 1}, got {y.min()}..{y.max()}")
    return y


@torch.no_grad()
def fit_code_density(model, X, y, batch_size: int = 500) -> CodeDensity:
    """Returns one Gaussian per digit fitted to model.encode of X (N, 16, 16, 16) with digits y (N,)."""
    y = checked_labels(X, y)
    return fit_density_to_codes(encode_all(model, X, batch_size), y)


def fit_density_to_codes(codes: torch.Tensor, y: np.ndarray) -> CodeDensity:
    """Returns one Gaussian per digit (see fit_code_density) fitted to codes (N, D) with digits y (N,)."""
    codes = codes.double()
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
def fit_code_mixture(model, X, y, components: int = COMPONENTS, steps: int = EM_STEPS, seed: int = 0,
                     batch_size: int = 500) -> CodeDensity:
    """Returns `components` Gaussians per digit fitted by EM to model.encode of X (N, 16, 16, 16) with digits y (N,);
    deterministic by seed. A digit with fewer than 2 examples per component gets fewer components."""
    y = checked_labels(X, y)
    return fit_mixture_to_codes(encode_all(model, X, batch_size), y, components, steps, seed)


def fit_mixture_to_codes(codes: torch.Tensor, y: np.ndarray, components: int = COMPONENTS, steps: int = EM_STEPS,
                         seed: int = 0) -> CodeDensity:
    """Returns a per-digit mixture (see fit_code_mixture) fitted to codes (N, D) with digits y (N,)."""
    codes = codes.float()
    ridge = MIXTURE_RIDGE * float(codes.var(0).mean().clamp_min(1e-12))  # in the codes' own units
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for digit in range(N_CLASSES):
        mine = codes[torch.as_tensor(y == digit)]
        if len(mine) < 2:  # too few to fit: the digit cannot be sampled
            continue
        k = max(1, min(components, len(mine) // 2))
        centre = mine.mean(0)  # EM runs on centred codes (float32 keeps it fast; centring keeps it accurate)
        weights, means, covs = em_gaussian_mixture(mine - centre, k, steps, ridge, generator)
        parts.append((weights * len(mine) / len(codes), means + centre, covs, torch.full((k,), digit)))
    weights, means, covs, digits = (torch.cat(part) for part in zip(*parts))
    return CodeDensity(weights, means, torch.linalg.cholesky(covs.double()).float(), digits)


def em_gaussian_mixture(x: torch.Tensor, k: int, steps: int, ridge: float, generator: torch.Generator,
                        tolerance: float = 1e-4):
    """Returns (weights (k,), means (k, D), covariances (k, D, D)) of a full-covariance Gaussian mixture fitted to
    x (N, D) by EM from k-means++ centres, at most `steps` rounds, stopping once the mean log-likelihood gains less
    than `tolerance`; ridge is added to every covariance's diagonal."""
    n, d = x.shape
    means = _kmeans_pp(x, k, generator)
    eye = torch.eye(d, dtype=x.dtype)
    covs = (torch.cov(x.T).reshape(d, d) + ridge * eye).expand(k, d, d).clone()
    weights = torch.full((k,), 1.0 / k, dtype=x.dtype)
    previous = -float("inf")
    for _ in range(steps):
        log_p = _log_joint(weights, means, torch.linalg.cholesky(covs), x)  # (k, N)
        likelihood = float(torch.logsumexp(log_p, dim=0).mean())
        resp = torch.softmax(log_p, dim=0)  # (k, N)
        mass = resp.sum(1) + 1e-6
        weights = mass / mass.sum()
        means = resp @ x / mass[:, None]
        diff = x[None] - means[:, None]
        covs = (resp[:, :, None] * diff).transpose(1, 2) @ diff / mass[:, None, None] + ridge * eye
        if likelihood - previous < tolerance:
            break
        previous = likelihood
    return weights, means, covs


def _log_joint(weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Returns log(weight_k N(x_n | mean_k, L_k L_k^T)) up to a constant shared by all, (K, N), for x (N, D)."""
    diff = x[None] - means[:, None]  # (K, N, D)
    solved = torch.linalg.solve_triangular(scale_tril, diff.transpose(1, 2), upper=False)  # (K, D, N)
    log_det = 2 * scale_tril.diagonal(dim1=1, dim2=2).log().sum(1)
    return weights.log()[:, None] - 0.5 * ((solved**2).sum(1) + log_det[:, None])


def _kmeans_pp(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """Returns k rows of x (k, D) picked by k-means++ seeding: each next one with probability ~ squared distance."""
    centres = [x[torch.randint(len(x), (1,), generator=generator)][0]]
    nearest = ((x - centres[0]) ** 2).sum(1)
    for _ in range(k - 1):
        pick = torch.multinomial(nearest.float() + 1e-12, 1, generator=generator)[0]
        centres.append(x[pick])
        nearest = torch.minimum(nearest, ((x - x[pick]) ** 2).sum(1))
    return torch.stack(centres)


@torch.no_grad()
def cycle_fidelity(model, density: CodeDensity, samples: int = CYCLE_SAMPLES, seed: int = 0,
                   batch_size: int = 1024) -> torch.Tensor:
    """Returns each component's fidelity (K,) in [0, 1]: the mean probability, under the density, that a code
    drawn from the component (at its full spread), decoded by the model and encoded again, belongs to the
    component's digit. Deterministic by seed; runs in eval mode on the model's device."""
    k, d = density.means.shape
    noise = torch.randn(k, samples, d, generator=torch.Generator().manual_seed(seed))
    codes = (density.means[:, None] + (density.scale_tril[:, None] @ noise[..., None])[..., 0]).reshape(k * samples, d)
    again = _in_eval_mode(model, lambda z: model.encode(model.decode(z)), codes.split(batch_size))
    own = density.digits.repeat_interleave(samples)
    return density.digit_probabilities(again)[torch.arange(k * samples), own].reshape(k, samples).mean(1)


@torch.no_grad()
def encode_all(model, X, batch_size: int = 500) -> torch.Tensor:
    """Returns model.encode of X (N, 16, 16, 16) as float codes (N, D) on the CPU, encoded in eval mode on the model's
    device."""
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    return _in_eval_mode(model, model.encode, X.split(batch_size))


def _in_eval_mode(model, fn, batches) -> torch.Tensor:
    """Returns fn of each batch, run in eval mode on the model's device, as float rows concatenated on the CPU;
    the model's mode is restored afterwards."""
    device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    model.eval()
    try:
        return torch.cat([fn(batch.to(device)).float().cpu() for batch in batches])
    finally:
        model.train(was_training)
