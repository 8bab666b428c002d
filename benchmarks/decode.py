"""Decode benchmark: read_frames of 16 uniformly spaced frames vs a full PyAV decode to RGB (the baseline).

Writes a 10 s 320x240 25 fps h264 clip with GOP 250 and one with GOP 12 into a temp dir, then runs
interleaved repeats and prints median times and the speed-up ratio. Run: python benchmarks/decode.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from actionlab.sampling import UniformSampler
from actionlab.video import cached, read_frames


def write_clip(path: Path, gop: int, seconds: int = 10, fps: int = 25) -> Path:
    """A moving textured scene (so decoding does real work) encoded as h264 with B-frames."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.gop_size, stream.max_b_frames = gop, 2
        stream.options = {"crf": "23", "preset": "veryfast", "keyint_min": str(gop), "sc_threshold": "0"}
        for i in range(seconds * fps):
            y, x = (3 * i) % 240, (5 * i) % 320
            frame = texture[y : y + 240, x : x + 320].copy()
            frame[100:140, (8 * i) % 280 : (8 * i) % 280 + 40] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def full_decode(path: Path) -> int:
    """Baseline: decode every frame and convert each to RGB, as a naive loader does."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for f in container.decode(stream) if f.to_ndarray(format="rgb24") is not None)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Run the interleaved benchmark and print per-case medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clips = {gop: write_clip(Path(tmp) / f"gop{gop}.mp4", gop) for gop in (250, 12)}
        indices = UniformSampler(16).sample(250)
        times: dict[tuple[int, str], list[float]] = {(g, k): [] for g in clips for k in ("full", "warm", "cold")}
        for rep in range(args.repeats):
            for gop, path in clips.items():
                times[gop, "full"].append(timed(lambda: full_decode(path)))
                # Cold: empty memory and disk caches, so the time includes building the frame index (probe's work).
                cached._CACHE.clear()
                os.environ["ACTIONLAB_CACHE"] = str(Path(tmp) / f"cache-{rep}-{gop}")
                times[gop, "cold"].append(timed(lambda: read_frames(path, indices)))
                times[gop, "warm"].append(timed(lambda: read_frames(path, indices)))
        for gop in clips:
            base = statistics.median(times[gop, "full"])
            warm, cold = statistics.median(times[gop, "warm"]), statistics.median(times[gop, "cold"])
            print(f"GOP {gop:3d}: full decode+RGB {base:.4f} s | read_frames(16) {warm:.4f} s "
                  f"(ratio {base / warm:.2f}x) | with indexing {cold:.4f} s (ratio {base / cold:.2f}x)")


if __name__ == "__main__":
    main()
