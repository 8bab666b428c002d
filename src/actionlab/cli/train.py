"""`actionlab train --dataset SPEC --method NAME --out RUN`: train one method into a self-contained run dir."""

from __future__ import annotations

import argparse


def add_training_args(p: argparse.ArgumentParser) -> None:
    """Options shared by train, compare and demo."""
    p.add_argument("--epochs", type=int, default=None, help="training epochs (method default otherwise)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--frames", type=int, default=None, help="frames decoded per video (default 16)")
    p.add_argument("--size", type=int, default=None, help="decoded frame size in pixels (default 64)")
    p.add_argument("--optimizer", choices=["adamw", "adam", "sgd"], default=None)
    p.add_argument("--schedule", choices=["constant", "cosine", "cosine-restarts", "exponential", "triangular2", "step"],
                   default=None, help="per-epoch LR schedule (default cosine with 2 warmup epochs)")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a validation-loss gain (use with --val-fraction)")
    p.add_argument("--precision", choices=["bf16", "fp32"], default=None,
                   help="training precision (default fp32; bf16 autocast is ~1.5x faster per step on CPUs with "
                        "native bf16, see benchmarks/train_step.py)")
    p.add_argument("--set", action="append", default=[], metavar="[METHOD.]KEY=VALUE",
                   help="any method option, e.g. cell=gru, fusion=max, family=cnn2d:resnet18, clip3d.epochs=30 "
                        "(VALUE is read as JSON when it parses, else as text; repeatable)")


def training_config(args: argparse.Namespace) -> dict:
    """The method config from parsed options (only those given); `METHOD.KEY` options go under per_method."""
    import json

    from actionlab.errors import ConfigError

    cfg = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "num_frames": args.frames,
           "size": args.size, "seed": getattr(args, "seed", None), "resume": getattr(args, "resume", None),
           "optimizer": args.optimizer, "schedule": args.schedule, "early_stopping": args.early_stopping,
           "bf16": None if args.precision is None else args.precision == "bf16"}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(None, f"--set {item!r}: expected KEY=VALUE")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        method, dot, option = key.rpartition(".")
        if dot:
            cfg.setdefault("per_method", {}).setdefault(method, {})[option] = value
        else:
            cfg[option] = value
    return cfg


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `train` verb."""
    from actionlab.data import add_dataset_args

    p = sub.add_parser("train", help="train one method on a dataset")
    add_dataset_args(p)
    p.add_argument("--method", required=True, help="see `actionlab methods`")
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--resume", action="store_true", help="continue after the last finished epoch")
    add_training_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, evaluate on the test split, print the headline numbers."""
    from actionlab.data import dataset_from_args
    from actionlab.methods import get_method

    method = get_method(args.method)
    dataset = dataset_from_args(args)
    cfg = training_config(args)
    cfg.update(cfg.pop("per_method", {}).get(method.name, {}))
    spec = args.dataset[0] if isinstance(args.dataset, list) else args.dataset
    cfg["dataset"] = {"spec": spec, "annotations": args.annotations, "split": args.split}
    result = method.train(dataset, args.out, cfg)
    m = result.metrics
    extra = f" single-frame top1 {m['single_frame_top1']:.3f}" if "single_frame_top1" in m else ""
    print(f"{method.name}: test top1 {m['top1']:.3f} top5 {m['top5']:.3f}{extra} "
          f"({result.train_seconds:.1f} s training) -> {args.out}")
    for path, reason in m.get("skipped", {}).items():
        print(f"skipped {path}: {reason}")
    return 0
