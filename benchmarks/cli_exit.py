"""Exit cost of a torch process: a plain interpreter exit against `gc.freeze()` first (what `actionlab.cli.run`
does after every verb), in one run.

    python benchmarks/cli_exit.py [--repeats 6]

Each case is `python -c "import torch ..."`, alternated; prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {"plain exit": "import torch", "gc.freeze() first": "import torch, gc; gc.freeze()"}


def main() -> None:
    """Time both cases alternately; print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeats):
        for name, code in CASES.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            seconds[name].append(time.perf_counter() - start)
    plain, frozen = (statistics.median(seconds[n]) for n in CASES)
    print(f"import torch then exit: plain {plain:.2f} s, gc.freeze() first {frozen:.2f} s: ratio {frozen / plain:.2f}")


if __name__ == "__main__":
    main()
