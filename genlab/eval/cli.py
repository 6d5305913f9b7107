"""`python -m genlab eval`: see add_parser."""


def add_parser(subparsers) -> None:
    """Registers nothing yet."""
