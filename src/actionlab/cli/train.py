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


def training_config(args: argparse.Namespace) -> dict:
    """The method config from parsed options (only those given)."""
    cfg = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "num_frames": args.frames,
           "size": args.size, "seed": getattr(args, "seed", None), "resume": getattr(args, "resume", None)}
    return {k: v for k, v in cfg.items() if v is not None}


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
