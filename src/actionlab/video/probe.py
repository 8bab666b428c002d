"""probe(): frame count (frames that really decode), rate, size and codec of a video or image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actionlab.video.cached import frame_index
from actionlab.video.index import FrameIndex
from actionlab.video.info import VideoInfo
from actionlab.video.opening import is_image, open_video, read_image


def probe(path: str | Path) -> VideoInfo:
    """Describe a video (or a still image as a 1-frame video); raises VideoError when unreadable."""
    path = Path(path)
    if is_image(path):
        return describe_image(path, read_image(path))
    container, stream = open_video(path)
    try:
        return describe(path, stream, frame_index(path, (container, stream)))
    finally:
        container.close()


def describe_image(path: Path, image: np.ndarray) -> VideoInfo:
    """VideoInfo of a still image (RGB array already read) as a 1-frame video."""
    return VideoInfo(str(path), 1, 0.0, image.shape[1], image.shape[0], 0.0, path.suffix.lower()[1:], 0, True)


def describe(path: Path, stream, index: FrameIndex) -> VideoInfo:
    """VideoInfo of an open video stream whose frame index is known."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    return VideoInfo(
        path=str(path),
        num_frames=index.num_frames,
        fps=fps,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        duration=index.num_frames / fps if fps else 0.0,
        codec=stream.codec_context.name,
        rotation=_rotation(stream),
        is_image=False,
    )


def _rotation(stream) -> int:
    """Display rotation in degrees from the stream's metadata (0 when absent)."""
    try:
        return int(float(stream.metadata.get("rotate", 0))) % 360
    except (TypeError, ValueError):
        return 0
