"""Open files with PyAV/OpenCV and turn every failure into a one-line VideoError."""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np

from actionlab.errors import ConfigError, VideoError
from actionlab.video.headers import image_size

# FFmpeg would print every damaged packet to stderr; failures reach the caller as VideoError instead.
av.logging.set_level(av.logging.PANIC)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
DEFAULT_MAX_PIXELS = 8192 * 8192


def max_pixels() -> int:
    """Largest accepted width*height; set ACTIONLAB_MAX_PIXELS to change it."""
    value = os.environ.get("ACTIONLAB_MAX_PIXELS")
    if not value:
        return DEFAULT_MAX_PIXELS
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(None, f"ACTIONLAB_MAX_PIXELS must be a whole number of pixels >= 1, not {value!r}")
    return int(value)


def check_file(path: str | Path) -> Path:
    """Raise VideoError if the file is missing, not a file, empty or unreadable."""
    path = Path(path)
    if not path.exists():
        raise VideoError(path, "file not found")
    if not path.is_file():
        raise VideoError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise VideoError(path, "file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise VideoError(path, "permission denied: file is not readable")
    return path


def check_size(path: Path, width: int, height: int) -> None:
    """Reject missing or absurd dimensions before decoding allocates them."""
    if width <= 0 or height <= 0:  # FFmpeg leaves the size unset when max_pixels refused the first frames
        raise VideoError(
            path,
            f"invalid frame size {width}x{height}: a broken header, or a frame size that exceeds "
            f"the limit of {max_pixels()} pixels (set ACTIONLAB_MAX_PIXELS to raise it)",
        )
    if width * height > max_pixels():
        raise VideoError(
            path,
            f"frame size {width}x{height} exceeds the limit of {max_pixels()} pixels "
            "(set ACTIONLAB_MAX_PIXELS to raise it)",
        )


def is_image(path: Path) -> bool:
    """True for still-image suffixes, read as 1-frame videos."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path) -> np.ndarray:
    """Read a still image as RGB uint8 (H, W, 3)."""
    check_file(path)
    try:
        claimed = image_size(path)
    except OSError as err:
        raise VideoError(path, f"cannot read image ({err.strerror or type(err).__name__})") from None
    if claimed is None:
        raise VideoError(path, "not a readable image (no PNG, JPEG, BMP or WebP header)")
    check_size(path, *claimed)  # from the header: a decompression bomb is refused before it is decoded
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as err:
        raise VideoError(path, f"cannot decode image ({err})") from None
    if image is None:
        raise VideoError(path, "not a readable image (corrupt or unsupported format)")
    check_size(path, image.shape[1], image.shape[0])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def open_video(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open a container and return it with its first video stream."""
    check_file(path)
    # FFmpeg's own limit too: frames larger than the header says (a size change mid-stream) fail to decode
    # instead of being allocated, here and while av.open decodes a few frames to learn the stream's parameters
    limit = {"max_pixels": str(max_pixels())}
    try:
        container = av.open(str(path), metadata_errors="ignore", options=limit)
    except PermissionError:
        raise VideoError(path, "permission denied: file is not readable") from None
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as err:
        raise VideoError(path, f"not a video file or unsupported format ({_short(err)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(path, "no video stream in file")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        container.close()
        raise VideoError(path, "no decoder for the video stream (unknown or unsupported codec)")
    stream.codec_context.options = dict(limit)
    try:
        check_size(path, stream.codec_context.width, stream.codec_context.height)
    except VideoError:
        container.close()
        raise
    return container, stream


def _short(err: BaseException) -> str:
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__
