"""Test helpers that write small real encoded videos and images with PyAV and OpenCV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

BITS = 10


def numbered_frames(n: int, height: int = 64, width: int = 80) -> np.ndarray:
    """Frames whose index survives lossy coding: bit b of i is a black or white vertical stripe (up to 1024)."""
    stripe = width // BITS
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    for i in range(n):
        for b in range(BITS):
            if (i >> b) & 1:
                frames[i, :, b * stripe : (b + 1) * stripe] = 255
    return frames


def frame_number(frame: np.ndarray, n: int | None = None) -> int:
    """Read back the index of a frame written by numbered_frames (at any resize)."""
    width = frame.shape[1]
    stripe = width / BITS
    value = 0
    for b in range(BITS):
        centre = frame[:, int((b + 0.3) * stripe) : int((b + 0.7) * stripe)]
        if centre.mean() > 127:
            value |= 1 << b
    return value


def write_video(
    path: str | Path,
    frames: np.ndarray,
    *,
    codec: str = "libx264",
    fps: int = 25,
    gop: int = 12,
    bframes: int = 2,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB uint8 frames (N, H, W, 3) into a real video file with PyAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        stream.gop_size = gop
        if codec in ("libx264", "h264"):
            stream.max_b_frames = bframes
            stream.options = {"crf": "18", "preset": "ultrafast", **(options or {})}
        elif options:
            stream.options = options
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_image(path: str | Path, frame: np.ndarray) -> Path:
    """Write one RGB frame as an image file (format from the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path
