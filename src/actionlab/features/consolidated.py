"""The consolidated HDF5 file of a feature store: every shard of a finished run in one `features.h5`.

Layout (h5py): root attrs `config` (JSON), `hash`, `skipped` (JSON {path: reason}), `signature` (JSON, see
below); `/stats/mean`, `/stats/std` (training split) when computed; `/state/*` the extractor's fitted arrays;
`/videos/<item key>/values`, `/videos/<item key>/indices` with attrs `path`, `label`, `split`, `fps`.

The file is written to a temp file and os.replace'd, so a reader sees the old file or the whole new one. It is
*current* only while its `signature` (config hash, shard count and the mtimes of the shard folder, skipped list and
stats) equals the store's: any shard written later makes it stale and reads go back to the shards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

import h5py
import numpy as np

from actionlab.features.base import FeatureArray

FILE_NAME = "features.h5"


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def signature(store_dir: Path, config_hash: str, count: int) -> str:
    """JSON text that changes whenever the store's shards, skipped list, stats or config change."""
    return json.dumps({"hash": config_hash, "count": count, "items": _mtime(store_dir / "items"),
                       "skipped": _mtime(store_dir / "skipped.json"), "stats": _mtime(store_dir / "stats.npz")})


def write(target: Path, items: Iterable[tuple[str, Any]],
          finish: Callable[[], tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]],
          state: dict[str, np.ndarray] | None, atomic_write: Callable) -> None:
    """Write (key, StoredItem) pairs into one HDF5 file at `target`, atomically.

    `finish()`, called once every item is written, gives the root attributes and the (mean, std) stats, which
    the caller may compute from the items as they stream past.
    """
    def fill(tmp: str) -> None:
        with h5py.File(tmp, "w") as h5:
            for key, value in (state or {}).items():
                h5.create_dataset(f"state/{key}", data=value)
            videos = h5.create_group("videos")
            for key, item in items:
                group = videos.create_group(key)
                group.create_dataset("values", data=item.features.values)
                group.create_dataset("indices", data=item.features.indices)
                group.attrs.update(path=item.path, label=item.label, split=item.split, fps=item.features.fps)
            attrs, stats = finish()
            for key, value in attrs.items():
                h5.attrs[key] = value
            if stats is not None:
                h5.create_dataset("stats/mean", data=stats[0])
                h5.create_dataset("stats/std", data=stats[1])
    atomic_write(target, fill)


class Reader:
    """Read-only view of a consolidated file, reopened when the file is replaced."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._h5: h5py.File | None = None
        self._stamp: tuple[int, int] | None = None

    def open(self) -> h5py.File | None:
        """The open file, or None when there is none."""
        try:
            st = self.file.stat()
        except FileNotFoundError:
            self.close()
            return None
        if self._h5 is None or self._stamp != (st.st_ino, st.st_mtime_ns):
            self.close()
            try:
                self._h5 = h5py.File(self.file, "r")
            except OSError:
                return None  # unreadable (e.g. truncated by a disk fault): the shards still serve every read
            self._stamp = (st.st_ino, st.st_mtime_ns)
        return self._h5

    def close(self) -> None:
        """Close the file handle."""
        if self._h5 is not None:
            self._h5.close()
        self._h5, self._stamp = None, None

    def current(self, expected: str) -> h5py.File | None:
        """The open file when its signature equals `expected`, else None."""
        h5 = self.open()
        return h5 if h5 is not None and h5.attrs.get("signature") == expected else None

    @staticmethod
    def item(h5: h5py.File, key: str) -> tuple[FeatureArray, int, str, str] | None:
        """(features, label, split, path) of one video, or None when absent."""
        group = h5.get(f"videos/{key}")
        if group is None:
            return None
        a = group.attrs
        fa = FeatureArray(group["values"][()], group["indices"][()], float(a["fps"]))
        return fa, int(a["label"]), str(a["split"]), str(a["path"])
