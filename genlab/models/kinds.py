"""The three model kinds, each written once over any backbone: AE, VAE and GAN.

Every kind offers the same contract (shapes: B samples, grid 16^3):
    encode(x: (B, 16, 16, 16) in [0, 1]) -> z (B, latent_dim)     (VAE and GAN: the mean code)
    decode(z: (B, latent_dim)) -> probabilities (B, 16, 16, 16) in [0, 1]
    sample(n, source="mixture"|"prior"|"two-stage"|"density", digit=None) -> (n, 16, 16, 16)
    reconstruct(x) -> (B, 16, 16, 16)
    interpolate(x_a, x_b, steps, mode) -> (steps, 16, 16, 16)
and its training loss lives here, returned as a `Losses` dataclass so the trainer only minimises it.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
import torch.utils._pytree
from torch import nn

from genlab.models.backbones import BACKBONES, GRID, mlp
from genlab.models.density import CodeDensity
from genlab.models.second_stage import SecondStage

VOXELS = GRID**3
LOGVAR_START = -4.0  # a Gaussian encoder warm-started from an AE begins nearly deterministic
CODE_SCALE_MOMENTUM = 0.05  # how fast a GAN's code standardisation follows an autoencoder that trains
# Where sample() can draw latents from, with the words the app and the evaluation show.
LATENT_SOURCES = {"mixture": "per-digit Gaussian mixtures fitted to training codes",
                  "prior": "the N(0, I) prior", "two-stage": "N(0, I) through a second-stage VAE",
                  "density": "one Gaussian per digit fitted to training codes"}
DIGIT_SOURCES = ("mixture", "density")  # the sources that can draw a chosen digit, preferred first


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
        # Fitted after training to the codes of training digits; saved with the checkpoint.
        self.code_density: CodeDensity | None = None
        self.code_mixture: CodeDensity | None = None
        self.second_stage: SecondStage | None = None

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

    def default_source(self) -> str:
        """Returns where sample() draws latents by default: "mixture" once fitted (every kind), else
        "two-stage" for a model with a second stage (VAEs), "density" for an AE with a density (an AE
        has no prior), else "prior" (N(0, I))."""
        if self.code_mixture is not None:
            return "mixture"
        if self.second_stage is not None:
            return "two-stage"
        return "density" if self.kind == "ae" and self.code_density is not None else "prior"

    def digit_source(self) -> str | None:
        """Returns the source sample(n, digit=d) draws from by default: the first fitted of DIGIT_SOURCES, or None."""
        fitted = {"mixture": self.code_mixture, "density": self.code_density}
        return next((source for source in DIGIT_SOURCES if fitted[source] is not None), None)

    def latent_sources(self) -> list[str]:
        """Returns the sources sample() can draw from, its default first: "mixture", "two-stage" and
        "density" (once fitted), "prior" (not an AE's); an AE with none falls back to "prior"."""
        fitted = {"mixture": self.code_mixture is not None, "prior": self.kind != "ae",
                  "two-stage": self.second_stage is not None, "density": self.code_density is not None}
        sources = [source for source in LATENT_SOURCES if fitted[source]]
        return sorted(sources or ["prior"], key=lambda source: source != self.default_source())

    def latents(self, n: int, generator: torch.Generator | None = None, source: str | None = None,
                digit: int | None = None) -> torch.Tensor:
        """Returns n latents (n, latent_dim) to decode as new samples.

        source: "mixture" (per-digit Gaussian mixtures fitted to the codes of training digits),
        "prior" (N(0, I)), "two-stage" (N(0, I) through the second-stage VAE fitted to those codes,
        see genlab.models.second_stage), "density" (one Gaussian per digit fitted to those codes; both
        per-digit sources: genlab.models.density) or None (default_source(); with a digit, digit_source()).
        digit (0..9) draws that digit's part of the mixture or density.
        """
        source = source or ((self.digit_source() or "density") if digit is not None else self.default_source())
        if source not in LATENT_SOURCES:
            raise ValueError(f"latent source must be one of {sorted(LATENT_SOURCES)}, not {source!r}")
        if digit is not None and source not in DIGIT_SOURCES:
            raise ValueError(f"{LATENT_SOURCES[source]} knows no digits: choose a digit with source='mixture' or "
                             "'density'")
        if source == "prior":
            return self.prior(n, generator)
        device = next(self.parameters()).device
        if source == "two-stage":
            if self.second_stage is None:
                raise ValueError(f"this {self.kind}/{self.backbone} model has no second stage; fit one with "
                                 "python -m genlab train --fit-samplers CHECKPOINT")
            return self.second_stage.sample(n, generator).to(device)  # the second stage lives on the CPU
        density = self.code_mixture if source == "mixture" else self.code_density
        if density is None:
            raise ValueError(
                f"this {self.kind}/{self.backbone} model has no fitted code {source}; fit one with "
                "genlab.models.fit_samplers (python -m genlab train --fit-samplers CHECKPOINT)"
            )
        return density.sample(n, digit, generator).to(device)  # the densities live on the CPU

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, source: str | None = None,
               digit: int | None = None) -> torch.Tensor:
        """Returns n new grids (n, 16, 16, 16) decoded from latents(n, generator, source, digit)."""
        return self.decode(self.latents(n, generator, source, digit))

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


