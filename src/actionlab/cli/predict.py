"""`actionlab predict RUN VIDEO_OR_FOLDER... [--json] [--top K]`: top labels with scores per video."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `predict` verb."""
    p = sub.add_parser("predict", help="label videos with a trained run")
    p.add_argument("run", help="run folder written by train or compare")
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_FOLDER")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--top", type=int, default=5, help="labels per video (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Predict; bad files get one stderr line each; exit 1 only when nothing could be predicted."""
    from actionlab.predict import predict_paths, top_k

    pred = predict_paths(args.run, args.inputs)
    best = top_k(pred, args.top)
    for path, reason in pred.errors.items():
        print(f"actionlab predict: {path}: {reason}", file=sys.stderr)
    if args.json:
        print(json.dumps({"predictions": {p: [{"label": l, "score": s} for l, s in r] for p, r in best.items()},
                          "errors": pred.errors}, indent=2))
    else:
        for path, ranked in best.items():
            print(f"{path}: " + ", ".join(f"{label} {score:.3f}" for label, score in ranked))
    if not best:
        print("actionlab predict: no video could be predicted", file=sys.stderr)
        return 1
    return 0
