"""Check and time the CUDA training path on a lent GPU, in one run (sized for about 5 minutes on an H200).

Not yet run on a GPU: none has been lent to this project so far.

    bash benchmarks/gpu_check.sh               # on the GPU machine: installs, then runs this script
    python benchmarks/cuda_check.py            # the same, once installed, from the repository root
    python benchmarks/cuda_check.py --quick    # tiny sizes on whatever device: checks the script itself

1. Environment: torch, CUDA, cuDNN, the GPU, CPU cores.
2. tests/test_cuda.py (pytest; its CUDA tests skip without a GPU).
3. A synthetic set (14 classes) at 128 px.
4. clip3d at 16 x 112^2 and frame-cnn at 112^2: the same training steps, from the same weights, in fp32, bf16 and
   fp16 through the pipeline's own pieces (preset reader, VideoItems in DataLoader workers sized to the cores,
   pinned memory, non-blocking copies, channels_last, cudnn.benchmark, autocast, GradScaler for fp16). Prints
   training clips/s, the fraction of each step spent waiting for data (goal <= 0.2), the speed of each precision
   against fp32, and the loss after the steps against fp32's (finite, close).
5. Extraction: frames/s of `extract()` with cnn2d:resnet50 at 224^2 (decoding, the network and the store's writes)
   against the same extractor's forward-only rate on preloaded frames (goal >= 0.85); random weights, since speed
   does not depend on them and nothing can be downloaded.
6. End to end: `actionlab train --method clip3d --precision bf16` for 2 epochs on the GPU (exit 0, files written).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "20000")  # as the actionlab CLI sets it before torch loads

import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class Timing:
    """One preset x precision: throughput, data wait, losses."""

    clips_per_s: float
    wait_fraction: float
    step_ms: float
    first_loss: float
    last_loss: float


def environment() -> torch.device:
    """Print what this machine is; the device to use."""
    cores = len(os.sched_getaffinity(0))
    print(
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
        f"{cores} CPU cores"
    )
    if not torch.cuda.is_available():
        print("no CUDA device: timings below are the CPU's (use --quick to check the script only)")
        return torch.device("cpu")
    p = torch.cuda.get_device_properties(0)
    print(
        f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}, "
        f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}"
    )
    return torch.device("cuda")


def run_tests() -> bool:
    """tests/test_cuda.py; True when it passed."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", str(ROOT / "tests" / "test_cuda.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    tail = proc.stdout.strip().splitlines()[-8:]
    print(f"tests/test_cuda.py ({time.perf_counter() - t0:.0f} s): " + ("passed" if proc.returncode == 0 else "FAILED"))
    for line in tail:
        print("  " + line)
    return proc.returncode == 0


def steps(
    root: Path, method: str, opts: dict, precision: str, n_steps: int, device: torch.device, workers: int
) -> Timing:
    """n_steps training steps of `method` in `precision` (after 3 warm-up steps), as the Trainer runs them."""
    from actionlab.data import dataset_from_spec
    from actionlab.methods import get_method
    from actionlab.methods.inputs import VideoItems, collate_views
    from actionlab.training.config import TrainConfig, build_optimizer
    from actionlab.training.distributed import World
    from actionlab.training.trainer import _place, autocast_dtype, call_model, to_device
    from actionlab.training.workers import batches, loader_options

    ds = dataset_from_spec(f"folder:{root}")
    preset = get_method(method)
    o = preset.options({**opts, "workers": workers, "epochs": 1})
    items = VideoItems(ds.train, preset.reader(o, ds.classes, True, root, {}), train=True, seed=0)
    cfg = TrainConfig(
        batch_size=o.batch_size,
        lr=o.lr,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        channels_last=device.type == "cuda",
        device=device.type,
        tracker="none",
        progress=False,
    )
    torch.manual_seed(0)
    model = preset.build(o, len(ds.classes), {})
    _place(model, cfg, device, World())
    model.train()
    optimizer = build_optimizer(model.parameters(), cfg)
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.fp16)
    loss_fn = torch.nn.CrossEntropyLoss()
    dtype = autocast_dtype(cfg)
    # started, prioritised and handed over as in training
    options = loader_options(workers, device, collate_views, prefetch_factor=4)
    loader = DataLoader(
        items,
        batch_size=o.batch_size,
        shuffle=True,
        drop_last=True,
        persistent_workers=options["num_workers"] > 0,
        generator=torch.Generator().manual_seed(0),
        **options,
    )
    wait = compute = 0.0
    losses, clips, done, epoch = [], 0, 0, 0
    while done < n_steps + 3:
        items.set_epoch(epoch)
        epoch += 1
        it = batches(loader)
        while done < n_steps + 3:
            t0 = time.perf_counter()
            batch = next(it, None)
            if batch is None:
                break
            t1 = time.perf_counter()
            inputs, labels = to_device(batch[0], device, cfg.channels_last), batch[1].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                logits = call_model(model, inputs)
            loss = loss_fn(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            losses.append(float(loss.detach()))  # waits for the GPU: the step's compute ends here
            t2 = time.perf_counter()
            done += 1
            if done > 3:  # the first steps pick cuDNN kernels (benchmark mode) and start the workers
                wait, compute, clips = wait + t1 - t0, compute + t2 - t1, clips + len(labels)
    return Timing(
        clips / (wait + compute),
        wait / (wait + compute),
        1000 * (wait + compute) / n_steps,
        losses[0],
        sum(losses[-3:]) / 3,
    )


def compare_precisions(root: Path, device: torch.device, quick: bool) -> bool:
    """The table of section 4; True when every precision trained to a finite loss near fp32's."""
    workers = max(1, len(os.sched_getaffinity(0)) - 1)
    size, frames, n = (32, 4, 4) if quick else (112, 16, 40)
    runs = {
        "clip3d": {"frames": frames, "size": size, "batch_size": 16 if not quick else 4},
        "frame-cnn": {"size": size, "batch_size": 64 if not quick else 4},
    }
    ok = True
    for method, opts in runs.items():
        base = None
        for precision in PRECISIONS:
            if precision != "fp32" and device.type != "cuda":
                continue
            t = steps(root, method, opts, precision, n, device, workers)
            base = base or t
            close = abs(t.last_loss - base.last_loss) <= 0.15 * max(base.last_loss, 1e-3)
            finite = t.last_loss == t.last_loss and abs(t.last_loss) != float("inf")
            ok = ok and finite and close  # the data-wait goal is reported, not a failure of the CUDA path
            goal = "OK" if t.wait_fraction <= 0.2 else "MISSED"
            print(
                f"{method:9s} {precision}: {t.clips_per_s:8.1f} clips/s ({t.clips_per_s / base.clips_per_s:.2f}x "
                f"fp32), step {t.step_ms:6.1f} ms, data wait {t.wait_fraction:.2f} (goal <= 0.2: {goal}), loss "
                f"{t.first_loss:.3f} -> {t.last_loss:.3f} ({'close to' if close else 'FAR FROM'} fp32"
                f"{'' if finite else ', NOT FINITE'}) [{workers} workers]"
            )
    return ok


def extraction(root: Path, work: Path, quick: bool) -> bool:
    """Section 5: end-to-end extraction frames/s against forward-only; True when extraction stored every video."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from actionlab.data import dataset_from_spec
    from actionlab.features import create_extractor, extract
    from extract import forward_rate  # benchmarks/extract.py: the CPU benchmark's forward-only loop

    size = 64 if quick else 224
    ds = dataset_from_spec(f"folder:{root}")
    ex = create_extractor("cnn2d:resnet50", num_frames=8, size=size, bf16=None, batch_size=64)
    ex.compute_batch([ex.decode(ds.train[0].path)] * 8)  # warm-up: cuDNN kernels, as forward_rate does
    summary = extract(ds, ex, work / "store", progress=False)
    end = summary.rows / summary.seconds
    fwd = forward_rate(ex, (64, size, size, 3), summary.rows)
    ok = summary.rows > 0 and not summary.skipped
    print(
        f"extract cnn2d:resnet50 {size}^2 on {ex.device.type} (bf16 {ex.bf16}): {end:.0f} frames/s end to end "
        f"({summary.rows} frames, {summary.seconds:.1f} s), forward-only {fwd:.0f} frames/s: ratio {end / fwd:.2f} "
        f"(goal >= 0.85: {'OK' if end / fwd >= 0.85 else 'MISSED'})"
    )
    return ok


def end_to_end(root: Path, work: Path, device: torch.device, quick: bool) -> bool:
    """`actionlab train` of clip3d on the device with bf16 (fp32 on CPU); True when it wrote a complete run."""
    out = work / "e2e"
    precision = "bf16" if device.type == "cuda" else "fp32"
    size = "32" if quick else "112"
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
        "2",
        "--frames",
        "4" if quick else "16",
        "--size",
        size,
        "--precision",
        precision,
        "--device",
        device.type,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    files = {p.name for p in out.iterdir()} if out.is_dir() else set()
    ok = proc.returncode == 0 and {"model.safetensors", "results.json", "history.json", "tensorboard"} <= files
    print(
        f"actionlab train clip3d {precision} on {device.type}: exit {proc.returncode} in "
        f"{time.perf_counter() - t0:.0f} s, {'complete run' if ok else 'INCOMPLETE'}: "
        f"{(proc.stdout.strip().splitlines() or [''])[-1]}"
    )
    if proc.returncode:
        print(proc.stderr[-1500:])
    return ok


def main() -> int:
    """Run every section; exit 1 when a check failed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks the script, not the GPU)")
    parser.add_argument("--clips-per-class", type=int, default=8)
    args = parser.parse_args()
    from actionlab.synth import generate

    t0 = time.perf_counter()
    device = environment()
    results = {"tests": run_tests()}
    work = Path(tempfile.mkdtemp(prefix="cuda_check_"))
    os.environ.setdefault("ACTIONLAB_CACHE", str(work / "cache"))
    root = generate(
        work / "set",
        num_clips_per_class=2 if args.quick else args.clips_per_class,
        size=64 if args.quick else 128,
        seed=0,
    )
    print(f"synthetic set: {time.perf_counter() - t0:.0f} s so far")
    results["precisions"] = compare_precisions(root, device, args.quick)
    results["extraction"] = extraction(root, work, args.quick)
    results["end_to_end"] = end_to_end(root, work, device, args.quick)
    failed = [k for k, v in results.items() if not v]
    print(
        f"cuda_check: {'all checks passed' if not failed else 'FAILED: ' + ', '.join(failed)} "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
