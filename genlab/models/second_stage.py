"""A second-stage VAE over a VAE's codes ("two-stage VAE", Dai & Wipf 2019):
prior samples that land where the decoder was trained.

A VAE's codes of training digits do not fill N(0, I) evenly, so latents drawn from N(0, I) often
fall between digits and decode to blends (mostly "8"-like blobs). The second stage is a small VAE
whose data are those codes: its own latent u ~ N(0, I) goes through its decoder to a code, which
the first stage decodes to voxels. Both stages keep the VAE's KL to N(0, I); the second one learns
the shape of the codes that the first one's KL could not make Gaussian. Its decoder's output
noise gamma is learned (Dai & Wipf's key detail), so it can fit the codes tightly.

    stage = fit_second_stage(vae, X_train)   # X: (N, 16, 16, 16) -> a SecondStage
    vae.second_stage = stage                 # saved with the checkpoint
    z = stage.sample(16)                     # (16, latent_dim) codes for vae.decode
"""

import math

import torch
from torch import nn

from genlab.models.backbones import mlp
from genlab.models.density import encode_all

PREFIX = "second_stage/"  # checkpoint tensor names
STEPS = 10_000  # steps of 256 codes, chosen where the FD gain flattened
BATCH = 256
WIDTH = 256
KL_WARMUP = 0.05  # the KL weight rises from 0 to 1 over this share of the steps, so the latent is used before
# the KL can switch it off (without it, the second stage can settle on decoding every u to the mean code)


class Networks(nn.Module):
    """The second-stage VAE's networks: encoder (B, D) code -> (mu, logvar) of u, decoder (B, D) u -> standardised code.

    Codes are standardised by the training codes' mean and std (buffers), so any first stage's code
    scale works the same. log_gamma is the log of the decoder's (shared) output noise std.
    """

    def __init__(self, latent_dim: int, width: int = WIDTH):
        super().__init__()
        self.encoder = mlp(latent_dim, width, 2 * latent_dim, hidden_layers=3)
        self.decoder = mlp(latent_dim, width, latent_dim, hidden_layers=3)
        self.log_gamma = nn.Parameter(torch.zeros(()))
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_std", torch.ones(latent_dim))

    def forward(self, codes: torch.Tensor, kl_weight: float = 1.0) -> torch.Tensor:
        """Returns the negative ELBO per code (up to a constant) of first-stage codes (B, D), its KL weighted."""
        c = (codes - self.code_mean) / self.code_std
        mu, logvar = self.encoder(c).chunk(2, dim=1)
        u = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        nll = ((c - self.decoder(u)) ** 2).sum(1) / (2 * (2 * self.log_gamma).exp()) + c.shape[1] * self.log_gamma
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
        return (nll + kl_weight * kl).mean()


class SecondStage:
    """A fitted second stage (its `networks`), kept apart from the model's own weights like a CodeDensity."""

    def __init__(self, networks: Networks):
        self.networks = networks.eval()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Returns n first-stage codes (n, D): u ~ N(0, I) through the decoder (its mean; no output noise)."""
        net = self.networks
        u = torch.randn(n, len(net.code_mean), generator=generator)
        return net.decoder(u) * net.code_std + net.code_mean

    def tensors(self) -> dict[str, torch.Tensor]:
        """Returns the tensors to store in a checkpoint, named under PREFIX."""
        return {f"{PREFIX}{name}": value.detach().contiguous() for name, value in self.networks.state_dict().items()}

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], latent_dim: int, where: str = "checkpoint"
    ) -> "SecondStage | None":
        """Returns the second stage stored in a checkpoint's tensors (None if it has none); ValueError if malformed."""
        mine = {name[len(PREFIX):]: value for name, value in tensors.items() if name.startswith(PREFIX)}
        if not mine:
            return None
        first = mine.get("decoder.0.weight")
        networks = Networks(latent_dim, width=len(first) if first is not None and first.ndim == 2 else WIDTH)
        try:
            networks.load_state_dict(mine, strict=True)
        except RuntimeError as error:
            lines = str(error).strip().splitlines()
            raise ValueError(
                f"{where}: its second stage does not fit latent_dim {latent_dim}: {' '.join(lines[:2])}"
            ) from None
        if not all(torch.isfinite(value).all() for value in mine.values()):
            raise ValueError(f"{where}: its second stage holds NaN or infinite values")
        return cls(networks)


def fit_second_stage(model, X, steps: int = STEPS, seed: int = 0, batch_size: int = 500, progress=None) -> SecondStage:
    """Returns a second stage trained on model.encode of X (N, 16, 16, 16), on the CPU: Adam, cosine-decayed learning
    rate.

    progress(step, steps), if given, is called every 100 steps (it may raise to stop the fit)."""
    if len(X) < 2:
        raise ValueError(f"need at least two grids to fit a second stage, got {len(X)}")
    codes = encode_all(model, X, batch_size)
    with torch.random.fork_rng():  # seeded here without touching the caller's random state
        torch.manual_seed(seed)
        return SecondStage(_train(Networks(codes.shape[1]), codes, steps, seed, progress))


def _train(net: Networks, codes: torch.Tensor, steps: int, seed: int, progress=None) -> Networks:
    """Returns `net` trained on codes (N, D), its KL weight warmed up over the first KL_WARMUP of the steps."""
    net.code_mean.copy_(codes.mean(0))
    net.code_std.copy_(codes.std(0).clamp_min(1e-3))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        batch = codes[torch.randint(len(codes), (BATCH,), generator=generator)]
        loss = net(batch, kl_weight=min(1.0, step / (KL_WARMUP * steps)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress is not None and ((step + 1) % 100 == 0 or step + 1 == steps):
            progress(step + 1, steps)
    return net
