"""`actionlab explain RUN VIDEO... --out DIR`: activation, Grad-CAM and guided-backprop maps per sampled frame,
one grid PNG per video and an index.html with the top-5 scores."""

from __future__ import annotations

import argparse
import sys

METHOD_CHOICES = ("activation", "gradcam", "guided", "all")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `explain` verb."""
    p = sub.add_parser(
        "explain",
        help="show where a trained run looks: activation, Grad-CAM, guided backprop",
        description="For each video, per sampled frame (clip runs: per time step; flow2p1d: per "
        "flow field; two-stream: each stream): the input, the activation map of the "
        "last convolutional stage, Grad-CAM and guided backpropagation for the "
        "predicted (or --class) label. Writes one grid PNG per video and index.html.",
    )
    p.add_argument("run", help="run folder written by train or compare (a conv network: not features-mlp/-lstm)")
    p.add_argument("videos", nargs="+", metavar="VIDEO_OR_FOLDER", help="videos; folders are searched for media")
    p.add_argument("--out", required=True, help="output folder for the PNGs and index.html")
    p.add_argument("--method", choices=METHOD_CHOICES, default="all", help="which maps to draw (default: all)")
    p.add_argument(
        "--class",
        dest="target",
        metavar="LABEL",
        default=None,
        help="class to explain (default: each video's predicted class)",
    )
    p.add_argument(
        "--frames",
        type=_positive,
        default=8,
        metavar="N",
        help="time steps shown per video, spread over what the network read (default 8)",
    )
    p.add_argument(
        "--shifts",
        type=_positive,
        default=16,
        metavar="K",
        help="guided backprop: sub-stride input shifts averaged, removing the stride lattice "
        "(1 = plain guided backprop; default 16)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Explain every video; unreadable ones get one stderr line; exit 1 when none could be explained."""
    from actionlab.explain import explain_run
    from actionlab.explain.maps import METHODS
    from actionlab.predict import expand_inputs

    methods = METHODS if args.method == "all" else (args.method,)
    videos = expand_inputs(args.videos)
    result = explain_run(
        args.run,
        videos,
        args.out,
        methods=methods,
        target=args.target,
        frames=args.frames,
        shifts=args.shifts,
        progress=False,
    )
    for path, reason in result.errors.items():
        print(f"actionlab explain: {path}: {reason}", file=sys.stderr)
    for e in result.explanations:
        top = ", ".join(f"{label} {score:.3f}" for label, score in e.top(5))
        print(f"{e.path}: explaining {e.classes[e.target]} -> {result.pngs[str(e.path)]}  (top-5: {top})")
    if result.page is None:
        print("actionlab explain: no video could be explained; nothing written", file=sys.stderr)
        return 1
    print(f"page: {result.page}")
    return 0
