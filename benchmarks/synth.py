"""Synth benchmark: clips/s of generate() for the default set (14 classes x 40 clips, 112 px) with 2 workers.

The baseline, measured in the same run, is one worker on a subset (4 clips per class); the ratio says what the
process pool buys. The issue's goal is >= 20 clips/s at 112x112 on the 2-core machine. Every clip is rendered and
encoded to h264 mp4 in a fresh temporary folder, so nothing is reused from the cache.
Run: python benchmarks/synth.py [--clips-per-class 40] [--size 112] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from actionlab.synth import ACTIONS, generate

GOAL_CLIPS_PER_S = 20.0


def clips_per_second(out: Path, clips_per_class: int, size: int, workers: int) -> float:
    """Generate a fresh set into `out` and return its throughput."""
    start = time.perf_counter()
    generate(out, num_clips_per_class=clips_per_class, size=size, seed=0, workers=workers)
    return clips_per_class * len(ACTIONS) / (time.perf_counter() - start)


def main() -> None:
    """Time the baseline and the default set, print clips/s and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-class", type=int, default=40)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = clips_per_second(Path(tmp) / "one-worker", 4, args.size, 1)
        rate = clips_per_second(Path(tmp) / "set", args.clips_per_class, args.size, args.workers)
    total = args.clips_per_class * len(ACTIONS)
    verdict = "meets" if rate >= GOAL_CLIPS_PER_S else "MISSES"
    print(
        f"synth {total} clips {args.size}x{args.size}, {args.workers} workers: {rate:.1f} clips/s "
        f"({total / rate:.1f} s) | 1 worker baseline {base:.1f} clips/s (ratio {rate / base:.2f}x) | "
        f"goal {GOAL_CLIPS_PER_S:.0f} clips/s: {verdict}"
    )


if __name__ == "__main__":
    main()
