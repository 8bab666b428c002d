"""`actionlab compare --dataset SPEC --methods a,b --out DIR`: every method on one split, one report."""

from __future__ import annotations

import argparse

from actionlab.cli.train import add_training_args, training_config


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `compare` verb."""
    from actionlab.data import add_dataset_args

    p = sub.add_parser("compare", help="train and evaluate several methods on the same split")
    add_dataset_args(p)
    p.add_argument("--methods", required=True, help="comma-separated method names (see `actionlab methods`)")
    p.add_argument("--out", required=True, help="folder for the runs, results.json and report.html")
    add_training_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare and print the results table and the report path."""
    from actionlab.compare import compare, results_table
    from actionlab.data import dataset_from_args

    from actionlab.methods import get_method

    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name in names:  # a typo fails before the dataset is indexed or anything trains
        get_method(name)
    dataset = dataset_from_args(args)
    spec = args.dataset[0] if isinstance(args.dataset, list) else args.dataset
    cfg = training_config(args)
    cfg["dataset"] = {"spec": spec, "annotations": args.annotations, "split": args.split}
    results = compare(dataset, names, args.out, cfg)
    print(results_table(results))
    print(f"report: {args.out}/report.html")
    return 0 if results["methods"] else 1
