"""`actionlab evaluate RUN [--dataset SPEC]`: score a run on a test split into RUN/eval.json + eval_predictions.csv.

Without --dataset the run's own test split is rebuilt from config.json (specs, annotations, split, seed): the
pipeline carves validation from train, so that test split is exactly the one the run was scored on. The run's
results.json is never written here.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

EVAL_JSON = "eval.json"
EVAL_CSV = "eval_predictions.csv"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `evaluate` verb."""
    from actionlab.data import add_dataset_args

    p = sub.add_parser("evaluate", help="evaluate a trained run on a test split (writes RUN/eval.json)")
    p.add_argument("run", help="run folder written by train (or one method folder of a compare)")
    add_dataset_args(p, required=False)
    p.set_defaults(func=run, seed=None, val_fraction=None, split=None)


def eval_dataset(args: argparse.Namespace, rc: Any) -> Any:
    """--dataset's test split (its --seed, else the run's), or the run's recorded dataset rebuilt exactly."""
    from actionlab.data import dataset_from_spec
    from actionlab.errors import ConfigError

    if args.val_fraction is not None:
        raise ConfigError(None, "--val-fraction does not apply to evaluate: it scores the test split")
    record = rc.dataset
    if args.dataset:
        specs, annotations, split = list(args.dataset), args.annotations, args.split or 1
        seed = args.seed if args.seed is not None else (record.seed if record else 0)
    elif record is not None and record.specs:
        specs, annotations = list(record.specs), record.annotations
        split = args.split or record.split
        seed = args.seed if args.seed is not None else record.seed
    else:
        raise ConfigError(args.run, "config.json records no dataset: pass --dataset SPEC")
    dataset = dataset_from_spec(specs, annotations=annotations, split=split, val_fraction=0.0, seed=seed)
    if list(dataset.classes) != list(rc.classes):
        raise ConfigError(
            args.run,
            f"the dataset's {len(dataset.classes)} classes differ from the run's {len(rc.classes)} (names or order)",
        )
    return dataset, {"specs": specs, "annotations": annotations, "split": split, "seed": seed}


def run(args: argparse.Namespace) -> int:
    """Evaluate, write RUN/eval.json, print top1/top5/mean class accuracy and the number of test videos."""
    from actionlab.methods.base import write_json_atomic
    from actionlab.methods.evaluation import evaluate_run, load_run
    from actionlab.methods.runs import run_lock

    run_dir = Path(args.run)
    # the lock keeps a train into this folder from replacing the model mid-evaluation; no .lock is made in a
    # folder that is not a run (load_run then says so)
    with run_lock(run_dir) if (run_dir / "config.json").is_file() else nullcontext():
        preset, model, o, rc = load_run(run_dir)  # "not a run folder" (with the compare hint) comes from here
        dataset, used = eval_dataset(args, rc)
        metrics = evaluate_run(preset, model, o, dataset.test, rc, run_dir, progress=True, csv_name=EVAL_CSV)
        metrics = {**metrics, **metrics.pop("timing"), "dataset": used}
        write_json_atomic(run_dir / EVAL_JSON, metrics)
    label = rc.label or rc.method
    if metrics.get("num_videos"):
        print(
            f"{label}: test top1 {metrics['top1']:.3f} top5 {metrics['top5']:.3f} mca "
            f"{metrics['mean_class_acc']:.3f} on {metrics['num_videos']} test videos -> {run_dir / EVAL_JSON}"
        )
    else:
        print(f"{label}: no test video could be scored -> {run_dir / EVAL_JSON}", file=sys.stderr)
    for path, reason in metrics.get("skipped", {}).items():
        print(f"skipped {path}: {reason}")
    return 0 if metrics.get("num_videos") else 1
