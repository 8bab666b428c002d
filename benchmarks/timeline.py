"""predict --timeline on a 3-minute 320x240 25 fps video: real-time factor, decode-alone baseline, peak memory.

    .venv/bin/python benchmarks/timeline.py [--work DIR] [--minutes 3]

Builds (once, in --work) the long video and a 10-second one from synthetic clips resized to 320x240 (encoded
streaming: the long video is never in memory), and a clip3d run at its default input (8 segments, 64 px; one
epoch: speed does not depend on the weights). Then, each in a fresh process so peak RSS is its own:
decode alone (PyAV, every frame, no conversion: the floor of any timeline), the timeline of the 10-second video
and of the long one. Prints video seconds per wall second (goal >= 4x on 2 cores), the ratio to decode alone
(the machine may be shared: the ratio is the stable number), and the peak RSS of the long run over the short
one (goal 1.00 +- 0.10).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
if mode == "decode":
    from actionlab.video.opening import open_video
    t = time.perf_counter()
    container, stream = open_video(__import__("pathlib").Path(path))
    n = sum(1 for _ in container.decode(stream))
    container.close()
    wall = time.perf_counter() - t
else:
    from actionlab.timeline import TimelineOptions, predict_timeline
    t = time.perf_counter()
    tl = predict_timeline(sys.argv[3], path, TimelineOptions.build({}), progress=False)
    wall = time.perf_counter() - t
    n = int(round(tl.duration * tl.fps))
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"frames": n, "wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss_mb": use.ru_maxrss / 1024}))
"""


def make_video(path: Path, seconds: float, clips: list[Path]) -> Path:
    """320x240 25 fps h264 of the clips' frames resized and cycled, encoded frame by frame."""
    import av
    import cv2

    from actionlab.video import probe, read_frames

    if path.exists():
        return path
    frames = [
        cv2.resize(f, (320, 240), interpolation=cv2.INTER_LINEAR)
        for c in clips
        for f in read_frames(c, range(probe(c).num_frames))
    ]
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for i in range(int(seconds * 25)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)
    return path


def prepare(work: Path, minutes: float) -> tuple[Path, Path, Path]:
    """(long video, 10-second video, clip3d run) in `work`, made when missing."""
    from actionlab.data import dataset_from_spec
    from actionlab.methods import get_method
    from actionlab.synth import generate

    root = work / "set"
    if not root.exists():
        generate(root, num_clips_per_class=2, size=120, seed=5, workers=1)
    ds = dataset_from_spec(f"folder:{root}")
    clips = [s.path for s in ds.train[:12]]
    long = make_video(work / f"long-{minutes:g}min.mp4", minutes * 60, clips)
    short = make_video(work / "short-10s.mp4", 10, clips)
    run = work / "clip3d"
    if not (run / "model.safetensors").exists():
        get_method("clip3d").train(ds, run, {"epochs": 1, "workers": 0})
    return long, short, run


def child(mode: str, *args: str) -> dict:
    """Run one measurement in a fresh interpreter; its JSON line."""
    out = subprocess.run([sys.executable, "-c", CHILD, mode, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure and print (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "actionlab-bench-timeline")
    ap.add_argument("--minutes", type=float, default=3.0)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    long, short, run = prepare(args.work, args.minutes)
    print(f"prepared {long.name}, {short.name}, {run} in {time.perf_counter() - t:.0f} s")
    decode = child("decode", str(long))
    small = child("timeline", str(short), str(run))
    big = child("timeline", str(long), str(run))
    dec_fps = decode["frames"] / decode["wall"]
    tl_fps = big["frames"] / big["wall"]
    print(f"decode alone         : {decode['frames']} frames in {decode['wall']:.2f} s = {dec_fps:.0f} frames/s")
    print(
        f"timeline {args.minutes:g} min      : {big['wall']:.2f} s = {tl_fps:.0f} frames/s, "
        f"real-time factor {big['frames'] / 25 / big['wall']:.1f}x (goal >= 4x)"
    )
    print(f"timeline / decode    : {tl_fps / dec_fps:.2f}")
    # CPU seconds (imports and model load included) do not grow with other users' load: video seconds per CPU
    # second is the real-time factor of one idle core, a floor for two
    print(
        f"CPU time             : {big['cpu']:.1f} s -> {big['frames'] / 25 / big['cpu']:.1f}x real time per "
        "CPU second (one idle core; two do at least as well)"
    )
    print(f"timeline 10 s        : {small['wall']:.2f} s")
    print(
        f"peak RSS             : {big['rss_mb']:.0f} MB ({args.minutes:g} min) vs {small['rss_mb']:.0f} MB (10 s): "
        f"ratio {big['rss_mb'] / small['rss_mb']:.3f} (goal 1.00 +- 0.10)"
    )


if __name__ == "__main__":
    main()
