"""`actionlab predict RUN VIDEO_OR_FOLDER... [--top-k K] [--format F] [--device D] [--timeline ...]`.

Without --timeline: the top-k labels with scores per video (bad files: one stderr line each). With --timeline:
one long video, the run's window slid over it, merged segments on stdout and --json/--csv/--plot files.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("text", "json", "jsonl", "csv")  # actionlab.predict.FORMATS (not imported: it would load numpy here)
# timeline-only flags: (attribute, flag); each is an error without --timeline
TIMELINE_ONLY = (
    ("window", "--window"),
    ("stride", "--stride"),
    ("smooth", "--smooth"),
    ("threshold", "--threshold"),
    ("plot", "--plot"),
    ("batch_size", "--batch-size"),
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `predict` verb."""
    p = sub.add_parser("predict", help="label videos with a trained run (--timeline: segments of a long video)")
    p.add_argument(
        "run",
        help="run folder written by train or compare (a compare folder lists its runs), or an "
        ".onnx file written by export (--backend onnxruntime)",
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO_OR_FOLDER")
    p.add_argument(
        "--top-k",
        "--top",
        dest="top_k",
        type=int,
        default=5,
        metavar="K",
        help="labels per video, or per window with --timeline (default 5)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="what stdout shows: text (default), json, jsonl (one object per video/window), csv",
    )
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write the JSON to FILE (alone: print it, the same as --format json)",
    )
    p.add_argument(
        "--csv",
        default=None,
        metavar="FILE",
        help="write the CSV (per video and rank; per window with --timeline) to FILE",
    )
    p.add_argument(
        "--device",
        default=None,
        metavar="cpu|cuda|auto",
        help="where the network runs (cpu, cuda, cuda:N or auto; default: the run's device option)",
    )
    p.add_argument(
        "--backend",
        choices=("eager", "onnxruntime"),
        default="eager",
        help="eager: the run's PyTorch network; onnxruntime: its ONNX export (RUN may then be an .onnx "
        "file written by `actionlab export`; a run folder is exported once, cached)",
    )
    t = p.add_argument_group("long videos (--timeline)")
    t.add_argument(
        "--timeline",
        action="store_true",
        help="slide the run's input window over one long video: per-window top-k and merged segments",
    )
    t.add_argument(
        "--window",
        type=float,
        default=None,
        metavar="S",
        help="seconds per window (default: the run's own input span, else 2 s)",
    )
    t.add_argument(
        "--stride", type=float, default=None, metavar="S", help="seconds between window starts (default: half a window)"
    )
    t.add_argument(
        "--smooth",
        type=int,
        default=None,
        metavar="K",
        help="moving average over K windows before segments are merged (default 3; 1: none)",
    )
    t.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="P",
        help="a smoothed best score below P is background (default 0.5)",
    )
    t.add_argument(
        "--plot",
        default=None,
        metavar="FILE.png",
        help="write class scores over time with the segments as coloured bands",
    )
    t.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help="windows per forward pass (default: the run's batch_size)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def stdout_format(args: argparse.Namespace) -> str:
    """--format, or json when --json is given without a file."""
    from actionlab.errors import ConfigError

    if args.json == "-":
        if args.format not in (None, "json"):
            raise ConfigError(None, f"--json without a FILE prints JSON; it cannot go with --format {args.format}")
        return "json"
    return args.format or "text"


def run(args: argparse.Namespace) -> int:
    """Predict (or build a timeline); exit 1 only when nothing could be predicted."""
    from actionlab.errors import ConfigError

    if args.top_k < 1:
        raise ConfigError(None, f"--top-k must be >= 1, not {args.top_k}")
    fmt = stdout_format(args)
    check_backend(args)
    if args.timeline:
        return run_timeline(args, fmt)
    given = [flag for name, flag in TIMELINE_ONLY if getattr(args, name) is not None]
    given += ["--quiet"] if args.quiet else []
    if given:
        raise ConfigError(None, f"{', '.join(given)} apply to --timeline only")
    return run_videos(args, fmt)


