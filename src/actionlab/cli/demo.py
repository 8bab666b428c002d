"""`actionlab demo [--out DIR]`: generate (once) the synthetic set and compare the main methods on it."""

from __future__ import annotations

import argparse
import sys
import time

DEMO_METHODS = ["frame-cnn", "features-lstm", "clip3d"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` verb."""
    p = sub.add_parser("demo", help="synthetic dataset + compare of the main methods (always trains)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--clips-per-class", type=int, default=40)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--methods", default=",".join(DEMO_METHODS))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate or reuse the cached data, compare, print the table and the report path."""
    from actionlab.cache import cache_dir
    from actionlab.compare import compare, results_table
    from actionlab.data import dataset_from_spec
    from actionlab.synth import generate

    t0 = time.perf_counter()
    root = generate(cache_dir("demo-synth", f"c{args.clips_per_class}"), num_clips_per_class=args.clips_per_class,
                    size=64, seed=0)
    print(f"demo: data ready at {root} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    dataset = dataset_from_spec(f"folder:{root}")
    # small, fast settings: the 5-minute budget on 2 CPU cores includes data generation
    cfg = {"dataset": {"spec": f"folder:{root}"}, "num_frames": 8, "size": 48, "batch_size": 32, "epochs": 50}
    if args.epochs:
        cfg["epochs"] = args.epochs
    results = compare(dataset, [m.strip() for m in args.methods.split(",")], args.out, cfg)
    print(results_table(results))
    print(f"report: {args.out}/report.html ({time.perf_counter() - t0:.0f} s in all)")
    return 0 if results["methods"] else 1
