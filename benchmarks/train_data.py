"""Streaming training data: memory does not grow with the dataset, and decoding keeps up with the network.

    .venv/bin/python benchmarks/train_data.py [--small 200 --large 800] [--steps N] [--start fork]

1. Peak RSS (main process + DataLoader workers, sampled every 0.1 s) of `actionlab train --method clip3d`
   for one epoch on a synthetic folder dataset of `--small` vs `--large` videos. Goal: large / small <= 1.15.
2. Training throughput of clip3d at 16 x 112^2: clips/s of the streaming pipeline (decode in DataLoader workers,
   new random positions per item) vs the same Trainer steps on the same clips preloaded as tensors, both in this
   process, in back-to-back pairs (the order alternating, after an uncounted warm-up that creates oneDNN's
   kernels). Each side is one fit of one epoch over the large set's training videos (`--steps` batches of 8:
   fewer), so the workers' start, paid once per fit, weighs as in a real epoch. Goal: streaming / preloaded
   >= 0.85, as the median of the pairs' ratios. `--start fork` forks the workers from this process instead of
   the fork server (ACTIONLAB_WORKER_START).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# as the actionlab CLI sets it (actionlab/cli/__init__.py) before torch is imported
os.environ.setdefault("GOMP_SPINCOUNT", "20000")

import numpy as np
import torch
from torch.utils.data import Dataset


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (MiB), from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def peak_train_rss(root: Path, out: Path) -> float:
    """Peak tree RSS of one `actionlab train` epoch of clip3d on `root`."""
    cmd = [
        sys.executable,
        "-m",
        "actionlab",
        "train",
        "--dataset",
        f"folder:{root}",
        "--method",
        "clip3d",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--frames",
        "8",
        "--size",
        "64",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.1)
    if proc.returncode:
        raise SystemExit(f"train failed on {root} (exit {proc.returncode})")
    return peak


class Preloaded(Dataset):
    """The same items as the streaming dataset, decoded once beforehand."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def throughput(root: Path, steps: int, rounds: int, workers: int) -> tuple[list[float], list[float], int]:
    """(streaming clips/s, preloaded clips/s) of each of the interleaved rounds of `steps` batches (0: all the
    training videos), and the clips per round."""
    from actionlab.data import dataset_from_spec
    from actionlab.methods import get_method
    from actionlab.methods.inputs import VideoItems, collate_views
    from actionlab.methods.pipeline import train_config
    from actionlab.methods.preset import RunContext
    from actionlab.training import Trainer
    from actionlab.training.workers import start_workers_early

    ds = dataset_from_spec(f"folder:{root}")
    preset = get_method("clip3d")
    o = preset.options({"frames": 16, "size": 112, "batch_size": 8, "workers": workers, "epochs": 1})
    reader = preset.reader(o, ds.classes, True, root, {})
    samples = ds.train[: steps * o.batch_size] if steps else ds.train
    streaming = VideoItems(samples, reader, train=True, seed=0)
    preloaded = Preloaded([streaming[i] for i in range(len(streaming))])
    torch.manual_seed(0)
    model = preset.build(o, len(ds.classes), {})
    rates: dict[str, list[float]] = {"stream": [], "preload": []}

    def fit(data, n: int, seed: int, out: Path) -> float:
        cfg = train_config(o.replace(workers=n, seed=seed), RunContext(progress=False))
        cfg.tracker = "none"
        t0 = time.perf_counter()
        Trainer(cfg).fit(model, data, None, out, collate_fn=collate_views, save_fn=lambda m, i: None)
        return len(data) / (time.perf_counter() - t0)

    start_workers_early(workers)  # as train_run does before probing: the fork server loads during the warm-up
    with tempfile.TemporaryDirectory() as tmp:
        # not counted: the first steps of a process create oneDNN's kernels, which would be charged to one side
        fit(Preloaded(preloaded.items[: 2 * o.batch_size]), 0, 0, Path(tmp) / "warm-up")
        for r in range(rounds):
            order = [("stream", streaming, workers), ("preload", preloaded, 0)]
            for name, data, n in order if r % 2 == 0 else order[::-1]:  # alternated: drift hits both alike
                rates[name].append(fit(data, n, r, Path(tmp) / f"{name}{r}"))
    return rates["stream"], rates["preload"], len(samples)


def main() -> None:
    """Generate the data, measure, print the ratios."""
    from actionlab.synth import generate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=200, help="videos of the small dataset")
    parser.add_argument("--large", type=int, default=800, help="videos of the large dataset")
    parser.add_argument("--steps", type=int, default=0, help="batches of 8 clips per round (0: one whole epoch)")
    parser.add_argument("--rounds", type=int, default=7, help="stream/preloaded pairs (the median ratio is the result)")
    parser.add_argument("--start", choices=("forkserver", "fork"), default=None, help="how workers start")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: the preset's)")
    parser.add_argument("--skip-rss", action="store_true", help="only the throughput part")
    args = parser.parse_args()
    if args.start:
        os.environ["ACTIONLAB_WORKER_START"] = args.start
    work = Path(tempfile.mkdtemp(prefix="train_data_"))
    os.environ.setdefault("ACTIONLAB_CACHE", str(work / "cache"))
    roots = {
        n: generate(work / f"set{n}", num_clips_per_class=max(1, n // 14), size=112, seed=n)
        for n in (args.small, args.large)
    }
    if not args.skip_rss:
        rss = {n: peak_train_rss(root, work / f"run{n}") for n, root in roots.items()}
        ratio = rss[args.large] / rss[args.small]
        print(
            f"peak RSS of train: {rss[args.small]:.0f} MiB ({args.small} videos) vs {rss[args.large]:.0f} MiB "
            f"({args.large} videos): ratio {ratio:.3f} (goal <= 1.15) {'OK' if ratio <= 1.15 else 'MISSED'}"
        )
    from actionlab.methods import get_method
    from actionlab.training.workers import start_method

    workers = get_method("clip3d").options({}).workers if args.workers is None else args.workers
    streams, preloads, clips = throughput(roots[args.large], args.steps, args.rounds, workers)
    stream, preload = float(np.median(streams)), float(np.median(preloads))
    # the ratio of each round's back-to-back pair: the machine's drift (10-20 % within a minute) cancels in it
    paired = [a / b for a, b in zip(streams, preloads)]
    ratio = float(np.median(paired))
    print(
        f"clip3d 16x112^2 training, {workers} workers ({start_method()}), {args.rounds} rounds of {clips} clips: "
        f"streaming "
        f"{stream:.2f} clips/s, preloaded {preload:.2f} clips/s (medians; their ratio {stream / preload:.3f}); "
        f"median of the paired per-round ratios {ratio:.3f} (goal >= 0.85) {'OK' if ratio >= 0.85 else 'MISSED'}, "
        f"quartiles {np.percentile(paired, 25):.3f}-{np.percentile(paired, 75):.3f} "
        f"(rounds: {', '.join(f'{x:.2f}' for x in paired)})"
    )


if __name__ == "__main__":
    threading.current_thread().name = "train_data"
    main()
