"""End-to-end extraction throughput vs forward-only throughput of the same model, RSS growth, bf16 vs fp32.

    .venv/bin/python benchmarks/extract.py [--videos 48] [--repeats 5] [--size 112] [--precision auto|fp32|bf16]

Prints frames/s (cnn2d:resnet18) and clips/s (cnn3d:r3d_18) of one extract() run over generated videos (decoding,
the network, the store's writes and its final consolidation into HDF5, all included) and the same extractor's
forward-only rate in this run, at the same batch size, input size, precision and memory format (the forward-only
loop calls the extractor's own forward() under its own autocast). Forward-only is timed two ways: as extract()
runs the network (`streams` passes at once, each on its share of torch's threads) and as one pass on all of
them; the ratio (goal >= 0.85) is end-to-end over the faster of the two. Also peak RSS after N/2 and N videos
(must not grow) and the bf16-vs-fp32 feature difference and forward speed ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from actionlab.data import Dataset, Sample
from actionlab.features import create_extractor, extract
from actionlab.features.store import shard_keys
from actionlab.video import cached


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


def forward_rate(ex, shape: tuple[int, ...], items: int, streams: int | None = None) -> float:
    """Items (frames or clips) per second of the extractor's network alone on random uint8 frames of `shape`.

    The input goes through ex.to_input once, outside the timing, so it has the same dtype and memory layout as
    in extract(); the timed loop is ex.forward under ex.autocast, exactly what extract() runs per batch, on
    `streams` threads at once (default ex.streams) with the same share of torch's threads as extract() gives them.
    """
    frames = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    x = ex.to_input(frames)
    n = streams or ex.streams
    reps = max(2, items // shape[0] // n)
    barrier, times = threading.Barrier(n), []

    @torch.inference_mode()
    def loop() -> None:
        with ex.autocast():
            ex.forward(x)  # warm-up
            barrier.wait()
            start = time.perf_counter()
            for _ in range(reps):
                ex.forward(x)
            times.append(time.perf_counter() - start)

    with ex.stream_threads(n):
        threads = [threading.Thread(target=loop) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return n * reps * shape[0] / max(times)


def settle() -> None:
    """Flush dirty pages before a timed phase: the kernel writing back the videos generated here, or the previous
    phase's store, would otherwise be charged to whichever phase it overlaps (`make bench` runs this right after
    synth.py has written hundreds of clips)."""
    os.sync()
    time.sleep(0.2)


class RssAtHalf(threading.Thread):
    """Polls the store's shards during extract() and notes the peak RSS when half the videos are stored."""

    def __init__(self, store_root: Path, half: int) -> None:
        super().__init__(daemon=True)
        self.store_root, self.half, self.at_half = store_root, half, None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            stored = sum(len(shard_keys(f)) for f in self.store_root.glob("*/*/items/[!.]*.npz"))
            if self.at_half is None and stored >= self.half:
                self.at_half = peak_rss_mb()


