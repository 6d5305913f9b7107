"""The "kaggle" source (being written)."""


def build(**params):
    """Raises: this source is not available yet."""
    raise ValueError("the kaggle source is not available yet")


def input_files(params):
    """Returns no input files."""
    return []
