"""Where actionlab keeps generated data and caches: ~/.cache/actionlab, or $ACTIONLAB_CACHE."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under the actionlab cache."""
    root = Path(os.environ.get("ACTIONLAB_CACHE") or Path.home() / ".cache" / "actionlab")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_array(path: Path, folder: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """compute() for one video file, cached on disk under cache_dir(folder) by (file, size, mtime, key).

    Deterministic per-video inputs (optical flow) are computed once and served to every epoch and every method
    of a compare. A damaged entry is recomputed; the entry is written atomically (DataLoader workers race).
    """
    from actionlab.atomic import atomic_write

    try:
        st = path.stat()
        full = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{key}"
        cached: Path | None = cache_dir(folder) / (hashlib.sha1(full.encode()).hexdigest() + ".npy")
    except OSError:
        cached = None
    if cached is not None and cached.is_file():
        try:
            return np.load(cached, allow_pickle=False)
        except (OSError, ValueError):
            pass
    values = compute()
    if cached is not None:
        atomic_write(cached, lambda tmp: np.save(tmp, values, allow_pickle=False))
    return values
