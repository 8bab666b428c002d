"""Decode benchmark: read_frames of 16 uniformly spaced frames vs a full PyAV decode to RGB (the baseline).

Writes 10 s 320x240 25 fps h264 clips with GOP 250 and GOP 12 into a temp dir, then runs interleaved repeats
and prints median times and speed-up ratios. The baseline is the obvious
`for f in container.decode(video=0): f.to_ndarray(format="rgb24")` with PyAV's default threading; the same
decode with thread_type="AUTO" (frame threads) is timed too, for reference. "warm" reads a file whose frame
index is cached (what training epochs after the first see); "cold" includes indexing a never-seen file;
"cold, 1 thread" is the same read with threads=1, which shows what skipping work alone gives.
The issue's goals (>= 2.0x at GOP 250, >= 3.0x at GOP 12) are checked against the cold ratio, the stricter one.

Two contents, both printed:
- "camera": a panning view of a scene with smooth shading, hard-edged objects, a moving box and sensor grain
  (about 250-400 kbit/s). Its full decode takes 0.15-0.17 s here, the range the issue quotes for this benchmark
  (0.13-0.17 s); the goals are judged on it.
- "noise": the same pan over uniformly random pixels, 1.8 Mbit/s, several times what camera footage of this
  size needs. Decoding is most of its cost, so it shows how the reader does when little conversion can be
  saved; it is reported, not judged.
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
import cv2
import numpy as np

from actionlab.sampling import UniformSampler
from actionlab.video import cached, probe, read_frames

REAL_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "real-clips"
KINDS = ("full", "auto", "warm", "cold", "cold1")


def scene(seed: int = 0) -> np.ndarray:
    """A 640x480 still scene: shading at three scales (like lit surfaces) plus hard-edged coloured objects."""
    rng = np.random.default_rng(seed)
    image = np.full((480, 640, 3), 128, np.float32)
    for sigma, amplitude in ((40, 90), (12, 40), (3, 12)):
        noise = cv2.GaussianBlur(rng.normal(0, 1, image.shape).astype(np.float32), (0, 0), sigma)
        image += amplitude * noise / noise.std()
    for _ in range(25):
        x, y = int(rng.integers(0, 580)), int(rng.integers(0, 420))
        w, h = int(rng.integers(10, 80)), int(rng.integers(10, 80))
        cv2.rectangle(image, (x, y), (x + w, y + h), rng.integers(0, 255, 3).tolist(), -1)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_clip(
    path: Path, gop: int, content: str = "camera", sliced: bool = False, seconds: int = 10, fps: int = 25
) -> Path:
    """A camera pan over `content` ("camera" scene with grain, or "noise") encoded as h264 with B-frames."""
    rng = np.random.default_rng(0)
    if content == "noise":
        texture, grain = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), 0
    else:
        texture, grain = scene(), 8
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.gop_size, stream.max_b_frames = gop, 2
        stream.thread_type = "SLICE" if sliced else "FRAME"  # x264: sliced threads write several slices a frame
        stream.options = {"crf": "23", "preset": "veryfast", "keyint_min": str(gop), "sc_threshold": "0"}
        for i in range(seconds * fps):
            y, x = (3 * i) % 240, (5 * i) % 320
            frame = texture[y : y + 240, x : x + 320].astype(np.int16)
            frame[100:140, (8 * i) % 280 : (8 * i) % 280 + 40] = 255
            if grain:
                frame += rng.normal(0, grain, frame.shape).astype(np.int16)
            frame = np.clip(frame, 0, 255).astype(np.uint8)
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
                cached.forget()
                os.environ["ACTIONLAB_CACHE"] = str(cache_root / f"cache-{rep}-{name}-{kind}")
                times[name, kind].append(timed(lambda: read_frames(path, idx, threads=threads), cpu[name, kind]))
            times[name, "warm"].append(timed(lambda: read_frames(path, idx), cpu[name, "warm"]))
    return {c: {k: (statistics.median(times[c, k]), statistics.median(cpu[c, k])) for k in KINDS} for c in clips}


def report(name: str, res: dict[str, tuple[float, float]], goal: float | None) -> None:
    """Print one clip's medians and ratios against the baseline."""
    (base, base_cpu), (auto, _), (warm, warm_cpu), (cold, cold_cpu), (cold1, _) = (res[k] for k in KINDS)
    verdict = "" if goal is None else f" | goal {goal:.1f}x cold: {'meets' if base / cold >= goal else 'MISSES'}"
    print(
        f"{name}: full decode+RGB {base:.4f} s (AUTO threads {auto:.4f} s) | read_frames(16) warm {warm:.4f} s "
        f"({base / warm:.2f}x) | cold {cold:.4f} s ({base / cold:.2f}x; vs AUTO {auto / cold:.2f}x) | "
        f"cold, 1 thread {cold1:.4f} s ({base / cold1:.2f}x){verdict}"
    )
    print(
        f"    CPU time: full {base_cpu:.4f} s | warm {warm_cpu:.4f} s ({base_cpu / warm_cpu:.2f}x) | "
        f"cold {cold_cpu:.4f} s ({base_cpu / cold_cpu:.2f}x)"
    )


def main() -> None:
    """Run the interleaved benchmark and print per-clip medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sliced", action="store_true", help="encode several slices per frame")
    args = parser.parse_args()
    goals = {"GOP 250, camera": 2.0, "GOP 12, camera": 3.0}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {
            f"GOP {gop}, {content}": write_clip(Path(tmp) / f"{content}{gop}.mp4", gop, content, args.sliced)
            for content in ("camera", "noise")
            for gop in (250, 12)
        }
        if REAL_CLIPS.is_dir():
            clips.update({p.name: p for p in sorted(REAL_CLIPS.iterdir()) if p.is_file()})
        kind = "several slices per frame" if args.sliced else "one slice per frame"
        print(f"h264 clips: {kind}; {os.cpu_count()} cores; {args.repeats} interleaved repeats")
        for name, res in run(clips, args.repeats, Path(tmp)).items():
            report(name, res, goals.get(name))


if __name__ == "__main__":
    main()
