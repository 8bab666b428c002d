"""Decode benchmark: read_frames of 16 uniformly spaced frames vs a full PyAV decode to RGB (the baseline).

Writes a 10 s 320x240 25 fps h264 clip with GOP 250 and one with GOP 12 into a temp dir, then runs
interleaved repeats and prints median times and the speed-up ratios. The baseline is the obvious
`for f in container.decode(video=0): f.to_ndarray(format="rgb24")` with PyAV's default threading; the same
decode with thread_type="AUTO" (frame threads) is timed too, for reference. "warm" reads a file whose frame
index is cached (what training epochs after the first see); "cold" includes indexing a never-seen file.
The issue's goals (>= 2.0x at GOP 250, >= 3.0x at GOP 12) are checked against the cold ratio, the stricter one.
Run: python benchmarks/decode.py [--repeats N]
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


def full_decode(path: Path, thread_type: str | None = None) -> int:
    """Baseline: the obvious full decode, every frame converted to RGB, PyAV's default threading unless asked."""
    with av.open(str(path)) as container:
        if thread_type:
            container.streams.video[0].thread_type = thread_type
        return sum(1 for f in container.decode(video=0) if f.to_ndarray(format="rgb24") is not None)


def timed(fn, cpu: list[float]) -> float:
    """Wall seconds of fn(); its process CPU seconds go to `cpu` (steadier than wall time on a shared machine)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    cpu.append(time.process_time() - start_cpu)
    return time.perf_counter() - start


def main() -> None:
    """Run the interleaved benchmark and print per-case medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clips = {gop: write_clip(Path(tmp) / f"gop{gop}.mp4", gop) for gop in (250, 12)}
        indices = UniformSampler(16).sample(250)
        kinds = ("full", "auto", "warm", "cold")
        times: dict[tuple[int, str], list[float]] = {(g, k): [] for g in clips for k in kinds}
        cpu: dict[tuple[int, str], list[float]] = {(g, k): [] for g in clips for k in kinds}
        for gop, path in clips.items():
            full_decode(path), read_frames(path, indices)  # warm-up: library initialisation is nobody's cost
        for rep in range(args.repeats):
            for gop, path in clips.items():
                times[gop, "full"].append(timed(lambda: full_decode(path), cpu[gop, "full"]))
                times[gop, "auto"].append(timed(lambda: full_decode(path, "AUTO"), cpu[gop, "auto"]))
                # Cold: empty memory and disk caches, so the time includes building the frame index (probe's work).
                cached._CACHE.clear()
                os.environ["ACTIONLAB_CACHE"] = str(Path(tmp) / f"cache-{rep}-{gop}")
                times[gop, "cold"].append(timed(lambda: read_frames(path, indices), cpu[gop, "cold"]))
                times[gop, "warm"].append(timed(lambda: read_frames(path, indices), cpu[gop, "warm"]))
        goals = {250: 2.0, 12: 3.0}
        for gop in clips:
            base, auto, warm, cold = (statistics.median(times[gop, k]) for k in kinds)
            verdict = "meets" if base / cold >= goals[gop] else "MISSES"
            print(f"GOP {gop:3d}: full decode+RGB {base:.4f} s (AUTO threads {auto:.4f} s) | "
                  f"read_frames(16) warm {warm:.4f} s ({base / warm:.2f}x) | "
                  f"cold, with indexing {cold:.4f} s ({base / cold:.2f}x; vs AUTO {auto / cold:.2f}x) | "
                  f"goal {goals[gop]:.1f}x cold: {verdict}")
            base_cpu, _, warm_cpu, cold_cpu = (statistics.median(cpu[gop, k]) for k in kinds)
            print(f"         CPU time: full {base_cpu:.4f} s | warm {warm_cpu:.4f} s ({base_cpu / warm_cpu:.2f}x) | "
                  f"cold {cold_cpu:.4f} s ({base_cpu / cold_cpu:.2f}x)")


if __name__ == "__main__":
    main()
