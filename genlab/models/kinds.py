"""The three model kinds, each written once over any backbone: AE, VAE and GAN.

Every kind offers the same contract (shapes: B samples, grid 16^3):
    encode(x: (B, 16, 16, 16) in [0, 1]) -> z (B, latent_dim)     (VAE and GAN: the mean code)
    decode(z: (B, latent_dim)) -> probabilities (B, 16, 16, 16) in [0, 1]
    sample(n) -> (n, 16, 16, 16);  reconstruct(x) -> (B, 16, 16, 16)
    interpolate(x_a, x_b, steps, mode) -> (steps, 16, 16, 16)
and its training loss lives here, returned as a `Losses` dataclass so the trainer only minimises it.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
import torch.utils._pytree
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genlab.models.backbones import BACKBONES, GRID

VOXELS = GRID**3
LOGVAR_START = -4.0  # a Gaussian encoder warm-started from an AE begins nearly deterministic


@dataclass
class Losses:
    """Returns of a loss computation: the scalar to minimise and its named parts (for logging)."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)

    def floats(self) -> dict[str, float]:
        """Returns {"loss": total, **terms} as plain floats."""
        return {"loss": float(self.total.detach()), **{k: float(v.detach()) for k, v in self.terms.items()}}


# DistributedDataParallel looks for the loss tensors inside a forward's output; let it see through Losses.
torch.utils._pytree.register_dataclass(Losses)


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Returns the mean per-voxel binary cross-entropy (the paper's BCE) of logits (B, 16, 16, 16) against x."""
    return F.binary_cross_entropy_with_logits(logits.float(), x.float())


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Returns KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, averaged over the batch."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Returns spherical interpolations (T, D) between vectors a, b (D,) at fractions t (T,)."""
    cos = F.cosine_similarity(a, b, dim=0).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:  # nearly parallel: the linear path is the same curve
        return torch.lerp(a, b, t[:, None])
    s = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / s)[:, None] * a + (torch.sin(t * omega) / s)[:, None] * b


class GenerativeModel(nn.Module):
    """The shared contract of the twelve models; a subclass supplies the kind (networks and loss)."""

    kind: ClassVar[str]
    defaults: ClassVar[dict] = {}  # the kind's own options (loss weights)

    def __init__(self, backbone: str, latent_dim: int, config: dict):
        super().__init__()
        self.backbone = backbone
        self.latent_dim = latent_dim
        self.config = config  # JSON-able: everything build_model needs to rebuild this model
        self.metadata: dict = {}

    # -- contract ---------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Returns latents z (B, latent_dim) for voxels x (B, 16, 16, 16) in [0, 1]."""
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Returns voxel logits (B, 16, 16, 16) for latents z (B, latent_dim)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Returns voxel probabilities (B, 16, 16, 16) in [0, 1] for latents z (B, latent_dim)."""
        return torch.sigmoid(self.decode_logits(z))

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Returns n latents (n, latent_dim) drawn from N(0, I)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device if generator else "cpu")
        return z.to(device)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Returns n new grids (n, 16, 16, 16) decoded from N(0, I) latents."""
        return self.decode(self.prior(n, generator))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Returns reconstructions (B, 16, 16, 16) of voxels x (B, 16, 16, 16)."""
        return self.decode(self.encode(x))

    @torch.no_grad()
    def interpolate(self, x_a: torch.Tensor, x_b: torch.Tensor, steps: int, mode: str = "linear") -> torch.Tensor:
        """Returns `steps` grids (steps, 16, 16, 16) decoded along the latent path from x_a to x_b.

        x_a, x_b: (16, 16, 16) or (1, 16, 16, 16); mode: "linear" or "spherical" (slerp).
        """
        if mode not in ("linear", "spherical"):
            raise ValueError(f"interpolation mode must be 'linear' or 'spherical', not {mode!r}")
        z = self.encode(torch.stack([x_a.reshape(GRID, GRID, GRID), x_b.reshape(GRID, GRID, GRID)]))
        t = torch.linspace(0, 1, steps, device=z.device)
        path = torch.lerp(z[0], z[1], t[:, None]) if mode == "linear" else slerp(z[0], z[1], t)
        return self.decode(path)

    def forward(self, x: torch.Tensor) -> Losses:
        """Returns the training losses for a batch x (B, 16, 16, 16)."""
        raise NotImplementedError

    def validation_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the deterministic loss that early stopping watches: here the reconstruction BCE of x."""
        return reconstruction_loss(self.decode_logits(self.encode(x)), x)

    @torch.no_grad()
    def warm_start(self, donor: "GenerativeModel") -> list[str]:
        """Returns the names of the tensors copied from a trained model of the same backbone (e.g. AE -> VAE).

        Equal shapes are copied. A Gaussian encoder's last layer, twice the donor's width, gets the
        donor's code as its mean and a small variance (log-variance bias LOGVAR_START); the rest
        (a GAN's discriminator) keeps its fresh initialisation.
        """
        if donor.backbone != self.backbone or donor.latent_dim != self.latent_dim:
            raise ValueError(f"cannot warm-start a {self.backbone} model with latent_dim {self.latent_dim} "
                             f"from a {donor.backbone} model with latent_dim {donor.latent_dim}")
        theirs, copied = donor.state_dict(), []
        for name, mine in self.state_dict().items():
            if name not in theirs:
                continue
            value = theirs[name]
            if value.shape == mine.shape:
                mine.copy_(value)
            elif mine.ndim and mine.shape[0] == 2 * value.shape[0] and mine.shape[1:] == value.shape[1:]:
                mine[: len(value)] = value  # mean half of (mu, logvar)
                mine[len(value):] = LOGVAR_START if name.endswith("bias") else 0.0
            else:
                continue
            copied.append(name)
        return copied

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, backbone={self.backbone!r}, latent_dim={self.latent_dim}"


