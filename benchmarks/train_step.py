"""Training step time of the methods' networks, fp32 vs bf16 autocast, interleaved in one run (ratio printed).

Usage: python benchmarks/train_step.py [--size 48] [--frames 8] [--batch 32] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from actionlab.models import create_model


def step_seconds(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool, opt: torch.optim.Optimizer) -> float:
    """One forward + backward + optimizer step, timed."""
    t0 = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    loss = nn.functional.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return time.perf_counter() - t0


def main() -> None:
    """Print per-model fp32 and bf16 step times and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    cases = {
        "resnet-small (frame-cnn)": (
            create_model("resnet-small", num_classes=14, width=16),
            torch.randn(a.batch, 3, a.size, a.size),
        ),
        "r2plus1d-small (clip3d)": (
            create_model("r2plus1d-small", num_classes=14, width=16),
            torch.randn(a.batch, 3, a.frames, a.size, a.size),
        ),
        "r2plus1d-small (flow2p1d)": (
            create_model("r2plus1d-small", num_classes=14, in_channels=2, width=16),
            torch.randn(a.batch, 2, 16, a.size, a.size),
        ),
    }
    y = torch.randint(0, 14, (a.batch,))
    for name, (model, x) in cases.items():
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        times = {False: [], True: []}
        for bf16 in (False, True):  # warm-up
            step_seconds(model, x, y, bf16, opt)
        for _ in range(a.repeats):
            for bf16 in (False, True):
                times[bf16].append(step_seconds(model, x, y, bf16, opt))
        fp32, bf = min(times[False]), min(times[True])
        print(f"{name:28s} fp32 {fp32 * 1000:7.1f} ms  bf16 {bf * 1000:7.1f} ms  speed-up {fp32 / bf:.2f}x")


if __name__ == "__main__":
    main()
