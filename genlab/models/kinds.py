"""The model kinds, each written once over any backbone: AE, VAE and GAN.

Every kind offers the same contract (shapes: B samples, grid 16^3):
    encode(x: (B, 16, 16, 16) in [0, 1]) -> z (B, latent_dim)     (VAE and GAN: the mean code)
    decode(z: (B, latent_dim)) -> probabilities (B, 16, 16, 16) in [0, 1]
    sample(n, source="mixture"|"prior"|"two-stage"|"density", digit=None) -> (n, 16, 16, 16)
    reconstruct(x) -> (B, 16, 16, 16)
    interpolate(x_a, x_b, steps, mode) -> (steps, 16, 16, 16)
and its training lives here too: the loss, returned as a `Losses` dataclass, and one training step
with the optimisers it needs, so the trainer (genlab.train.trainer) only calls

    optimisers = model.make_optimisers(lr)                           # {name: torch optimiser}
    extra = model.prepare_training(X_train, device, resumed)         # per-sample inputs a step reuses, or None
    losses = model.training_step(net, x, optimisers, step, extra)    # {name: float}, weights updated
"""

import contextlib
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.export
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genlab import names
from genlab.models.backbones import BACKBONES, GRID, mlp
from genlab.models.density import DIGIT_REFINE_POWER, DIGIT_SPREAD, REFINE_POWER, CodeDensity
from genlab.models.interpolation import latent_path
from genlab.models.output_curve import apply_curve
from genlab.models.second_stage import SecondStage
from genlab.names import DIGIT_SOURCES, LATENT_SOURCES

VOXELS = GRID**3
LOGVAR_START = -4.0  # a Gaussian encoder warm-started from an AE begins nearly deterministic
CODE_SCALE_MOMENTUM = 0.05  # how fast a GAN's code standardisation follows an autoencoder that trains