class AE(GenerativeModel):
    """Deterministic autoencoder: minimises reconstruction BCE."""

    kind = "ae"

    def __init__(self, backbone, latent_dim, config, backbone_options):
        super().__init__(backbone, latent_dim, config)
        self.encoder = BACKBONES[backbone].build_encoder(latent_dim, backbone_options)
        self.decoder = BACKBONES[backbone].build_decoder(latent_dim, backbone_options)

    def encode(self, x):
        return self.encoder(x)

    def forward(self, x):
        recon = reconstruction_loss(self.decode_logits(self.encode(x)), x)
        return Losses(recon, {"recon": recon})


class VAE(GenerativeModel):
    """Variational autoencoder: Gaussian encoder, reparameterisation, BCE + beta * KL(q(z|x) || N(0, I)).

    Both terms are per voxel (the KL is divided by the 4096 voxels), so beta=1 is the usual ELBO.
    """

    kind = "vae"
    defaults = {"beta": 1.0}

    def __init__(self, backbone, latent_dim, config, backbone_options):
        super().__init__(backbone, latent_dim, config)
        self.encoder = BACKBONES[backbone].build_encoder(2 * latent_dim, backbone_options)
        self.decoder = BACKBONES[backbone].build_decoder(latent_dim, backbone_options)

    def encode_gaussian(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (mu, logvar), each (B, latent_dim), of q(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def encode(self, x):
        return self.encode_gaussian(x)[0]

    def elbo_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (reconstruction BCE per voxel, KL per voxel) for a batch x (B, 16, 16, 16)."""
        mu, logvar = self.encode_gaussian(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return reconstruction_loss(self.decode_logits(z), x), gaussian_kl(mu, logvar) / VOXELS

    def forward(self, x):
        recon, kl = self.elbo_terms(x)
        return Losses(recon + self.config["beta"] * kl, {"recon": recon, "kl": kl})

    def validation_loss(self, x):
        """Returns the ELBO loss at the mean code: reconstruction BCE of decode(mu) + beta * KL."""
        mu, logvar = self.encode_gaussian(x)
        kl = gaussian_kl(mu, logvar) / VOXELS
        return reconstruction_loss(self.decode_logits(mu), x) + self.config["beta"] * kl


def _spectral_normed(module: nn.Module) -> nn.Module:
    """Returns `module` with spectral normalisation on every weight (convolutions, dense and recurrent layers)."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
            spectral_norm(layer)
        elif isinstance(layer, nn.RNNBase):
            spectral_norm(layer, "weight_ih_l0")
            spectral_norm(layer, "weight_hh_l0")
    return module


class GAN(VAE):
    """GAN: a generator (the backbone's decoder) against a discriminator (the backbone's encoder, 1 output).

    Stable training: non-saturating loss and spectral normalisation in the discriminator.
    To reconstruct (and be compared on the paper's metrics) it has an encoder trained alongside
    the generator, VAE-GAN style (Larsen et al., 2016): the generator minimises
    adv_weight * adversarial loss on prior samples + reconstruction BCE of G(E(x)) + beta * KL,
    which also keeps the generator from collapsing onto a few modes.
    """

    kind = "gan"
    defaults = {"beta": 1.0, "adv_weight": 0.02}
    reconstruction_method = "encoder trained alongside the generator (VAE-GAN: reconstruction + KL + adversarial)"

    def __init__(self, backbone, latent_dim, config, backbone_options):
        super().__init__(backbone, latent_dim, config, backbone_options)
        # The encoder's shape at half the size (a cheaper step on CPU), without batch norm.
        options = {k: v // 2 if k in ("width", "hidden") else v for k, v in backbone_options.items()}
        self.discriminator = _spectral_normed(BACKBONES[backbone].build_encoder(1, {**options, "norm": False}))

    def generator_parameters(self) -> list[nn.Parameter]:
        """Returns the parameters the generator step updates (generator and encoder)."""
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Returns the discriminator's parameters."""
        return list(self.discriminator.parameters())

    @staticmethod
    def n_fake(x: torch.Tensor) -> int:
        """Returns how many fakes a step draws for a batch x: half of it (saves time, enough signal)."""
        return max(1, len(x) // 2)

    def discriminator_loss(self, x: torch.Tensor) -> Losses:
        """Returns the discriminator's non-saturating loss on real x (B, 16, 16, 16) and fresh fakes."""
        with torch.no_grad():
            fake = self.decode(self.prior(self.n_fake(x)).to(x.device))
        real_logit, fake_logit = self.discriminator(x).float(), self.discriminator(fake).float()
        loss = F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean()
        return Losses(loss, {"d_real": torch.sigmoid(real_logit).mean(), "d_fake": torch.sigmoid(fake_logit).mean()})

    def forward(self, x, part: str = "generator"):
        """Returns the losses of one GAN step for real x (B, 16, 16, 16): part="generator" or "discriminator".

        (Both parts go through forward so DistributedDataParallel can average their gradients.)
        """
        if part == "discriminator":
            return self.discriminator_loss(x)
        recon, kl = self.elbo_terms(x)
        fake = self.decode(self.prior(self.n_fake(x)).to(x.device))
        adv = F.softplus(-self.discriminator(fake).float()).mean()
        total = recon + self.config["beta"] * kl + self.config["adv_weight"] * adv
        return Losses(total, {"recon": recon, "kl": kl, "adv": adv})


# The one place kinds are named.
KIND_CLASSES = {"ae": AE, "vae": VAE, "gan": GAN}
