"""`actionlab compare --dataset SPEC --methods a=clip3d,b=clip3d,frame-cnn --out DIR`: every method on one split.

Options as for train: an unprefixed one goes to every method that declares it (one stderr line names the methods
it skips), `--set LABEL.KEY=VALUE` to that label only. `--resume` keeps the labels whose folder holds a finished
run of the same method, options and dataset, and (re)trains the others.
"""

from __future__ import annotations

import argparse

from actionlab.cli.train import add_training_args, training_config


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `compare` verb."""
    from actionlab.data import add_dataset_args

    p = sub.add_parser("compare", help="train and evaluate several methods on the same split")
    add_dataset_args(p)
    p.add_argument(
        "--methods",
        required=True,
        metavar="[LABEL=]METHOD,...",
        help="comma-separated methods (see `actionlab methods`); LABEL=METHOD names a run, so one "
        "method can run twice with different options (a=clip3d,b=clip3d --set b.lr=0.01)",
    )
    p.add_argument("--out", required=True, help="folder for the runs (out/LABEL), results.json and report.html")
    p.add_argument(
        "--baseline",
        default=None,
        metavar="LABEL",
        help="the method the report's gains section compares against, over its single-frame view when "
        "it has one (default: the first method with a single-frame view, e.g. frame-cnn)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished runs whose method, options and dataset are unchanged; train the rest",
    )
    add_training_args(p, split_flags=False)
    p.set_defaults(func=run, seed=None, val_fraction=None)


def run(args: argparse.Namespace) -> int:
    """Plan (every option validated first), load the dataset, compare, print the table and the report path."""
    import sys

    from actionlab.cli.train import RunSpec, load_for_training
    from actionlab.compare import compare, parse_methods, plan_options, results_table

    given = training_config(args)
    plan = plan_options(parse_methods(args.methods), given.common, given.per_label)
    if args.baseline is not None and args.baseline not in [e.label for e in plan.entries]:
        from actionlab.errors import ConfigError

        raise ConfigError(None, f"--baseline {args.baseline}: not a label of --methods")
    spec = RunSpec("", {}, list(args.dataset), args.annotations, args.split)
    dataset, record = load_for_training(spec, plan.seed)
    results = compare(
        dataset,
        plan,
        args.out,
        dataset_record=record,
        resume=args.resume,
        baseline=args.baseline,
        command=_command(args, given),
    )
    print(results_table(results))
    if results["report"] is None:
        print(f"compare: no method succeeded; no report written (errors in {args.out}/results.json)", file=sys.stderr)
        return 1
    print(f"report: {results['report']}")
    return 0


def _command(args: argparse.Namespace, given) -> list[str]:
    """The arguments of an equivalent command line (options as --set, as they were parsed), for provenance."""
    import json

    argv = ["compare", *(x for d in args.dataset for x in ("--dataset", d))]
    for a in args.annotations or []:
        argv += ["--annotations", str(a)]
    if args.split is not None:
        argv += ["--split", str(args.split)]
    argv += ["--methods", args.methods, "--out", str(args.out)]
    argv += ["--baseline", args.baseline] if args.baseline else []
    argv += ["--resume"] if args.resume else []
    show = lambda v: v if isinstance(v, str) else json.dumps(v)
    argv += [x for k, v in given.common.items() for x in ("--set", f"{k}={show(v)}")]
    for label, values in given.per_label.items():
        argv += [x for k, v in values.items() for x in ("--set", f"{label}.{k}={show(v)}")]
    return argv
