"""`actionlab evaluate RUN [--dataset SPEC]`: score a run on a test split; writes RUN/results.json + predictions.csv."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `evaluate` verb."""
    from actionlab.data import add_dataset_args

    p = sub.add_parser("evaluate", help="evaluate a trained run on a test split")
    p.add_argument("run", help="run folder written by train")
    add_dataset_args(p, required=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate on --dataset's test split (default: the dataset the run was trained on)."""
    from actionlab.data import dataset_from_args
    from actionlab.errors import ConfigError
    from actionlab.methods import get_method
    from actionlab.methods.base import write_json_atomic

    run_dir = Path(args.run)
    cfg_file = run_dir / "config.json"
    if not cfg_file.is_file():
        raise ConfigError(run_dir, "not a run folder (no config.json)")
    cfg = json.loads(cfg_file.read_text())
    if not args.dataset and cfg.get("dataset"):
        args.dataset = cfg["dataset"]["spec"]
        args.annotations = cfg["dataset"].get("annotations")
        args.split = cfg["dataset"].get("split", 1)
    dataset = dataset_from_args(args)
    if list(dataset.classes) != list(cfg["classes"]):
        raise ConfigError(run_dir, "the dataset's classes differ from the run's classes")
    metrics = get_method(cfg["method"]).evaluate(run_dir, dataset.test, list(cfg["classes"]))
    write_json_atomic(run_dir / "results.json", metrics)
    print(f"{cfg['method']}: top1 {metrics['top1']:.3f} top5 {metrics['top5']:.3f} "
          f"mean class acc {metrics['mean_class_acc']:.3f} on {len(dataset.test)} videos -> {run_dir}/results.json")
    return 0
