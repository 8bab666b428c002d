"""`actionlab demo [--out DIR]`: generate (once) the synthetic set and compare the main presets on it."""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

DEMO_METHODS = ["frame-cnn", "late-fusion", "lrcn", "clip3d", "flow2p1d", "two-stream"]
# The 5-minute budget on 2 CPU cores includes generating the data: frames at 48 px, and per preset the epochs it
# needs to converge at that size. Everything else is the presets' own defaults (`actionlab methods NAME`).
# two-stream fuses the clip3d and flow2p1d runs of the same compare.
DEMO_COMMON: dict = {"size": 48}
DEMO_PER_LABEL: dict = {
    "frame-cnn": {"epochs": 24},
    "late-fusion": {"epochs": 10},
    "lrcn": {"epochs": 10},
    "clip3d": {"epochs": 16},
    "flow2p1d": {"epochs": 10},
    "two-stream": {"epochs": 8},
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` verb."""
    from actionlab.cli.train import add_training_args

    p = sub.add_parser("demo", help="synthetic dataset + compare of the main presets (always trains)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--clips-per-class", type=int, default=30)
    p.add_argument("--methods", default=",".join(DEMO_METHODS), help="[LABEL=]METHOD,... (see actionlab methods)")
    p.add_argument("--resume", action="store_true", help="keep finished methods whose options are unchanged")
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
    from actionlab.cache import cache_dir, growth_line, usage_by_part
    from actionlab.cli.train import training_config
    from actionlab.compare import compare, parse_methods, plan_options, results_table
    from actionlab.data import dataset_from_spec
    from actionlab.methods.runs import DatasetRecord

    entries = parse_methods(args.methods)
    given = training_config(args)
    # the demo's own settings never override what the user gave; an explicit --epochs applies to every method
    per_label = {e.label: dict(DEMO_PER_LABEL.get(e.method, {})) for e in entries}
    for label, opts in per_label.items():
        for key in given.common:
            opts.pop(key, None)
        opts.update(given.per_label.get(label, {}))
    plan = plan_options(entries, {**DEMO_COMMON, **given.common}, per_label)
    t0 = time.perf_counter()
    cached_before = usage_by_part()
    root = generate_demo_data(
        cache_dir("demo-synth", f"{synth_version()}-c{args.clips_per_class}"), args.clips_per_class
    )
    print(f"demo: data ready at {root} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    spec = f"folder:{root}"
    dataset = dataset_from_spec(spec, seed=plan.seed)
    results = compare(
        dataset,
        plan,
        args.out,
        dataset_record=DatasetRecord(specs=[spec], seed=plan.seed),
        resume=args.resume,
        progress=True,
    )
    print(results_table(results))
    if results["methods"]:
        print(f"report: {args.out}/report.html ({time.perf_counter() - t0:.0f} s in all)")
    print(growth_line(cached_before))
    return 0 if results["methods"] else 1


def generate_demo_data(out: Path, clips_per_class: int) -> Path:
    """The demo's synthetic set at 64 px (generated once; a finished set is reused)."""
    from actionlab.synth import generate

    return generate(out, num_clips_per_class=clips_per_class, size=64, seed=0)
