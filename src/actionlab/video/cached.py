"""Frame indices cached per (path, size, mtime): in memory, and on disk under cache_dir("probe") across runs."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from actionlab.atomic import write_json
from actionlab.cache import cache_dir
from actionlab.video.index import FrameIndex, KeptFrames, build_index
from actionlab.video.opening import check_file

_CACHE: dict[tuple[str, int, int], FrameIndex] = {}
_LOCK = threading.Lock()
_MAX_ENTRIES = 4096
_FORMAT = 1


def frame_index(path: str | Path, opened: tuple | None = None, keep: KeptFrames | None = None) -> FrameIndex:
    """Return the (cached) FrameIndex of a video file; `opened` lends an open (container, stream) of it.

    On a cache miss that indexes by decoding, `keep` receives the decoded frames (see build_index).
    """
    path = check_file(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    disk = cache_dir("probe") / (hashlib.sha1(repr((_FORMAT, *key)).encode()).hexdigest() + ".json")
    index = _load(disk)
    if index is None:
        index = build_index(path, opened, keep)
        _save(disk, index)
    with _LOCK:
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = index
    return index


def _load(file: Path) -> FrameIndex | None:
    try:
        data = json.loads(file.read_text())
        pts = None if data["pts"] is None else np.asarray(data["pts"], dtype=np.int64)
        return FrameIndex(int(data["num_frames"]), pts, np.asarray(data["keyframes"], dtype=np.int64), data["damage"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable cache entry: index the file again


def _save(file: Path, index: FrameIndex) -> None:
    data = {
        "num_frames": index.num_frames,
        "pts": None if index.pts is None else index.pts.tolist(),
        "keyframes": index.keyframes.tolist(),
        "damage": index.damage,
    }
    try:
        write_json(file, data)  # atomic: a concurrent reader sees the old entry or the whole new one
    except OSError:
        pass  # the cache is an optimisation; a read-only cache folder must not fail the read
