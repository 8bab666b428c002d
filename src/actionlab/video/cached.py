"""In-memory cache of frame indices per (path, size, mtime), so probe and read_frames index a file once."""

from __future__ import annotations

import threading
from pathlib import Path

from actionlab.video.index import FrameIndex, build_index
from actionlab.video.opening import check_file

_CACHE: dict[tuple[str, int, int], FrameIndex] = {}
_LOCK = threading.Lock()
_MAX_ENTRIES = 4096


def frame_index(path: str | Path) -> FrameIndex:
    """Return the (cached) FrameIndex of a video file."""
    path = check_file(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    index = build_index(path)
    with _LOCK:
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = index
    return index
