"""The clock reader on real photos: accuracy, calibration, breakdowns, time, and a contact sheet of misreads.

    python -m benchmarks.bench_clock_real                                   # ../shared/data/clocks_real
    python -m benchmarks.bench_clock_real --folder DIR --sheet misreads.png --weights W.safetensors

Prints figures (one line per photo with --verbose); asserts nothing. The folder is a development set.
"""

import argparse
import os
import sys
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clocks_real"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=os.environ.get("GENLAB_CLOCKS_REAL", DEFAULT_FOLDER))
    parser.add_argument("--weights", default=None, help="default weights/clock_reader.safetensors")
    parser.add_argument("--sheet", default="clock_misreads.png", help="contact sheet of the misreads (PNG)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    import torch

    from genlab.clock.read import load_default_reader
    from genlab.clock.realbench import contact_sheet, read_folder, summarise

    torch.set_num_threads(args.threads)
    if not (Path(args.folder) / "labels.json").is_file():
        print(f"no labelled photos at {args.folder} (labels.json missing)", file=sys.stderr)
        return 2
    reader = load_default_reader(args.weights)
    rows = read_folder(args.folder, reader, log=print if args.verbose else None)
    print(summarise(rows))
    shown = contact_sheet(rows, args.sheet)
    print(f"\ncontact sheet of {shown} misreads (> 10 min off): {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
