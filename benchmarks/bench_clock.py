"""Clock reader speed: synthetic clock generation and read_clock latency on CPU (medians).

    python -m benchmarks.bench_clock                 # 10,000 clocks x 3, 100 reads
    python -m benchmarks.bench_clock --n-clocks 2000 # quicker

Same as `python -m genlab clock bench`; prints figures, asserts nothing.
"""

import sys

from genlab.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["clock", "bench", *sys.argv[1:]]))
