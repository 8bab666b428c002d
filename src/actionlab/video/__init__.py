"""The only code that opens video files: probe() and read_frames() over PyAV (images via OpenCV)."""

from actionlab.video.info import VideoInfo
from actionlab.video.probe import probe
from actionlab.video.reader import read_frames, read_sampled, target_size

__all__ = ["VideoInfo", "probe", "read_frames", "read_sampled", "target_size"]
