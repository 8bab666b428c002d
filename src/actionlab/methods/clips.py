"""Decode each video once, at low resolution, into uint8 frames (a fixed uniform clip or a strided sequence)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from actionlab.atomic import atomic_write
from actionlab.cache import cache_dir
from actionlab.errors import ActionlabError
from actionlab.video import read_sampled


def uniform_indices(num_frames: int, count: int) -> np.ndarray:
    """`count` frame indices spread evenly over the video (repeats when it is shorter)."""
    if num_frames <= 0:
        raise ValueError("video has no frames")
    return np.linspace(0, num_frames - 1, count).round().astype(np.int64)


def sequence_indices(num_frames: int, step: int, max_frames: int) -> np.ndarray:
    """Every `step`-th frame from the start; a coarser uniform stride when that gives more than `max_frames`."""
    idx = np.arange(0, num_frames, step, dtype=np.int64)
    return idx if len(idx) <= max_frames else uniform_indices(num_frames, max_frames)


def cached_array(path: Path, folder: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """compute() for one video file, cached on disk under cache_dir(folder) by (file, size, mtime, key).

    A compare runs several methods over the same videos: each decodes (or computes flow) once. A damaged entry
    is recomputed; the entry is written atomically (flow runs in threads).
    """
    try:
        st = path.stat()
        full = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{key}"
        cached: Path | None = cache_dir(folder) / (hashlib.sha1(full.encode()).hexdigest() + ".npy")
    except OSError:
        cached = None
    if cached is not None and cached.is_file():
        try:
            return np.load(cached)
        except (OSError, ValueError):
            pass
    values = compute()
    if cached is not None:
        atomic_write(cached, lambda tmp: np.save(tmp, values))
    return values


def _cached_decode(path: Path, key: str, pick: Callable[[int], np.ndarray], size: int) -> np.ndarray:
    """The frames at pick(num_frames), size x size, cached (read_sampled: one open, one decode of a new file)."""
    return cached_array(path, "clips", key, lambda: read_sampled(path, pick, size=(size, size))[0])


def decode_clip(path: str | Path, num_frames: int = 16, size: int = 64) -> np.ndarray:
    """uint8 (T, size, size, 3): `num_frames` uniformly spaced frames of one video."""
    return _cached_decode(Path(path), f"uniform{num_frames}|{size}", lambda n: uniform_indices(n, num_frames), size)


def decode_sequence(path: str | Path, step: int = 2, max_frames: int = 48, size: int = 64) -> np.ndarray:
    """uint8 (T_i, size, size, 3): every `step`-th frame (length follows the video; see sequence_indices)."""
    return _cached_decode(Path(path), f"seq{step}|{max_frames}|{size}",
                          lambda n: sequence_indices(n, step, max_frames), size)


def decode_all(paths: Sequence[str | Path], decode: Callable[[Path], np.ndarray],
               desc: str = "decode") -> tuple[list[np.ndarray], list[int], dict[str, str]]:
    """decode(path) for each path: the arrays of the readable ones, their positions, and reasons for the rest."""
    arrays, kept, errors = [], [], {}
    for i, p in enumerate(tqdm(paths, desc=desc, file=sys.stderr, leave=False, disable=len(paths) < 2)):
        try:
            arrays.append(decode(Path(p)))
            kept.append(i)
        except ActionlabError as err:
            errors[str(p)] = err.reason
        except (OSError, ValueError) as err:
            errors[str(p)] = str(err) or type(err).__name__
    return arrays, kept, errors


def decode_many(paths: Sequence[str | Path], num_frames: int = 16, size: int = 64,
                desc: str = "decode") -> tuple[np.ndarray, list[int], dict[str, str]]:
    """Stack of uniform clips for the readable paths, their positions in `paths`, and reasons for the rest."""
    clips, kept, errors = decode_all(paths, lambda p: decode_clip(p, num_frames, size), desc)
    shape = (0, num_frames, size, size, 3)
    return (np.stack(clips) if clips else np.zeros(shape, np.uint8)), kept, errors
