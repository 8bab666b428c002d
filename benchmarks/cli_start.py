"""CLI start benchmark: wall time of `actionlab --help` and `actionlab VERB --help` in fresh interpreters.

The baseline, measured in the same run, is `python -c "import torch"` (what every verb paid before the verbs
imported torch lazily). The issue's goal is <= 1.5 s for every --help on the 2-core machine; the ratio says how
much of a torch import a help costs. Each command runs --repeat times; the median counts.
Run: python benchmarks/cli_start.py [--repeat 3] [--verbs train,compare]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

GOAL_S = 1.5


def seconds(argv: list[str], repeat: int) -> float:
    """Median wall time of running `python argv` `repeat` times (output discarded)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def all_verbs() -> list[str]:
    """Every verb of the parser (its build is itself torch-free)."""
    from actionlab.cli import build_parser

    parser = build_parser()
    return sorted(next(a for a in parser._actions if a.dest == "verb").choices)


def main() -> None:
    """Time the torch import, then each --help; print seconds, ratio to torch and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verbs", help="comma-separated verbs (default: all)")
    args = parser.parse_args()
    verbs = args.verbs.split(",") if args.verbs else all_verbs()
    torch_s = seconds(["-c", "import torch"], args.repeat)
    print(f"baseline: python -c 'import torch': {torch_s:.2f} s")
    worst = 0.0
    for verb in [None, *verbs]:
        cli = ["-m", "actionlab"] + ([verb] if verb else []) + ["--help"]
        took = seconds(cli, args.repeat)
        worst = max(worst, took)
        print(f"actionlab {verb + ' ' if verb else ''}--help: {took:.2f} s ({took / torch_s:.2f}x import torch)")
    verdict = "meets" if worst <= GOAL_S else "MISSES"
    print(f"slowest --help {worst:.2f} s: {verdict} the {GOAL_S} s goal")


if __name__ == "__main__":
    main()
