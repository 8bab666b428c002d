"""VideoInfo: what probe() learns about a video or image file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoInfo:
    """Facts about one video; `num_frames` counts frames that really decode (not the header's claim)."""

    path: str
    num_frames: int
    fps: float
    width: int
    height: int
    duration: float
    codec: str
    rotation: int
    is_image: bool
