"""Writing rendered frames as real encoded files (PyAV) and stills (OpenCV), atomically."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

CODECS = {"mp4": "libx264", "avi": "mpeg4"}


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.part{os.getpid()}{path.suffix}")


def write_video(path: Path, frames: np.ndarray, fps: float) -> None:
    """Encode RGB frames (N, H, W, 3) to `path` (h264 for .mp4, mpeg4 for .avi) via a temp file + rename."""
    container_kind = path.suffix.lstrip(".")
    tmp = _tmp(path)
    with av.open(str(tmp), "w", format=container_kind) as out:
        stream = out.add_stream(CODECS[container_kind], rate=Fraction(int(fps)))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1  # a process pool already uses every core
        if container_kind == "mp4":
            stream.options = {"preset": "ultrafast", "crf": "20"}
        else:
            stream.bit_rate = 600_000
            stream.options = {"qscale": "3"}
        # Converting here with one swscale thread gives the same pixels as letting encode() convert, for a
        # third less CPU: encode()'s converter starts a thread per core, pure overhead on frames this small.
        to_yuv = VideoReformatter()
        for frame in frames:
            rgb = av.VideoFrame.from_ndarray(frame, format="rgb24")
            for packet in stream.encode(to_yuv.reformat(rgb, format="yuv420p", threads=1)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)


def write_still(path: Path, frame: np.ndarray) -> None:
    """Write one RGB frame as a JPEG via a temp file + rename."""
    tmp = _tmp(path)
    if not cv2.imwrite(str(tmp), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]):
        raise OSError(f"cannot write {path}")
    os.replace(tmp, path)
