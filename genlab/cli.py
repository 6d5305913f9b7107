"""The `python -m genlab` command line: one subcommand per area of the package.

Each area keeps its own `cli.py` with `add_parser(subparsers)`, which registers its
subcommand and sets `func` (called with the parsed args; returns an exit code).
Heavy imports (torch) happen inside those functions so `--help` stays fast.
"""

import argparse
import sys

from genlab.clock import cli as clock_cli
from genlab.data import cli as data_cli
from genlab.eval import cli as eval_cli
from genlab.train import cli as train_cli

AREAS = (data_cli, train_cli, eval_cli, clock_cli)


def key_values(pairs: list[str], flag: str) -> dict:
    """Returns {key: value} from ["key=value", ...] given with `flag`;
    values read as JSON where they parse (true, 3, 0.5)."""
    import json

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects KEY=VALUE, not {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def build_parser() -> argparse.ArgumentParser:
    """Returns the top-level parser with every area's subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m genlab",
        description="genlab: explore generative models of 3D voxel digits.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        area.add_parser(subparsers)
    return parser


BAD_INPUT, FAILED, INTERRUPTED = 2, 1, 130  # exit codes


def main(argv=None) -> int:
    """Runs the command line; returns the process exit code (0 on success).

    Errors are printed as one line without a traceback: bad input (ValueError, OSError: a bad
    file, a locked or missing path) exits 2, a failed run (RuntimeError such as a diverged
    training, MemoryError) exits 1, Ctrl-C 130. Anything else is a bug: it is printed the same
    way, and GENLAB_DEBUG=1 shows its traceback.
    """
    import os

    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except MemoryError as error:
        print(f"error: out of memory{f' ({error})' if str(error) else ''}; try a smaller batch or dataset",
              file=sys.stderr)
        return FAILED
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    except Exception as error:  # noqa: BLE001 - a bug: still one line, the traceback on request
        if os.environ.get("GENLAB_DEBUG"):
            raise
        print(f"error: internal error ({type(error).__name__}: {error}); "
              f"run with GENLAB_DEBUG=1 to see where", file=sys.stderr)
        return FAILED
