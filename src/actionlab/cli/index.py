"""`actionlab index`: list a dataset's classes, counts per split and class, and the problems found.

Besides the annotation problems the adapters find, every listed file gets cheap checks (actionlab.health:
size, readability, a container header probe with a time limit) and a folder dataset's class folders are
searched for entries a scan passes over (folders named like videos, symlink loops): each is a problem line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from actionlab.data import Dataset, add_dataset_args, dataset_from_args
from actionlab.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `index` verb."""
    parser = sub.add_parser("index", help="index a dataset: classes, split counts, annotation problems")
    add_dataset_args(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip the per-file checks (size, readability, header probe): list the annotations only",
    )
    parser.add_argument(
        "--probe-seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="time limit of one file's header probe (default 5)",
    )
    parser.set_defaults(func=run)


def summary(dataset: Dataset) -> dict:
    """Classes, per-split and per-class counts and problems as plain JSON-ready data."""
    splits = {"train": dataset.train, "val": dataset.val, "test": dataset.test}
    per_class = {}
    for name, samples in splits.items():
        counts = Counter(dataset.global_label(s) for s in samples)
        per_class[name] = {c: counts.get(i, 0) for i, c in enumerate(dataset.classes)}
    return {
        "name": dataset.name,
        "datasets": dataset.dataset_names,
        "classes": dataset.classes,
        "counts": {name: len(samples) for name, samples in splits.items()},
        "per_class": per_class,
        "problems": [{"file": p.file, "line": p.line, "reason": p.reason} for p in dataset.problems],
    }


def file_problems(dataset: Dataset, specs: list[str], seconds: float) -> list[dict]:
    """Problems of the listed files (empty, unreadable, no video) and of entries a folder scan passed over."""
    from pathlib import Path

    from actionlab.data import parse_spec
    from actionlab.health import check_files, folder_layout, stray_entries

    samples = {s.path: None for s in dataset.train + dataset.val + dataset.test}  # ordered, unique
    found = check_files(list(samples), seconds)
    for spec in specs:
        kind, root = parse_spec(spec)
        if kind == "folder" and root and Path(root).expanduser().is_dir():
            for folder in folder_layout(Path(root).expanduser()):
                found += stray_entries(folder)
    return [{"file": p.path, "line": None, "reason": p.reason} for p in found]


def _print_text(info: dict) -> None:
    counts = info["counts"]
    print(
        f"dataset {info['name']}: {len(info['classes'])} classes, " + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    shown = [k for k in ("train", "val", "test") if counts[k]]
    width = max((len(c) for c in info["classes"]), default=5)
    print(f"{'class':<{width}}  " + "  ".join(f"{k:>6}" for k in shown))
    for c in info["classes"]:
        print(f"{c:<{width}}  " + "  ".join(f"{info['per_class'][k][c]:>6}" for k in shown))
    problems = info["problems"]
    print(f"{len(problems)} problem(s)" + (":" if problems else ""))
    for p in problems:
        where = f"{p['file']}:{p['line']}" if p["line"] is not None else p["file"]
        print(f"  {where}: {p['reason']}")


def run(args: argparse.Namespace) -> int:
    """Index the dataset and print the summary (text or --json)."""
    if args.probe_seconds <= 0:
        raise ConfigError(None, f"--probe-seconds must be > 0, got {args.probe_seconds}")
    dataset = dataset_from_args(args)
    info = summary(dataset)
    if not args.no_check:
        info["problems"] += file_problems(dataset, args.dataset, args.probe_seconds)
    if args.json:
        json.dump(info, sys.stdout, indent=1)
        print()
    else:
        _print_text(info)
    return 0
