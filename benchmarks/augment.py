"""Training augmentation of one 16x112^2 clip: the one-pass `Augment` against the same steps done one by one.

    python benchmarks/augment.py [--repeats 300]

The baseline is what the reader did before (and what a straightforward version does): shift by two index
gathers, a channel-shuffled copy, float(), then mul and add. Both get the same uint8 frames and random draws on
one thread, as a DataLoader worker runs them; prints ms per clip of each and the ratio. A second line times a 3D
preset's whole clip transform (FrameReader, layout (3, T, S, S)): normalised straight into channel-major memory,
against the one pass into (T, 3, S, S) followed by the transposing copy it needed before.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from actionlab.methods.inputs import KINETICS, FrameReader
from actionlab.transforms.augment import Augment


def step_by_step(x: torch.Tensor, rng: np.random.Generator, pad: int = 4) -> torch.Tensor:
    """The baseline: flip, shift (gathers), colour and normalisation as separate passes over the clip."""
    if rng.random() < 0.5:
        x = x.flip(-1)
    h, w = x.shape[-2:]
    dy, dx = (int(v) - pad for v in rng.integers(0, 2 * pad + 1, 2))
    x = x.index_select(-2, torch.arange(h).add_(dy).clamp_(0, h - 1))
    x = x.index_select(-1, torch.arange(w).add_(dx).clamp_(0, w - 1))
    mean, std = (torch.tensor(v, dtype=torch.float32) for v in KINETICS)
    perm = torch.from_numpy(rng.permutation(3))
    x, scale, bias = x[:, perm], (1 / (255 * std))[perm], (-mean / std)[perm]
    grey = rng.random() < 0.3
    gain, offset = float(rng.uniform(0.6, 1.4)), float(rng.uniform(-0.5, 0.5))
    sign = -1.0 if rng.random() < 0.5 else 1.0
    out = x.float().mul_((sign * gain * scale).view(1, 3, 1, 1)).add_((sign * (gain * bias + offset)).view(1, 3, 1, 1))
    return (out.mean(1, keepdim=True).expand_as(out) if grey else out).contiguous()


def main() -> None:
    """Time both, alternating, and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames = np.random.default_rng(0).integers(0, 256, (16, 112, 112, 3), dtype=np.uint8)
    augment = Augment()
    runs = {
        "one pass": lambda i: augment(
            torch.from_numpy(frames).permute(0, 3, 1, 2), 0, np.random.default_rng(i), KINETICS
        ),
        "step by step": lambda i: step_by_step(torch.from_numpy(frames).permute(0, 3, 1, 2), np.random.default_rng(i)),
    }
    reader, idx = FrameReader(None, 112, "3d", KINETICS, augment), np.arange(16)  # type: ignore[arg-type]

    def transposed_after(i: int) -> torch.Tensor:
        x, _ = augment(torch.from_numpy(frames).permute(0, 3, 1, 2), 0, np.random.default_rng(i), KINETICS)
        return x.reshape(1, 16, 3, 112, 112).transpose(1, 2).contiguous()

    runs["3d clip, channel-major"] = lambda i: reader.transform(frames, idx, 0, np.random.default_rng(i))
    runs["3d clip, transposed after"] = transposed_after
    ms: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(3):
        for name, run in runs.items():
            start = time.perf_counter()
            for i in range(args.repeats):
                run(i)
            ms[name].append(1000 * (time.perf_counter() - start) / args.repeats)
    one, base = float(np.median(ms["one pass"])), float(np.median(ms["step by step"]))
    print(f"augmentation of a 16x112^2 clip: one pass {one:.2f} ms, step by step {base:.2f} ms: ratio {one / base:.2f}")
    major, after = (float(np.median(ms[k])) for k in ("3d clip, channel-major", "3d clip, transposed after"))
    print(
        f"3D clip transform: channel-major {major:.2f} ms, transposed after {after:.2f} ms: ratio {major / after:.2f}"
    )


if __name__ == "__main__":
    main()
