"""The backbones, each written once as an encoder network and a decoder network.

An encoder maps voxels `x: (B, 16, 16, 16)` in [0, 1] to features `(B, out_dim)`; a decoder maps
a latent `z: (B, latent_dim)` to voxel *logits* `(B, 16, 16, 16)` (the model kind applies the
sigmoid). The kinds in `genlab.models.kinds` use them as encoder and decoder (a GAN's generator
ends in the decoder; its critic judges the encoder's codes).

- FCN: 3D convolutions only (no dense layer): 16^3 -> 8^3 -> 4^3 -> 2^3 -> 1^3 and back.
- CNN+MLP: two 3D convolutions, then a dense bottleneck.
- LSTM / GRU: the grid read as a sequence of 16 slices of 16x16; the decoder emits one slice per step.
"""

from dataclasses import dataclass

import torch
from torch import nn

from genlab import names
from genlab.data import GRID

SLICE = GRID * GRID  # voxels in one 16x16 slice


# Decoders start near the data's mean occupancy (a small share of voxels), not at 50%: faster early training.
OUTPUT_BIAS = -2.5


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


def _norm(channels: int, enabled: bool) -> nn.Module:
    # Batch norm speeds up training (norm=False leaves it out).
    return nn.BatchNorm3d(channels) if enabled else nn.Identity()


def mlp(d_in: int, width: int, d_out: int, hidden_layers: int = 2) -> nn.Sequential:
    """Returns a perceptron (B, d_in) -> (B, d_out) with hidden_layers LeakyReLU layers of `width`
    (a GAN's mapper and critic, a second stage)."""
    layers, size = [], d_in
    for _ in range(hidden_layers):
        layers += [nn.Linear(size, width), _act()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, d_out))


def _output_layer(layer: nn.Module) -> nn.Module:
    nn.init.constant_(layer.bias, OUTPUT_BIAS)
    return layer


class FCNEncoder(nn.Module):
    """Returns features (B, out_dim) from voxels (B, 16, 16, 16), using 3D convolutions only."""

    def __init__(self, out_dim: int, width: int = 16, norm: bool = True):
        super().__init__()
        c = width
        self.net = nn.Sequential(
            nn.Conv3d(1, c, 4, 2, 1), _act(),  # 16^3 -> 8^3
            nn.Conv3d(c, 2 * c, 4, 2, 1), _norm(2 * c, norm), _act(),  # -> 4^3
            nn.Conv3d(2 * c, 4 * c, 4, 2, 1), _norm(4 * c, norm), _act(),  # -> 2^3
            nn.Conv3d(4 * c, out_dim, 2),  # -> 1^3: a 2x2x2 convolution plays the dense layer's part
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1)).flatten(1)


class FCNDecoder(nn.Module):
    """Returns voxel logits (B, 16, 16, 16) from latents (B, latent_dim), using transposed 3D convolutions only."""

    def __init__(self, latent_dim: int, width: int = 16, norm: bool = True):
        super().__init__()
        c = width
        self.net = nn.Sequential(
            nn.ConvTranspose3d(latent_dim, 4 * c, 2), _norm(4 * c, norm), _act(),  # 1^3 -> 2^3
            nn.ConvTranspose3d(4 * c, 2 * c, 4, 2, 1), _norm(2 * c, norm), _act(),  # -> 4^3
            nn.ConvTranspose3d(2 * c, c, 4, 2, 1), _norm(c, norm), _act(),  # -> 8^3
            _output_layer(nn.ConvTranspose3d(c, 1, 4, 2, 1)),  # -> 16^3
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None, None]).squeeze(1)


class ConvMLPEncoder(nn.Module):
    """Returns features (B, out_dim) from voxels (B, 16, 16, 16): two 3D convolutions, then dense layers."""

    def __init__(self, out_dim: int, width: int = 16, hidden: int = 256, norm: bool = True):
        super().__init__()
        c = width
        self.net = nn.Sequential(
            nn.Conv3d(1, c, 4, 2, 1), _act(),  # 16^3 -> 8^3
            nn.Conv3d(c, 2 * c, 4, 2, 1), _norm(2 * c, norm), _act(),  # -> 4^3
            nn.Flatten(),
            nn.Linear(2 * c * 4**3, hidden), _act(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1))


