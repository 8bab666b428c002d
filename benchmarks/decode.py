"""Decode benchmark: read_frames of 16 uniformly spaced frames vs a full PyAV decode to RGB (the baseline).

Writes a 10 s 320x240 25 fps h264 clip with GOP 250 and one with GOP 12 into a temp dir, then runs
interleaved repeats and prints median times and the speed-up ratios. The baseline is the obvious
`for f in container.decode(video=0): f.to_ndarray(format="rgb24")` with PyAV's default threading; the same
decode with thread_type="AUTO" (frame threads) is timed too, for reference. "warm" reads a file whose frame
index is cached (what training epochs after the first see); "cold" includes indexing a never-seen file;
"cold, 1 thread" is the same read with threads=1, which shows what skipping work alone gives.
The issue's goals (>= 2.0x at GOP 250, >= 3.0x at GOP 12) are checked against the cold ratio, the stricter one.

The clips are encoded the way x264 encodes by default (frame-threaded, one slice per frame), like camera and
web h264 (../shared/real-clips/cup.mp4 is one slice per frame too). `--sliced` encodes several slices per frame
instead (what PyAV's default encoder threading does): FFmpeg then decodes the baseline with slice threads on
every core, and at GOP 250 both sides are bound by the same decoder. When ../shared/real-clips exists, its
clips are timed the same way.
Run: python benchmarks/decode.py [--repeats N] [--sliced]
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
from actionlab.video import cached, probe, read_frames

REAL_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "real-clips"
KINDS = ("full", "auto", "warm", "cold", "cold1")


def write_clip(path: Path, gop: int, seconds: int = 10, fps: int = 25, sliced: bool = False) -> Path:
    """A moving textured scene (so decoding does real work) encoded as h264 with B-frames."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.gop_size, stream.max_b_frames = gop, 2
        stream.thread_type = "SLICE" if sliced else "FRAME"  # x264: sliced threads write several slices a frame
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
    """Wall seconds of fn(); its process CPU seconds go to `cpu`."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    cpu.append(time.process_time() - start_cpu)
    return time.perf_counter() - start


def run(clips: dict[str, Path], repeats: int, cache_root: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """Interleaved repeats of every kind on every clip: {clip: {kind: (median wall s, median CPU s)}}."""
    picks = {name: UniformSampler(16).sample(probe(path).num_frames) for name, path in clips.items()}
    times = {(c, k): [] for c in clips for k in KINDS}
    cpu = {(c, k): [] for c in clips for k in KINDS}
    for name, path in clips.items():
        full_decode(path), read_frames(path, picks[name])  # warm-up: library initialisation is nobody's cost
    for rep in range(repeats):
        for name, path in clips.items():
            idx = picks[name]
            times[name, "full"].append(timed(lambda: full_decode(path), cpu[name, "full"]))
            times[name, "auto"].append(timed(lambda: full_decode(path, "AUTO"), cpu[name, "auto"]))
            for kind, threads in (("cold1", 1), ("cold", None)):
                # Cold: empty memory and disk caches, so the time includes building the frame index (probe's work).
                cached._CACHE.clear()
                os.environ["ACTIONLAB_CACHE"] = str(cache_root / f"cache-{rep}-{name}-{kind}")
                times[name, kind].append(timed(lambda: read_frames(path, idx, threads=threads), cpu[name, kind]))
            times[name, "warm"].append(timed(lambda: read_frames(path, idx), cpu[name, "warm"]))
    return {c: {k: (statistics.median(times[c, k]), statistics.median(cpu[c, k])) for k in KINDS} for c in clips}


def report(name: str, res: dict[str, tuple[float, float]], goal: float | None) -> None:
    """Print one clip's medians and ratios against the baseline."""
    (base, base_cpu), (auto, _), (warm, warm_cpu), (cold, cold_cpu), (cold1, _) = (res[k] for k in KINDS)
    verdict = "" if goal is None else f" | goal {goal:.1f}x cold: {'meets' if base / cold >= goal else 'MISSES'}"
    print(f"{name}: full decode+RGB {base:.4f} s (AUTO threads {auto:.4f} s) | read_frames(16) warm {warm:.4f} s "
          f"({base / warm:.2f}x) | cold {cold:.4f} s ({base / cold:.2f}x; vs AUTO {auto / cold:.2f}x) | "
          f"cold, 1 thread {cold1:.4f} s ({base / cold1:.2f}x){verdict}")
    print(f"    CPU time: full {base_cpu:.4f} s | warm {warm_cpu:.4f} s ({base_cpu / warm_cpu:.2f}x) | "
          f"cold {cold_cpu:.4f} s ({base_cpu / cold_cpu:.2f}x)")


def main() -> None:
    """Run the interleaved benchmark and print per-clip medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sliced", action="store_true", help="encode several slices per frame")
    args = parser.parse_args()
    goals = {"GOP 250": 2.0, "GOP 12": 3.0}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {f"GOP {gop}": write_clip(Path(tmp) / f"gop{gop}.mp4", gop, sliced=args.sliced) for gop in (250, 12)}
        if REAL_CLIPS.is_dir():
            clips.update({p.name: p for p in sorted(REAL_CLIPS.iterdir()) if p.is_file()})
        kind = "several slices per frame" if args.sliced else "one slice per frame"
        print(f"h264 clips: {kind}; {os.cpu_count()} cores; {args.repeats} interleaved repeats")
        for name, res in run(clips, args.repeats, Path(tmp)).items():
            report(name, res, goals.get(name))


if __name__ == "__main__":
    main()
