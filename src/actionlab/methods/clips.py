"""Decode each video once, at low resolution, into a fixed stack of uniformly spaced uint8 frames."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from actionlab.cache import cache_dir
from actionlab.errors import ActionlabError
from actionlab.video import probe, read_frames


def uniform_indices(num_frames: int, count: int) -> np.ndarray:
    """`count` frame indices spread evenly over the video (repeats when it is shorter)."""
    if num_frames <= 0:
        raise ValueError("video has no frames")
    return np.linspace(0, num_frames - 1, count).round().astype(np.int64)


def _cache_file(path: Path, num_frames: int, size: int) -> Path:
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{num_frames}|{size}"
    return cache_dir("clips") / (hashlib.sha1(key.encode()).hexdigest() + ".npy")


def decode_clip(path: str | Path, num_frames: int = 16, size: int = 64) -> np.ndarray:
    """uint8 (T, size, size, 3) for one video, cached on disk so a compare decodes it once."""
    path = Path(path)
    try:
        cached = _cache_file(path, num_frames, size)
    except OSError:
        cached = None
    if cached is not None and cached.is_file():
        try:
            return np.load(cached)
        except (OSError, ValueError):
            pass  # a damaged cache entry is simply rebuilt
    info = probe(path)
    frames = read_frames(path, uniform_indices(info.num_frames, num_frames), size=(size, size))
    if cached is not None:
        tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, frames)
        os.replace(tmp, cached)
    return frames


def decode_many(paths: Sequence[str | Path], num_frames: int = 16, size: int = 64,
                desc: str = "decode") -> tuple[np.ndarray, list[int], dict[str, str]]:
    """Stack of clips for the readable paths, their positions in `paths`, and reasons for the rest."""
    clips, kept, errors = [], [], {}
    for i, p in enumerate(tqdm(paths, desc=desc, file=sys.stderr, leave=False, disable=len(paths) < 2)):
        try:
            clips.append(decode_clip(p, num_frames, size))
            kept.append(i)
        except ActionlabError as err:
            errors[str(p)] = err.reason
        except (OSError, ValueError) as err:
            errors[str(p)] = str(err) or type(err).__name__
    shape = (0, num_frames, size, size, 3)
    return (np.stack(clips) if clips else np.zeros(shape, np.uint8)), kept, errors
