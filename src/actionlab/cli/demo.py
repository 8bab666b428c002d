"""`actionlab demo [--out DIR]`: generate (once) the synthetic set and compare the main methods on it."""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

DEMO_METHODS = ["frame-cnn", "features-mlp", "features-lstm", "clip3d", "flow2p1d", "two-stream"]
# Small, fast settings: the 5-minute budget on 2 CPU cores includes data generation. Frames are decoded once at
# 48 px; each method gets the epochs it needs to converge at that size.
DEMO_CONFIG: dict = {"num_frames": 8, "size": 48, "batch_size": 32, "epochs": 30,
                     "per_method": {"frame-cnn": {"epochs": 6}, "features-lstm": {"epochs": 6, "rnn_epochs": 30},
                                    "flow2p1d": {"epochs": 10}}}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` verb."""
    from actionlab.cli.train import add_training_args

    p = sub.add_parser("demo", help="synthetic dataset + compare of the main methods (always trains)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--clips-per-class", type=int, default=40)
    p.add_argument("--methods", default=",".join(DEMO_METHODS))
    add_training_args(p)
    p.set_defaults(func=run)


def synth_version() -> str:
    """A hash of the synth package's source, so a changed generator never reuses stale cached demo data."""
    import actionlab.synth

    h = hashlib.sha1()
    for f in sorted(Path(actionlab.synth.__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:10]


def run(args: argparse.Namespace) -> int:
    """Generate or reuse the cached data, compare, print the table and the report path."""
    from actionlab.cache import cache_dir
    from actionlab.cli.train import training_config
    from actionlab.compare import compare, results_table
    from actionlab.data import dataset_from_spec
    from actionlab.methods import get_method

    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name in names:
        get_method(name)
    t0 = time.perf_counter()
    root = generate_demo_data(cache_dir("demo-synth", f"{synth_version()}-c{args.clips_per_class}"),
                              args.clips_per_class)
    print(f"demo: data ready at {root} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    dataset = dataset_from_spec(f"folder:{root}")
    given = training_config(args)
    per_method = {m: {**DEMO_CONFIG["per_method"].get(m, {}), **given.get("per_method", {}).get(m, {})}
                  for m in set(DEMO_CONFIG["per_method"]) | set(given.get("per_method", {}))}
    if "epochs" in given:  # an explicit --epochs applies to every method
        per_method = {m: {k: v for k, v in o.items() if k not in ("epochs", "rnn_epochs")} for m, o in per_method.items()}
    cfg = {**DEMO_CONFIG, **given, "per_method": per_method, "dataset": {"spec": f"folder:{root}"}}
    results = compare(dataset, names, args.out, cfg)
    print(results_table(results))
    print(f"report: {args.out}/report.html ({time.perf_counter() - t0:.0f} s in all)")
    return 0 if results["methods"] else 1


def generate_demo_data(out: Path, clips_per_class: int) -> Path:
    """The demo's synthetic set at 64 px (generated once; a finished set is reused)."""
    from actionlab.synth import generate

    return generate(out, num_clips_per_class=clips_per_class, size=64, seed=0)
