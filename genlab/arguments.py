"""argparse types shared by the command line's parts: a bad number is refused while the arguments are read,
before any data is drawn or model built, as one line naming the argument."""

import argparse


def count(text: str) -> int:
    """Returns a count from the command line (epochs, steps, clocks, threads...): a whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def positive(text: str) -> float:
    """Returns a positive number from the command line (minutes, a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value
