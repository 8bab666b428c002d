"""`actionlab export RUN --format onnx|torchscript --out FILE [--check-video VIDEO]`: the network + its spec."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `export` verb."""
    p = sub.add_parser("export", help="export a run's network to ONNX or TorchScript with its input spec")
    p.add_argument("run", help="run folder written by train or compare")
    p.add_argument(
        "--format",
        choices=("onnx", "torchscript"),
        default="onnx",
        help="onnx (runs in onnxruntime, `predict --backend onnxruntime`) or torchscript (default onnx)",
    )
    p.add_argument(
        "--out", required=True, help="network file: *.onnx or *.pt; the spec is written beside it as FILE.json"
    )
    p.add_argument(
        "--check-video",
        default=None,
        metavar="VIDEO",
        help="clip the exported network is checked on against the eager one (default: a synthetic "
        "clip rendered into a temporary folder)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export; one line per file written, the parity measured."""
    from actionlab.export import export_run, spec_path

    spec = export_run(args.run, args.format, args.out, args.check_video)
    shapes = "; ".join(f"{i.name} {i.shape} {i.layout}" for i in spec.inputs)
    print(
        f"wrote {args.out} ({spec.format}, {spec.method}, inputs {shapes}, max |exported - eager| = "
        f"{spec.parity_max_abs:.1e})"
    )
    print(f"wrote {spec_path(args.out)} (input specification)")
    return 0
