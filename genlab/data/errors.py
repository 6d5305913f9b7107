"""The one error type for bad data files."""


class DataError(ValueError):
    """A data file (or array) is unusable: the message names the file and what is wrong."""