@dataclass
class Losses:
    """Returns of a loss computation: the scalar to minimise and its named parts (for logging)."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)

    def floats(self) -> dict[str, float]:
        """Returns {"loss": total, **terms} as plain floats."""
        return {"loss": float(self.total.detach()), **{k: float(v.detach()) for k, v in self.terms.items()}}


# DistributedDataParallel finds the tensors of a forward's output by flattening it as a pytree;
# registering Losses (the public way: torch.export.register_dataclass) lets it see the loss tensors.
torch.export.register_dataclass(Losses, serialized_type_name="genlab.models.kinds.Losses")


@dataclass
class StepSettings:
    """How the trainer runs a training step: the autocast context (mixed precision on a GPU, a
    no-op on the CPU) and the gradient-norm clip (0: none)."""

    autocast: contextlib.AbstractContextManager = field(default_factory=contextlib.nullcontext)
    grad_clip: float = 1.0


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float) -> None:
    """Takes one optimiser step on `loss`, its gradients clipped to norm grad_clip (0: not clipped)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], grad_clip)
    optimizer.step()


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Returns the mean per-voxel binary cross-entropy (the paper's BCE) of logits (B, 16, 16, 16) against x."""
    return F.binary_cross_entropy_with_logits(logits.float(), x.float())


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Returns KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, averaged over the batch."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


class GenerativeModel(nn.Module):
    """The shared contract of every model; a subclass supplies the kind (networks, loss and training step)."""

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
        self.output_curve: torch.Tensor | None = None  # see render() and genlab.models.output_curve

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

    def render(self, grids: torch.Tensor) -> torch.Tensor:
        """Returns decoded grids (B, 16, 16, 16) as generated grids are shown and judged: through the model's
        output curve, which gives them the voxel values of real training digits (genlab.models.output_curve),
        or as they are where none is fitted. decode() and reconstruct() give the probabilities BCE judges."""
        return grids if self.output_curve is None else apply_curve(self.output_curve, grids)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Returns the grids (B, 16, 16, 16) shown for latents z (B, latent_dim): decode(z) through render()."""
        return self.render(self.decode(z))

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Returns n latents (n, latent_dim) drawn from N(0, I)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device if generator else "cpu")
        return z.to(device)

    def default_source(self) -> str:
        """Returns where sample() draws latents by default: "refined" once the mixture's fidelity is measured,
        else "mixture" once fitted (every kind), else "two-stage" for a model with a second stage (VAEs),
        "density" for an AE with a density (an AE has no prior), else "prior" (N(0, I))."""
        if self.code_mixture is not None:
            return "refined" if self.code_mixture.fidelity is not None else "mixture"
        if self.second_stage is not None:
            return "two-stage"
        return "density" if self.kind == "ae" and self.code_density is not None else "prior"

    def digit_source(self) -> str | None:
        """Returns the source sample(n, digit=d) draws from by default: the first fitted of DIGIT_SOURCES, or None."""
        return next((source for source in DIGIT_SOURCES if self._fitted(source)), None)

    def _fitted(self, source: str) -> bool:
        """Returns whether the latent source `source` can draw now (see latent_sources)."""
        mixture = self.code_mixture
        return {"refined": mixture is not None and mixture.fidelity is not None, "mixture": mixture is not None,
                "prior": self.kind != "ae", "two-stage": self.second_stage is not None,
                "density": self.code_density is not None}[source]

    def per_digit(self, source: str, power: float = REFINE_POWER) -> CodeDensity:
        """Returns the per-digit density a DIGIT_SOURCES source draws from (source "refined": refined at `power`);
        ValueError naming how to fit it if the model has none."""
        density = self.code_density if source == "density" else self.code_mixture
        if density is None or (source == "refined" and density.fidelity is None):
            what = {"refined": "code mixture with measured fidelity", "mixture": "code mixture",
                    "density": "code density"}[source]
            raise ValueError(f"this {self.kind}/{self.backbone} model has no fitted {what}; fit one with "
                             "genlab.models.fit_samplers (python -m genlab train --fit-samplers CHECKPOINT)")
        return density.refined(power) if source == "refined" else density

    def latent_sources(self) -> list[str]:
        """Returns the sources sample() can draw from, its default first: "refined", "mixture", "two-stage" and
        "density" (once fitted), "prior" (not an AE's); an AE with none falls back to "prior"."""
        sources = [source for source in LATENT_SOURCES if self._fitted(source)]
        return sorted(sources or ["prior"], key=lambda source: source != self.default_source())

    def latents(self, n: int, generator: torch.Generator | None = None, source: str | None = None,
                digit: int | None = None, spread: float | None = None) -> torch.Tensor:
        """Returns n latents (n, latent_dim) to decode as new samples.

        source: "refined" (the mixture below, each component weighted by its fidelity, see
        genlab.models.density), "mixture" (per-digit Gaussian mixtures fitted to the codes of training digits),
        "prior" (N(0, I)), "two-stage" (N(0, I) through the second-stage VAE fitted to those codes,
        see genlab.models.second_stage), "density" (one Gaussian per digit fitted to those codes; both
        per-digit sources: genlab.models.density) or None (default_source(); with a digit, digit_source()).
        digit (0..9) draws that digit's part of the mixture or density ("refined": at DIGIT_REFINE_POWER, not
        REFINE_POWER). spread scales the mixture's or density's noise (see CodeDensity.sample); None:
        DIGIT_SPREAD for a digit, else 1.
        """
        source = source or ((self.digit_source() or "density") if digit is not None else self.default_source())
        if source not in LATENT_SOURCES:
            raise ValueError(f"latent source must be one of {sorted(LATENT_SOURCES)}, not {source!r}")
        if digit is not None and source not in DIGIT_SOURCES:
            raise ValueError(f"{LATENT_SOURCES[source]} knows no digits: choose a digit with source='refined', "
                             "'mixture' or 'density'")
        if source == "prior":
            return self.prior(n, generator)
        device = next(self.parameters()).device
        if source == "two-stage":
            if self.second_stage is None:
                raise ValueError(f"this {self.kind}/{self.backbone} model has no second stage; fit one with "
                                 "python -m genlab train --fit-samplers CHECKPOINT")
            return self.second_stage.sample(n, generator).to(device)  # the second stage lives on the CPU
        if spread is None:
            spread = 1.0 if digit is None else DIGIT_SPREAD
        density = self.per_digit(source, REFINE_POWER if digit is None else DIGIT_REFINE_POWER)
        return density.sample(n, digit, generator, spread).to(device)  # the densities live on the CPU

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, source: str | None = None,
               digit: int | None = None, spread: float | None = None) -> torch.Tensor:
        """Returns n new grids (n, 16, 16, 16) decoded from latents(n, generator, source, digit, spread), rendered
        (see render)."""
        return self.generate(self.latents(n, generator, source, digit, spread))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Returns reconstructions (B, 16, 16, 16) of voxels x (B, 16, 16, 16)."""
        return self.decode(self.encode(x))

    @torch.no_grad()
    def interpolate(self, x_a: torch.Tensor, x_b: torch.Tensor, steps: int, mode: str = "linear") -> torch.Tensor:
        """Returns `steps` grids (steps, 16, 16, 16) decoded along the latent path from x_a to x_b, rendered.

        x_a, x_b: (16, 16, 16) or (1, 16, 16, 16); mode: "linear" or "spherical" (see latent_path).
        """
        z = self.encode(torch.stack([x_a.reshape(GRID, GRID, GRID), x_b.reshape(GRID, GRID, GRID)]))
        return self.generate(latent_path(z[0], z[1], steps, mode))

    def forward(self, x: torch.Tensor) -> Losses:
        """Returns the training losses for a batch x (B, 16, 16, 16)."""
        raise NotImplementedError

    # -- training (the trainer calls these; a kind with another game overrides them) -----------
    # Whether a step leaves some parameters without gradients (DistributedDataParallel must know).
    step_leaves_parameters_unused: ClassVar[bool] = False

    def make_optimisers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """Returns the named optimisers a training step uses: one Adam over every parameter."""
        return {"model": torch.optim.Adam(self.parameters(), lr)}

    def prepare_training(self, X: torch.Tensor, device, resumed: bool) -> torch.Tensor | None:
        """Returns per-sample inputs (N, ...) that every training step reuses, computed once from the
        training digits X (N, 16, 16, 16), or None (here: none). resumed: the run continues a checkpoint."""
        return None

    def training_step(self, net, x: torch.Tensor, optimisers: dict, step: StepSettings,
                      extra: torch.Tensor | None = None) -> dict[str, float]:
        """Returns the losses of one training step on the batch x (B, 16, 16, 16), after updating the weights.

        net: this model, or its DistributedDataParallel wrapper (call it, not self, so gradients are
        averaged over processes); extra: the batch's rows of prepare_training's result.
        """
        with step.autocast:
            losses = net(x)
        update(optimisers["model"], losses.total, step.grad_clip)
        return losses.floats()

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
    The default beta=0.1 (a beta-VAE) keeps the codes more informative: warm-started from the shipped
    AEs, it beat beta=1 on every VAE's test BCE, sample FD, recall and digit on request (docs/models.md,
    "The VAEs are beta-VAEs"); beta=1 drew blurred "8"s for 16-19% of samples.
    """

    kind = "vae"
    defaults = {"beta": 0.1}

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

    voxel_weight > 0 adds the game in voxel space too (as 3D-GAN, Wu et al., 2016): a `VoxelCritic`
    (3D convolutions, spectrally normalised, hinge loss) scores decoded grids against real digits, and
    the decoder is fine-tuned by it (adversarial term times voxel_weight) while still reconstructing
    the training digits from the encoder's codes, so a GAN no longer shares its decoder with its AE.
    voxel_weight = 0 (the default, and every older checkpoint) is the latent-only game.
    """

    kind = "gan"
    defaults = {"ae_weight": 1.0, "gp_weight": 10.0, "n_critic": 5, "cycle_weight": 1.0, "mapper_width": 256,
                "voxel_weight": 0.0, "voxel_width": 8}
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
        # Only a voxel-space GAN has one, so latent-only checkpoints keep their tensors.
        self.voxel_critic = VoxelCritic(config["voxel_width"]) if config["voxel_weight"] else None
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
        """Sets training mode; a fixed autoencoder (ae_weight=0) keeps its batch-norm statistics frozen.

        Only the batch-norm layers are put in eval mode: the voxel game backpropagates through the
        decoder, and cuDNN's recurrent layers refuse a backward pass in eval mode.
        """
        super().train(mode)
        if not self.config["ae_weight"]:
            for layer in (*self.encoder.modules(), *self.decoder.modules()):
                if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                    layer.eval()
        return self

    def game(self) -> str:
        """Returns where the adversarial game is played, in words (for reports)."""
        weight = self.config["voxel_weight"]
        return f"latent codes and voxels (3D critic, weight {weight:g})" if weight else "latent codes only"

    def encode(self, x):
        return self.inverse(self.codes(x))

    def decode_logits(self, z):
        return self.decode_codes(self.mapper(z))

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Returns the decoder's voxel logits (B, 16, 16, 16) for standardised codes (B, latent_dim)."""
        return self.decoder(codes * self.code_std + self.code_mean)

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
        """Returns the parameters the generator step updates: mapper, inverse, the encoder unless the
        autoencoder is fixed, and the decoder unless it is fixed and there is no voxel game."""
        encoder = list(self.encoder.parameters()) if self.config["ae_weight"] else []
        decoder = list(self.decoder.parameters()) if self.config["ae_weight"] or self.voxel_critic else []
        return [*self.mapper.parameters(), *self.inverse.parameters(), *encoder, *decoder]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        """Returns the critics' parameters (the code critic's, and the voxel critic's if any)."""
        voxel = list(self.voxel_critic.parameters()) if self.voxel_critic else []
        return [*self.critic.parameters(), *voxel]

    def critic_loss(self, codes: torch.Tensor, x: torch.Tensor | None = None,
                    fake_grids: torch.Tensor | None = None) -> Losses:
        """Returns the WGAN-GP critic loss for real codes (B, latent_dim) against freshly mapped noise,
        plus, given fake_grids (decoded samples (B, 16, 16, 16)), the voxel critic's hinge loss for
        real grids x (B, 16, 16, 16) against them."""
        codes = codes.float()
        fake = self.mapper(self.prior(len(codes)).to(codes.device)).detach().float()
        t = torch.rand(len(codes), 1, device=codes.device)
        mixed = (t * codes + (1 - t) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(self.critic(mixed).sum(), mixed, create_graph=True)
        penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
        distance = self.critic(codes).mean() - self.critic(fake).mean()  # the Wasserstein estimate
        total = -distance + self.config["gp_weight"] * penalty
        terms = {"w_distance": distance, "gp": penalty}
        if fake_grids is not None:
            real_score, fake_score = self.voxel_critic(x.float()), self.voxel_critic(fake_grids.float())
            terms["voxel_hinge"] = F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()
            terms["voxel_gap"] = real_score.mean() - fake_score.mean()
            total = total + terms["voxel_hinge"]
        return Losses(total, terms)

    step_leaves_parameters_unused = True  # the critic's update leaves the generator without gradients

    def make_optimisers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """Returns {"generator", "discriminator"} Adam optimisers; WGAN-GP's betas (0.5, 0.9) keep the two
        players from overshooting."""
        return {"generator": torch.optim.Adam(self.generator_parameters(), lr, betas=(0.5, 0.9)),
                "discriminator": torch.optim.Adam(self.discriminator_parameters(), lr, betas=(0.5, 0.9))}

    @torch.no_grad()
    def prepare_training(self, X: torch.Tensor, device, resumed: bool, batch_size: int = 500) -> torch.Tensor | None:
        """Sets the code standardisation from the encoder's codes of X (N, 16, 16, 16); returns the
        standardised codes (N, latent_dim) if the autoencoder stays fixed (then they are computed once
        instead of every step: the encoder is most of a step's cost), else None.

        resumed: keep the standardisation the model holds (a resumed run's, tracked while training)."""
        if self.config["ae_weight"] and resumed:
            return None  # (an encoder pass in training mode would also move its batch-norm statistics)
        # Codes as training will see them: a fixed autoencoder is in eval mode, one that trains is not.
        raw = torch.cat([self.encoder(xb.to(device)).float() for xb in X.split(batch_size)])
        self.set_code_scale(raw)  # a fixed autoencoder's comes out the same on resume
        return None if self.config["ae_weight"] else self.standardise(raw)

    def training_step(self, net, x, optimisers, step, extra=None):
        """Returns the losses of one GAN step on real x (B, 16, 16, 16): n_critic critic updates, then the
        generator's. extra: x's standardised codes (B, latent_dim) when the autoencoder is fixed."""
        codes = extra
        if codes is None:
            with torch.no_grad(), step.autocast:
                codes = self.codes(x).float()  # the critic's real samples, shared by its steps
        fakes = None
        if self.voxel_critic is not None:  # one voxel critic update per step: 3D convolutions are the cost
            with torch.no_grad(), step.autocast:
                fakes = self.decode(self.prior(len(x)).to(x.device)).float()
        for i in range(self.config["n_critic"]):
            with step.autocast:
                d_losses = net(x, part="critic", codes=codes, fakes=fakes if i == 0 else None)
            if i == 0:
                voxel_terms = {k: v for k, v in d_losses.floats().items() if k.startswith("voxel")}
            update(optimisers["discriminator"], d_losses.total, step.grad_clip)
        with step.autocast:
            g_losses = net(x, part="generator", codes=codes)
        update(optimisers["generator"], g_losses.total, step.grad_clip)
        d = d_losses.floats()
        return {**g_losses.floats(), "d_loss": d.pop("loss"), **d, **voxel_terms}

    def forward(self, x, part: str = "generator", codes: torch.Tensor | None = None,
                fakes: torch.Tensor | None = None):
        """Returns the losses of one GAN step on voxels x (B, 16, 16, 16) with their standardised codes
        (computed here if None): part="critic" (fakes: decoded samples, for the voxel critic's
        loss too) or "generator".

        (Both parts go through forward so DistributedDataParallel can average their gradients.)
        """
        if codes is None:
            with torch.no_grad():
                codes = self.codes(x)
        if part == "critic":
            return self.critic_loss(codes, x, fakes)
        terms, total = {}, 0.0
        if self.config["ae_weight"]:
            own = self.encoder(x)
            terms["recon"] = reconstruction_loss(self.decoder(own), x)
            total = self.config["ae_weight"] * terms["recon"]
            codes = self.standardise(own).detach()
        elif self.voxel_critic is not None:  # the decoder trains: it keeps reconstructing the fixed codes
            terms["recon"] = reconstruction_loss(self.decode_codes(codes.float()), x)
            total = terms["recon"]
        codes = codes.float()
        mapped = self.mapper(self.prior(len(x)).to(x.device))
        terms["adv"] = -self.critic(mapped).mean()
        if self.voxel_critic is not None:
            grids = torch.sigmoid(self.decode_codes(mapped))
            terms["voxel_adv"] = -self.voxel_critic(grids.float()).mean()
            total = total + self.config["voxel_weight"] * terms["voxel_adv"]
        terms["cycle"] = F.mse_loss(self.mapper(self.inverse(codes)), codes)
        total = total + terms["adv"] + self.config["cycle_weight"] * terms["cycle"]
        return Losses(total, terms)


class VoxelCritic(nn.Module):
    """A 3D-GAN-style critic: voxel grids (B, 16, 16, 16) in [0, 1] -> scores (B, 1).

    Three stride-2 3x3x3 convolutions (16 -> 8 -> 4 -> 2 voxels a side, width w -> 2w -> 4w) with
    LeakyReLU, then a linear score, every layer spectrally normalised (Miyato et al., 2018): the
    critic stays smooth without a gradient penalty, whose second derivatives through 3D
    convolutions cost 2-3 times a plain step on a CPU.
    """

    def __init__(self, width: int = 8):
        super().__init__()
        layers, c_in = [], 1
        for c_out in (width, 2 * width, 4 * width):
            layers += [spectral_norm(nn.Conv3d(c_in, c_out, 3, 2, 1)), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.score = spectral_norm(nn.Linear(c_in * (GRID // 8) ** 3, 1))

    def forward(self, grids: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(grids[:, None]).flatten(1))


# The classes of the kinds genlab.names names.
KIND_CLASSES = {"ae": AE, "vae": VAE, "gan": GAN}
assert set(KIND_CLASSES) == set(names.KINDS), "every kind in genlab.names needs its class here"
