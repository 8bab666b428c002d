"""`actionlab extract --dataset SPEC --features NAME`: fill the resumable feature store, list skipped videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from actionlab.data import add_dataset_args
from actionlab.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `extract` verb."""
    parser = sub.add_parser("extract", help="extract features of a dataset into a resumable feature store")
    add_dataset_args(parser)
    parser.add_argument(
        "--features",
        required=True,
        metavar="NAME",
        help="sift-bow, cnn2d:<backbone>, cnn3d:<backbone>, flow:farneback or flow:dis",
    )
    parser.add_argument("--store", metavar="DIR", help="store root (default: the actionlab cache/features)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N videos (train, val, test order)")
    parser.add_argument(
        "--weights",
        metavar="W",
        help="cnn weights: imagenet, a .pt/.pth/.safetensors file or "
        "an actionlab run directory (default: random, seeded)",
    )
    parser.add_argument(
        "--scores",
        action="store_true",
        help="cnn2d with --weights RUN (frame-cnn or late-fusion): store each frame's class scores "
        "(softmax of the run's head) after its features; the store config gives score_dim",
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    parser.add_argument(
        "--precision",
        choices=["bf16", "fp32"],
        help="cnn arithmetic: bf16 autocast (default where the CPU/GPU runs bf16 natively; "
        "features within 2%% of fp32) or fp32",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="frames (cnn2d, default 32) or clips (cnn3d, default 4) per forward pass",
    )
    parser.add_argument(
        "--streams",
        type=int,
        metavar="N",
        help="cnn forward passes run at once, each on its share of the cores (default: 2 on a CPU, 1 on a GPU)",
    )
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: tasks of videos on Ray workers, each holding "
        "the network once, writing shards into the same store (pip install 'actionlab[ray]')",
    )
    parser.add_argument(
        "--address",
        metavar="auto|HOST:PORT",
        help="--engine ray: join this Ray cluster (default: start a local Ray of this machine's cores)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local: decoding threads (default: 1 for cnn, 2 otherwise); ray: worker processes, one "
        "CPU each (default: every CPU of the cluster)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract; exit 1 only when videos were asked for and none is in the store."""
    from actionlab.cache import cache_dir
    from actionlab.data import dataset_from_args
    from actionlab.features import create_extractor, extract

    dataset = dataset_from_args(args)
    options: dict[str, Any] = {}
    if args.scores and not args.features.startswith("cnn2d:"):
        raise ConfigError(None, f"--scores applies to cnn2d:<backbone> with --weights RUN, not {args.features}")
    if args.scores:
        options["scores"] = True
    if args.features.startswith(("cnn2d:", "cnn3d:")):
        options |= {
            "weights": args.weights,
            "device": args.device,
            "bf16": None if args.precision is None else args.precision == "bf16",
        }
        if args.batch_size:
            options["batch_size"] = args.batch_size
        if args.streams is not None:
            options["streams"] = args.streams
    engine = _engine(args)
    extractor = create_extractor(args.features, **options)
    root = Path(args.store) if args.store else cache_dir("features")
    summary = extract(
        dataset,
        extractor,
        root,
        limit=args.limit,
        progress=not args.no_progress,
        workers=None if engine else args.workers,
        engine=engine,
    )
    for path, reason in summary.skipped:
        print(f"actionlab extract: skipped: {path}: {reason}", file=sys.stderr)
    print(f"store: {summary.store}")
    print(f"videos: {summary.done} extracted, {summary.already} already in store, {len(summary.skipped)} skipped")
    unit = {"cnn2d": "frames", "cnn3d": "clips", "flow": "flow fields"}.get(args.features.split(":")[0], "rows")
    print(f"time: {summary.seconds:.1f} s, {summary.items_per_s:.2f} videos/s, {summary.rows_per_s:.1f} {unit}/s")
    return 0 if summary.done + summary.already > 0 or not summary.skipped else 1


def _engine(args: argparse.Namespace):
    """The RayEngine for --engine ray, None for local; --address without ray is a usage error."""
    if args.engine != "ray":
        if args.address:
            raise ConfigError(None, "--address applies to --engine ray only")
        return None
    if args.workers is not None and args.workers < 1:
        raise ConfigError(None, f"--workers must be >= 1, not {args.workers}")
    from actionlab.features.ray_engine import RayEngine

    return RayEngine(address=args.address, workers=args.workers)