class ConvMLPDecoder(nn.Module):
    """Returns voxel logits (B, 16, 16, 16) from latents (B, latent_dim): dense layers, then two transposed
    convolutions."""

    def __init__(self, latent_dim: int, width: int = 16, hidden: int = 256, norm: bool = True):
        super().__init__()
        c = width
        self.dense = nn.Sequential(
            nn.Linear(latent_dim, hidden), _act(),
            nn.Linear(hidden, 2 * c * 4**3), _act(),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose3d(2 * c, c, 4, 2, 1), _norm(c, norm), _act(),  # 4^3 -> 8^3
            _output_layer(nn.ConvTranspose3d(c, 1, 4, 2, 1)),  # -> 16^3
        )
        self.channels = 2 * c

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).view(len(z), self.channels, 4, 4, 4)
        return self.deconv(h).squeeze(1)


RNN_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentEncoder(nn.Module):
    """Returns features (B, out_dim) from voxels (B, 16, 16, 16) read as 16 slices of 16x16 by an LSTM or GRU."""

    def __init__(self, out_dim: int, cell: str = "lstm", hidden: int = 256, norm: bool = True):
        super().__init__()
        self.rnn = RNN_CELLS[cell](SLICE, hidden, batch_first=True)
        self.norm = nn.LayerNorm(hidden) if norm else nn.Identity()
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.reshape(len(x), GRID, SLICE))  # (B, 16 slices, hidden)
        return self.head(self.norm(out[:, -1]))


class RecurrentDecoder(nn.Module):
    """Returns voxel logits (B, 16, 16, 16) from latents (B, latent_dim): an LSTM or GRU emits one 16x16 slice per step.

    The latent is fed at every step (with a learned step embedding, so steps can differ).
    """

    def __init__(self, latent_dim: int, cell: str = "lstm", hidden: int = 256, norm: bool = True):
        super().__init__()
        self.rnn = RNN_CELLS[cell](latent_dim, hidden, batch_first=True)
        self.step = nn.Parameter(torch.zeros(GRID, latent_dim))
        self.norm = nn.LayerNorm(hidden) if norm else nn.Identity()
        self.head = _output_layer(nn.Linear(hidden, SLICE))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        steps = z[:, None, :] + self.step  # (B, 16, latent_dim)
        out, _ = self.rnn(steps)  # (B, 16, hidden)
        return self.head(self.norm(out)).view(len(z), GRID, GRID, GRID)


@dataclass(frozen=True)
class Backbone:
    """How to build one backbone: its encoder and decoder classes and their default options."""

    encoder: type
    decoder: type
    defaults: dict

    def build_encoder(self, out_dim: int, options: dict) -> nn.Module:
        return self.encoder(out_dim, **options)

    def build_decoder(self, latent_dim: int, options: dict) -> nn.Module:
        return self.decoder(latent_dim, **options)


# The networks of the built-in backbones, with their default sizes (small: CPU training in minutes);
# their names and titles are in genlab.names.
BACKBONES = {
    "fcn": Backbone(FCNEncoder, FCNDecoder, {"width": 16, "norm": True}),
    "cnn_mlp": Backbone(ConvMLPEncoder, ConvMLPDecoder, {"width": 16, "hidden": 256, "norm": True}),
    "lstm": Backbone(RecurrentEncoder, RecurrentDecoder, {"cell": "lstm", "hidden": 256, "norm": True}),
    "gru": Backbone(RecurrentEncoder, RecurrentDecoder, {"cell": "gru", "hidden": 256, "norm": True}),
}
assert set(BACKBONES) == set(names.BACKBONES), "every backbone in genlab.names needs its networks here"


def register_backbone(name: str, title: str, backbone: Backbone) -> None:
    """Adds a backbone: its networks here, its name and display title in genlab.names, so every
    model kind, the command line's choices, the manifest and the reports know it."""
    if name in BACKBONES:
        raise ValueError(f"a backbone named {name!r} exists already")
    names.add_backbone_name(name, title)
    BACKBONES[name] = backbone
