"""The "synthetic" source (being written)."""


def build(**params):
    """Raises: this source is not available yet."""
    raise ValueError("the synthetic source is not available yet")


def input_files(params):
    """Returns no input files."""
    return []
