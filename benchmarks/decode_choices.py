"""The reader's three decoding choices, each timed against its alternative in one run, ratios printed.

1. RGB conversion on one swscale thread vs PyAV's default (a thread per core): CPU time per frame.
2. Reading 16 frames on one decoding thread vs two, on cheap frames (320x240 camera-like, ~10 kbit/frame, where
   video/threads.py keeps one thread), on costly ones (320x240 random pixels, ~70 kbit/frame) and on the real
   clips of ../shared/real-clips when present (h264, mpeg4, msmpeg4): wall time.
3. The first read of a never-seen xvid AVI (indexed by decoding): converting the frames the indexing pass
   decoded vs decoding the file again (KEEP_BYTES = 0): wall time.

    .venv/bin/python benchmarks/decode_choices.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

import actionlab.video.reader as reader
import actionlab.video.seeking as seeking
from actionlab.sampling import UniformSampler
from actionlab.video import cached, probe, read_frames, read_sampled
from decode import REAL_CLIPS, scene, write_clip


def median_time(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median seconds of fn() over `repeats` calls, measured with `clock`."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def conversion(path: Path, size: tuple[int, int] | None, repeats: int) -> None:
    """CPU per frame of frame -> RGB ndarray with swscale's default threads and with one."""
    with av.open(str(path)) as container:
        frames = [f for _, f in zip(range(16), container.decode(video=0))]
    kw = {} if size is None else {"width": size[1], "height": size[0]}
    cpu = {}
    for threads in (None, 1):
        r = VideoReformatter()
        cpu[threads] = median_time(
            lambda: [r.reformat(f, format="rgb24", threads=threads, **kw).to_ndarray() for f in frames],
            repeats,
            time.process_time,
        ) / len(frames)
    label = f"{frames[0].width}x{frames[0].height}" + (f" -> {size[1]}x{size[0]}" if size else "")
    print(
        f"RGB conversion {label}: default threads {cpu[None] * 1e6:.0f} us CPU/frame, one thread "
        f"{cpu[1] * 1e6:.0f} us ({cpu[None] / cpu[1]:.2f}x less CPU)"
    )


def thread_choice(path: Path, label: str, repeats: int) -> None:
    """read_frames of 16 uniform frames (index cached) on one thread vs two, the two used even where
    video/threads.worth_threads would keep one: frame threads for one long run, else runs split over decoders."""
    info = probe(path)
    idx = UniformSampler(16).sample(info.num_frames)
    kbit = path.stat().st_size * 8 / 1000 / info.num_frames
    read_frames(path, idx)
    times: dict[int, list[float]] = {1: [], 2: []}
    real = seeking.worth_threads
    try:
        seeking.worth_threads = lambda *args: True
        for _ in range(repeats):
            for threads in (1, 2):
                start = time.perf_counter()
                read_frames(path, idx, threads=threads)
                times[threads].append(time.perf_counter() - start)
    finally:
        seeking.worth_threads = real
    one, two = statistics.median(times[1]), statistics.median(times[2])
    keeps = "two" if real(info.width, info.height, kbit * 1000 / 8) else "one"
    print(
        f"read 16 frames of {label} ({kbit:.0f} kbit/frame): one thread {one:.4f} s, two {two:.4f} s "
        f"(one thread {two / one:.2f}x the speed of two; read_frames uses {keeps})"
    )


def write_xvid(path: Path, seconds: int = 7) -> Path:
    """A UCF101-like clip: 320x240 mpeg4 (xvid) AVI at about 540 kbit/s, camera-like content."""
    texture, rng = scene(3), np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = 320, 240, "yuv420p", 540_000
        stream.codec_context.codec_tag = "XVID"
        for i in range(seconds * 25):
            y, x = (3 * i) % 240, (5 * i) % 320
            frame = texture[y : y + 240, x : x + 320].astype(np.int16)
            frame += rng.normal(0, 6, frame.shape).astype(np.int16)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.clip(frame, 0, 255).astype(np.uint8))):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def first_read(path: Path, cache_root: Path, repeats: int) -> None:
    """Cold read_sampled of 8 frames at 112x112, keeping the indexing pass's frames or not, interleaved."""
    times: dict[int, list[float]] = {reader.KEEP_BYTES: [], 0: []}
    budget = reader.KEEP_BYTES
    for rep in range(repeats):
        for keep in (budget, 0):
            reader.KEEP_BYTES = keep
            cached.forget()
            os.environ["ACTIONLAB_CACHE"] = str(cache_root / f"cache-{rep}-{keep}")
            start = time.perf_counter()
            read_sampled(path, UniformSampler(8).sample, size=(112, 112), threads=1)
            times[keep].append(time.perf_counter() - start)
    reader.KEEP_BYTES = budget
    kept, again = statistics.median(times[budget]), statistics.median(times[0])
    print(
        f"first read of a 320x240 xvid AVI, 8 frames: decoding again {again:.4f} s, converting the indexing "
        f"pass's frames {kept:.4f} s ({again / kept:.2f}x)"
    )


def main() -> None:
    """Run the three comparisons."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        camera, noise = write_clip(root / "camera.mp4", 250, "camera"), write_clip(root / "noise.mp4", 250, "noise")
        conversion(camera, (112, 112), args.repeats)
        conversion(camera, None, args.repeats)
        thread_choice(camera, "320x240 camera-like, GOP 250", args.repeats)
        thread_choice(noise, "320x240 random pixels, GOP 250", args.repeats)
        for name in ("cup.mp4", "Megamind.avi", "vtest.avi"):  # real h264, mpeg4, msmpeg4 (when ../shared exists)
            if (REAL_CLIPS / name).is_file():
                thread_choice(REAL_CLIPS / name, f"real {name}", args.repeats)
        first_read(write_xvid(root / "ucf.avi"), root, args.repeats)


if __name__ == "__main__":
    main()
