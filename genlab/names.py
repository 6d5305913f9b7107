"""The names genlab gives its models and data, and how people read them: the one place for each.

Imports nothing heavy (no torch), so the command line's --help and the app's first page can list
kinds, backbones and data sources without loading the models.

    KINDS          model kinds -> display title        ("vae" -> "VAE")
    BACKBONES      backbones -> display title          ("cnn_mlp" -> "CNN+MLP")
    DATA_SOURCES   dataset sources -> DataSource (title, short name, whether it needs a file)
    LATENT_SOURCES where a model can draw latents from -> the words the app and the evaluation show
    DIGIT_SOURCES  the latent sources that can draw a chosen digit

A new backbone is added in genlab.models.backbones with `register_backbone`, which names it here too.
"""

from dataclasses import dataclass

KINDS = {"ae": "AE", "vae": "VAE", "gan": "GAN"}

# The built-in backbones, in the order the models are listed (the networks: genlab.models.backbones).
BACKBONES = {"fcn": "FCN", "cnn_mlp": "CNN+MLP", "lstm": "LSTM", "gru": "GRU"}


@dataclass(frozen=True)
class DataSource:
    """How a dataset source is shown: its title (a data picker), short name (a table cell), and
    whether it is built from a file the user gives (then it has no default dataset)."""

    title: str
    short: str
    needs_file: bool = False


DATA_SOURCES = {
    "synthetic": DataSource("Procedural digits", "procedural"),
    "mnist": DataSource("Real MNIST digits", "MNIST"),
    "kaggle": DataSource("Kaggle 3D MNIST file", "Kaggle file", needs_file=True),
}

LATENT_SOURCES = {"refined": "per-digit Gaussian mixtures, their components weighted by how often "
                             "their decoded samples encode back as their digit",
                  "mixture": "per-digit Gaussian mixtures fitted to training codes",
                  "prior": "the N(0, I) prior", "two-stage": "N(0, I) through a second-stage VAE",
                  "density": "one Gaussian per digit fitted to training codes"}
DIGIT_SOURCES = ("refined", "mixture", "density")  # the latent sources that can draw a chosen digit, preferred first


def kind_title(kind: str) -> str:
    """Returns how a model kind is written for people: "vae" -> "VAE" (an unknown one in capitals)."""
    return KINDS.get(kind, kind.upper())


def backbone_title(backbone: str) -> str:
    """Returns how a backbone is written for people: "cnn_mlp" -> "CNN+MLP" (an unknown one in capitals)."""
    return BACKBONES.get(backbone, backbone.upper())


def source_title(source: str) -> str:
    """Returns a dataset source's title: "synthetic" -> "Procedural digits" (an unknown one as it is)."""
    return DATA_SOURCES[source].title if source in DATA_SOURCES else source


def source_short(source: str | None) -> str:
    """Returns a dataset source's short name for a table cell: "synthetic" -> "procedural"; "–" for none."""
    if not source:
        return "–"
    return DATA_SOURCES[source].short if source in DATA_SOURCES else source


def add_backbone_name(name: str, title: str) -> None:
    """Names a new backbone (genlab.models.backbones.register_backbone calls this; use that)."""
    if not name.isidentifier() or name in KINDS:
        raise ValueError(f"a backbone name must be a Python identifier and not a kind, not {name!r}")
    BACKBONES[name] = title
