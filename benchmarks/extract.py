"""End-to-end extraction throughput vs forward-only throughput of the same model, RSS growth, bf16 error.

    .venv/bin/python benchmarks/extract.py [--videos 12] [--size 112] [--threads 2]

Prints frames/s (cnn2d:resnet18) and clips/s (cnn3d:r3d_18) of extract() over generated videos, the same
model's forward-only rate on identical input sizes measured in this run, and their ratio (goal >= 0.85);
peak RSS after N and 2N videos (must not grow); and bf16-vs-fp32 feature differences.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from actionlab.data import Dataset, Sample
from actionlab.features import create_extractor, extract


def write_videos(root: Path, count: int, frames: int, size: int, start: int = 0) -> list[Sample]:
    """Noisy moving-gradient h264 videos, count of them."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for v in range(start, start + count):
        path = root / f"v{v}.mp4"
        rng = np.random.default_rng(v)
        with av.open(str(path), "w") as c:
            s = c.add_stream("libx264", rate=Fraction(25))
            s.width = s.height = size
            s.pix_fmt = "yuv420p"
            s.options = {"preset": "ultrafast"}
            base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            for i in range(frames):
                img = np.roll(base, i * 2, axis=1)
                for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        out.append(Sample(path, v % 2))
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@torch.inference_mode()
def forward_rate(ex, shape: tuple[int, ...], items: int) -> float:
    """Items (frames or clips) per second of the extractor's network alone on random input of `shape`."""
    x = torch.randn(*shape, device=ex.device)
    with ex.autocast():
        ex.forward(x)  # warm-up
        start = time.perf_counter()
        reps = max(1, items // shape[0])
        for _ in range(reps):
            ex.forward(x)
    return reps * shape[0] / (time.perf_counter() - start)


def bench(name: str, ex, samples: list[Sample], root: Path, per_video: int, shape: tuple[int, ...]) -> None:
    ds = Dataset("bench", ["a", "b"], samples, [])
    ex.transform(samples[0].path)  # warm-up (oneDNN kernel selection) outside the timed run, like forward_rate
    summary = extract(ds, ex, root / "store", progress=False)
    e2e = summary.done * per_video / summary.seconds
    fwd = forward_rate(ex, shape, summary.done * per_video)
    print(f"{name}: end-to-end {e2e:.1f}/s, forward-only {fwd:.1f}/s, ratio {e2e / fwd:.2f} (goal >= 0.85)")


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vids = write_videos(root / "v", args.videos, 32, args.size)
        s = args.size
        ex2 = create_extractor("cnn2d:resnet18", num_frames=8, size=s)
        bench("cnn2d:resnet18 frames", ex2, vids, root, 8, (8, 3, s, s))
        print(f"peak RSS after {args.videos} videos: {peak_rss_mb():.0f} MiB")
        more = write_videos(root / "v", args.videos, 32, args.size, start=args.videos)
        extract(Dataset("bench", ["a", "b"], vids + more, []), ex2, root / "store", progress=False)
        print(f"peak RSS after {2 * args.videos} videos: {peak_rss_mb():.0f} MiB")
        ex3 = create_extractor("cnn3d:r3d_18", num_clips=1, clip_len=16, size=s)
        bench("cnn3d:r3d_18 clips", ex3, vids, root, 1, (1, 16, 3, s, s))
        frames, _, _ = ex2.decode(vids[0].path)
        fp32 = ex2.compute((frames, np.arange(8), 25.0)).values
        ex2.bf16 = True
        bf16 = ex2.compute((frames, np.arange(8), 25.0)).values
        err = np.abs(bf16 - fp32)
        print(f"bf16 vs fp32 (resnet18): max abs {err.max():.4f}, max rel {err.max() / np.abs(fp32).max():.4f}, "
              f"L2 rel {np.linalg.norm(bf16 - fp32) / np.linalg.norm(fp32):.4f}")


if __name__ == "__main__":
    main()