def run_videos(args: argparse.Namespace, fmt: str) -> int:
    """Top-k per video; bad files get one stderr line each."""
    from actionlab.atomic import write_text
    from actionlab.predict import predict_paths, render, top_k

    pred = (
        predict_with_backend(args)
        if args.backend != "eager"
        else predict_paths(args.run, args.inputs, device=args.device)
    )
    best = top_k(pred, args.top_k)
    for path, reason in pred.errors.items():
        print(f"actionlab predict: {path}: {reason}", file=sys.stderr)
    sys.stdout.write(render(best, pred.errors, fmt))
    if args.json not in (None, "-"):
        write_text(args.json, render(best, pred.errors, "json"))
    if args.csv is not None:
        write_text(args.csv, render(best, pred.errors, "csv"))
    if not best:
        print("actionlab predict: no video could be predicted", file=sys.stderr)
        return 1
    return 0


def run_timeline(args: argparse.Namespace, fmt: str) -> int:
    """One video's timeline: segments on stdout (or the JSON / per-window JSONL / CSV), files as asked."""
    import json
    from pathlib import Path

    from actionlab.errors import ConfigError
    from actionlab.predict import check_device, run_method_name
    from actionlab.timeline import TimelineOptions, predict_timeline, write_outputs

    if len(args.inputs) != 1 or Path(args.inputs[0]).is_dir():
        raise ConfigError(None, f"--timeline takes one video file, not {' '.join(args.inputs)}")
    run_method_name(args.run)
    check_device(args.device)
    values = {
        "window": args.window,
        "stride": args.stride,
        "smooth": args.smooth,
        "threshold": args.threshold,
        "batch_size": args.batch_size,
        "device": args.device,
        "top_k": args.top_k,
    }
    options = TimelineOptions.build({k: v for k, v in values.items() if v is not None}, where="predict --timeline")
    tl = predict_timeline(args.run, args.inputs[0], options, progress=not args.quiet)
    for note in tl.notes:
        print(f"actionlab predict: {args.inputs[0]}: {note}", file=sys.stderr)
    data = tl.to_dict(args.top_k)
    if fmt == "json":
        print(json.dumps(data, indent=2))
    elif fmt == "jsonl":
        sys.stdout.write("".join(json.dumps(w) + "\n" for w in data["windows"]))
    elif fmt == "csv":
        sys.stdout.write(tl.csv_text())
    else:
        print(
            f"{tl.video}: {len(tl.starts)} windows of {tl.window:.2f} s every {tl.stride:.2f} s, "
            f"{len(tl.segments)} segments"
        )
        print("\n".join(tl.lines()))
    json_file = args.json if args.json not in (None, "-") else None
    for path in write_outputs(tl, json_file, args.csv, args.plot, args.top_k):
        print(f"actionlab predict: wrote {path}", file=sys.stderr)
    return 0


def check_backend(args: argparse.Namespace) -> None:
    """--backend onnxruntime: per-video predict on the CPU; an exported file needs it."""
    from pathlib import Path

    from actionlab.errors import ConfigError

    if args.backend == "eager":
        if Path(args.run).suffix in (".onnx", ".pt") and Path(args.run).is_file():
            raise ConfigError(args.run, "an exported network runs with --backend onnxruntime (.onnx only)")
        return
    if args.timeline:
        raise ConfigError(None, "--backend onnxruntime applies to per-video predict, not --timeline")
    if args.device not in (None, "cpu"):
        raise ConfigError(
            None, f"--backend onnxruntime runs on the CPU; --device {args.device} applies to --backend eager"
        )


def predict_with_backend(args: argparse.Namespace):
    """Predictions by the exported ONNX network (actionlab.export), through the run's own reader."""
    from actionlab.export import predict_exported
    from actionlab.predict import expand_inputs

    return predict_exported(args.run, expand_inputs(args.inputs))
