"""Export benchmark: onnxruntime vs eager PyTorch inference, clips/s on this CPU, for clip3d and frame-cnn.

Each preset's network is built at its default options (untrained weights: speed does not depend on them),
saved as a run folder, exported with `actionlab.export.export_run` (parity checked there on a real encoded
clip), and both runtimes score the same batches of that clip's inputs. Rounds alternate eager / onnxruntime so
a shared machine's load hits both alike; the median round counts. The goal (issue 14) is a ratio >= 1.3.
Run: python benchmarks/export.py [--methods clip3d,frame-cnn] [--batch 8] [--rounds 5] [--seconds 2] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "20000")  # as the actionlab CLI sets it: eager as predict runs it
import torch

GOAL = 1.3


def make_run(method: str, folder: Path, classes: int = 10) -> Path:
    """A run folder holding the preset's default network (fresh weights) and its config.json."""
    from actionlab.methods import get_method
    from actionlab.methods.pipeline import save_run
    from actionlab.methods.runs import RunConfig

    preset = get_method(method)
    o = preset.Options.build({"workers": 0})
    names = [f"class{i}" for i in range(classes)]
    model = preset.build(o, classes, {})
    run = folder / method
    run.mkdir(parents=True)
    save_run(run, model.eval(), RunConfig(method, names, o.to_dict()))
    return run


def clips_per_s(fn, clips: int, seconds: float) -> float:
    """Clips per second of calling fn() (each call scores `clips`) for about `seconds`."""
    fn()  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n * clips / (time.perf_counter() - start)


def bench(
    method: str, folder: Path, batch: int, rounds: int, seconds: float, threads: int | None
) -> tuple[float, float, str]:
    """(eager clips/s, onnxruntime clips/s, input shape) at the preset's default input."""
    from actionlab.export import export_run, ort_session
    from actionlab.methods.evaluation import load_run

    run = make_run(method, folder)
    spec = export_run(run, "onnx", folder / f"{method}.onnx")
    _, model, _, _ = load_run(run)
    shape = [batch, *spec.inputs[0].shape[1:]]
    x = torch.randn(*shape)
    sess = ort_session(folder / f"{method}.onnx", threads)
    name = sess.get_inputs()[0].name
    xn = x.numpy()

    @torch.no_grad()
    def eager() -> None:
        model(x)

    def onnx() -> None:
        sess.run(None, {name: xn})

    # frame-cnn scores 5 frames per clip (views); a "clip" here is one network input row
    pairs = [(clips_per_s(eager, batch, seconds), clips_per_s(onnx, batch, seconds)) for _ in range(rounds)]
    e = statistics.median(p[0] for p in pairs)
    o = statistics.median(p[1] for p in pairs)
    return e, o, "x".join(map(str, shape[1:]))


def main() -> None:
    """Print clips/s of both runtimes and their ratio per method."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default="clip3d,frame-cnn", help="presets to measure (comma-separated)")
    p.add_argument("--batch", type=int, default=8, help="inputs per forward pass (default 8)")
    p.add_argument("--rounds", type=int, default=5, help="alternating eager/onnxruntime rounds (default 5)")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per measurement (default 2)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of both runtimes (default: torch's default, onnxruntime: the usable cores)",
    )
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}; batch {args.batch}; median of {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for method in args.methods.split(","):
            e, o, shape = bench(method, Path(tmp), args.batch, args.rounds, args.seconds, args.threads)
            verdict = "meets" if o / e >= GOAL else "misses"
            print(
                f"{method:10s} input {shape:14s} eager {e:8.1f} inputs/s  onnxruntime {o:8.1f} inputs/s  "
                f"ratio {o / e:.2f}x ({verdict} the {GOAL}x goal)"
            )


if __name__ == "__main__":
    main()
