"""`python -m genlab ...`: the command line."""

from genlab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