class GAN(GenerativeModel):
    """Latent GAN (l-GAN, Achlioptas et al., 2018): a WGAN-GP played in the code space of the backbone's autoencoder.

    Generator: N(0, I) noise z -> `mapper` (MLP) -> a code -> the backbone's decoder -> voxels.
    Critic: an MLP scoring codes, real ones from the backbone's encoder against mapped noise,
    trained with the Wasserstein loss and a gradient penalty (Gulrajani et al., 2017), n_critic
    critic steps per generator step. Playing the game on 32-number codes instead of 4,096 voxels
    is what makes it stable and cheap (Achlioptas et al. found it better than GANs on raw 3D data).
    The autoencoder trains alongside (reconstruction BCE, weight ae_weight); warm-started from a
    trained AE, ae_weight=0 keeps that AE fixed and trains only the latent game.
    To reconstruct, `inverse` (MLP) maps a code back to noise, trained so that mapper(inverse(c))
    returns c (a cycle term that also keeps the mapper covering every training code):
    encode(x) = inverse(standardised encoder(x)), decode(z) = decoder(mapper(z) in code units).
    """

    kind = "gan"
    defaults = {"ae_weight": 1.0, "gp_weight": 10.0, "n_critic": 5, "cycle_weight": 1.0, "mapper_width": 256}
    reconstruction_method = ("encoder after the fact: the backbone autoencoder's encoder, then an MLP "
                             "trained to invert the latent generator (code -> noise)")

    def __init__(self, backbone, latent_dim, config, backbone_options):
        super().__init__(backbone, latent_dim, config)
        self.encoder = BACKBONES[backbone].build_encoder(latent_dim, backbone_options)
        self.decoder = BACKBONES[backbone].build_decoder(latent_dim, backbone_options)
        width = config["mapper_width"]
        self.mapper = mlp(latent_dim, width, latent_dim)  # noise -> code
        self.inverse = mlp(latent_dim, width, latent_dim)  # code -> noise
        self.critic = mlp(latent_dim, width, 1)  # code -> score
        # The game is played on standardised codes (any autoencoder's code scale works the same);
        # set from the training digits' codes when training starts (see set_code_scale).
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_std", torch.ones(latent_dim))

    @torch.no_grad()
    def set_code_scale(self, raw_codes: torch.Tensor) -> None:
        """Sets the standardisation of codes from the encoder's raw codes (N, latent_dim) of training digits."""
        self.code_mean.copy_(raw_codes.mean(0))
        self.code_std.copy_(raw_codes.std(0).clamp_min(1e-2))

    def train(self, mode: bool = True):
        """Sets training mode; a fixed autoencoder (ae_weight=0) stays in eval mode (batch-norm statistics frozen)."""
        super().train(mode)
        if not self.config["ae_weight"]:
            self.encoder.eval()
            self.decoder.eval()
        return self

    def encode(self, x):
        return self.inverse(self.codes(x))

    def decode_logits(self, z):
        return self.decoder(self.mapper(z) * self.code_std + self.code_mean)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the autoencoder's standardised codes (B, latent_dim) of voxels x (B, 16, 16, 16): the critic's real
        samples."""
        return self.standardise(self.encoder(x))

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        """Returns raw codes (B, latent_dim) standardised. While an autoencoder that trains (ae_weight > 0)
        moves its codes, training uses the batch's own statistics and tracks them for use afterwards,
        as batch norm does; otherwise the fixed scale set by set_code_scale."""
        if self.training and self.config["ae_weight"] and len(raw) > 1:
            mean, std = raw.mean(0), raw.std(0).clamp_min(1e-2)
            with torch.no_grad():
                self.code_mean.lerp_(mean.detach().float(), CODE_SCALE_MOMENTUM)
                self.code_std.lerp_(std.detach().float(), CODE_SCALE_MOMENTUM)
            return (raw - mean) / std
        return (raw - self.code_mean) / self.code_std

    def generator_parameters(self) -> list[nn.Parameter]:
        """Returns the parameters the generator step updates (mapper, inverse, and the autoencoder unless fixed)."""
        autoencoder = [*self.encoder.parameters(), *self.decoder.parameters()] if self.config["ae_weight"] else []
        return [*self.mapper.parameters(), *self.inverse.parameters(), *autoencoder]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Returns the critic's parameters."""
        return list(self.critic.parameters())

    def critic_loss(self, codes: torch.Tensor) -> Losses:
        """Returns the WGAN-GP critic loss for real codes (B, latent_dim) against freshly mapped noise."""
        codes = codes.float()
        fake = self.mapper(self.prior(len(codes)).to(codes.device)).detach().float()
        t = torch.rand(len(codes), 1, device=codes.device)
        mixed = (t * codes + (1 - t) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(self.critic(mixed).sum(), mixed, create_graph=True)
        penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
        distance = self.critic(codes).mean() - self.critic(fake).mean()  # the Wasserstein estimate
        return Losses(-distance + self.config["gp_weight"] * penalty, {"w_distance": distance, "gp": penalty})

    def forward(self, x, part: str = "generator", codes: torch.Tensor | None = None):
        """Returns the losses of one GAN step: part="critic" (x: real codes (B, latent_dim)) or "generator"
        (x: voxels (B, 16, 16, 16); codes: their codes, computed here if None).

        (Both parts go through forward so DistributedDataParallel can average their gradients.)
        """
        if part == "critic":
            return self.critic_loss(x)
        terms, total = {}, 0.0
        if self.config["ae_weight"]:
            own = self.encoder(x)
            terms["recon"] = reconstruction_loss(self.decoder(own), x)
            total = self.config["ae_weight"] * terms["recon"]
            codes = self.standardise(own).detach()
        elif codes is None:
            with torch.no_grad():
                codes = self.codes(x)
        codes = codes.float()
        terms["adv"] = -self.critic(self.mapper(self.prior(len(x)).to(x.device))).mean()
        terms["cycle"] = F.mse_loss(self.mapper(self.inverse(codes)), codes)
        total = total + terms["adv"] + self.config["cycle_weight"] * terms["cycle"]
        return Losses(total, terms)


# The one place kinds are named.
KIND_CLASSES = {"ae": AE, "vae": VAE, "gan": GAN}