def bench(
    name: str, ex, samples: list[Sample], root: Path, shape: tuple[int, ...], workers: int | None, repeats: int
) -> None:
    """`repeats` extract() runs over every video, each into a fresh store, interleaved with forward-only timings.

    Medians of both go into the ratio: this machine's speed drifts by 10-20% within a minute, and interleaving
    exposes both measurements to the same drift. RSS is noted at half and at the end of the first run.
    """
    ds = Dataset("bench", ["a", "b"], samples, [])
    first = ex.decode(samples[0].path)
    ex.compute_batch([first] * max(1, shape[0] // len(first[0])))  # warm-up (oneDNN kernels) like forward_rate
    rows = len(samples) * len(first[0]) // 2
    # Forward-only is timed both as extract() runs it (ex.streams passes at once) and as one pass on all of torch's
    # threads; the ratio is taken against the faster of the two, so the streams cannot flatter it.
    settle()
    forward, single, e2e, seconds = [forward_rate(ex, shape, rows)], [forward_rate(ex, shape, rows, 1)], [], []
    for rep in range(repeats):
        store = root / f"store{rep}"
        # every run sees the videos for the first time, as a user's first extraction does: no cached frame index
        cached.forget()
        os.environ["ACTIONLAB_CACHE"] = str(root / f"cache{rep}")
        watcher = RssAtHalf(store, len(samples) // 2)
        watcher.start()
        settle()
        summary = extract(ds, ex, store, progress=False, workers=workers)
        watcher.done.set()
        watcher.join()
        if rep == 0:
            print(
                f"{name}: peak RSS after {len(samples) // 2} videos: {watcher.at_half or float('nan'):.0f} MiB, "
                f"after {len(samples)}: {peak_rss_mb():.0f} MiB"
            )
        e2e.append(summary.rows / summary.seconds)
        seconds.append(summary.seconds)
        settle()
        forward.append(forward_rate(ex, shape, rows))
        single.append(forward_rate(ex, shape, rows, 1))
    fwd, one, end = statistics.median(forward), statistics.median(single), statistics.median(e2e)
    print(
        f"{name}: batch {shape[0]}, bf16 {ex.bf16}, {ex.streams} streams: end-to-end {end:.1f}/s (median of "
        f"{repeats} runs of {len(samples)} videos, {statistics.median(seconds):.2f} s each, the store's "
        f"consolidation included; runs {', '.join(f'{x:.3g}' for x in e2e)})"
    )
    print(
        f"{name}: forward-only {fwd:.1f}/s with {ex.streams} streams (median of "
        f"{', '.join(f'{x:.3g}' for x in forward)}), {one:.1f}/s as one pass on {torch.get_num_threads()} threads "
        f"(median of {', '.join(f'{x:.3g}' for x in single)}); streams/one-pass {fwd / one:.2f}"
    )
    print(f"{name}: ratio end-to-end / best forward-only {end / max(fwd, one):.2f} (goal >= 0.85)")


def bf16_report(frames: np.ndarray, size: int, batch: int) -> None:
    """Relative L2 difference of resnet18 features bf16 vs fp32 on real decoded frames, and the speed ratio."""
    fp32 = create_extractor("cnn2d:resnet18", num_frames=8, size=size, bf16=False)
    bf16 = create_extractor("cnn2d:resnet18", num_frames=8, size=size, bf16=True)
    a = fp32.compute((frames, np.arange(len(frames)), 25.0)).values
    b = bf16.compute((frames, np.arange(len(frames)), 25.0)).values
    rel = np.linalg.norm(b - a) / np.linalg.norm(a)
    shape = (batch, size, size, 3)
    speed = forward_rate(bf16, shape, 4 * batch) / forward_rate(fp32, shape, 4 * batch)
    print(
        f"bf16 vs fp32 (resnet18, real frames): relative L2 {rel:.4f}, max abs {np.abs(b - a).max():.4f}; "
        f"bf16 forward speed {speed:.2f}x fp32"
    )


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=48)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave default)")
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    ap.add_argument("--workers", type=int, help="decode threads (default: extract()'s)")
    ap.add_argument("--batch2d", type=int, default=32, help="cnn2d frames per forward pass")
    ap.add_argument("--batch3d", type=int, default=4, help="cnn3d clips per forward pass")
    ap.add_argument("--repeats", type=int, default=5, help="extract() runs per extractor (medians are reported)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bf16 = None if args.precision == "auto" else args.precision == "bf16"
    s = args.size
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vids = write_videos(root / "v", args.videos, 32, s)
        ex2 = create_extractor("cnn2d:resnet18", num_frames=8, size=s, bf16=bf16, batch_size=args.batch2d)
        bench("cnn2d:resnet18 frames", ex2, vids, root / "2d", (args.batch2d, s, s, 3), args.workers, args.repeats)
        ex3 = create_extractor("cnn3d:r3d_18", num_clips=1, clip_len=16, size=s, bf16=bf16, batch_size=args.batch3d)
        bench("cnn3d:r3d_18 clips", ex3, vids, root / "3d", (args.batch3d, 16, s, s, 3), args.workers, args.repeats)
        bf16_report(ex2.decode(vids[0].path)[0], s, args.batch2d)


if __name__ == "__main__":
    main()
