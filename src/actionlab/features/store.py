"""FeatureStore: one directory per (dataset, extractor config); atomic .npz shards, one consolidated HDF5 file.

Design: the write path is one small .npz shard per video, each written to a temp file and os.replace'd. That
survives kill -9 at any instant (a finished shard is whole, an unfinished one is an ignored temp file) and lets a
rerun skip finished videos, which a single HDF5 file being appended to cannot promise (a killed HDF5 writer can
leave the whole file unreadable). When a run finishes, extract() calls consolidate(): every shard plus config,
hash, stats, fitted state and skipped list go into one `features.h5` (see actionlab.features.consolidated),
again through a temp file + os.replace. Reads are served from that file while it is *current* (its recorded
signature matches the shards on disk and the store's config hash) and from the shards otherwise, so a shard
written after consolidation, or a file carried over from another config, is never read as stale.

Layout of `<root>/<dataset>/<extractor-slug>-<config-hash>/`:
  config.json   extractor config + hash (a changed config is a different directory: never stale features)
  state.npz     what the extractor learned in fit() (sift-bow codebook), so a rerun does not refit
  items/*.npz   per video: values, indices, fps, label, split, path; written to a temp file then os.replace'd,
                so kill -9 leaves only finished items (plus ignored .tmp files)
  skipped.json  {path: reason} for videos that could not be extracted
  stats.npz     training-split mean/std per feature dimension, applied by get(normalize=True)
  writer.lock   pid of the running writer; a second writer refuses while that process lives
  features.h5   the consolidated store (h5py), the file to hand to other tools (workflow C)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actionlab.atomic import atomic_write
from actionlab.errors import FeatureError
from actionlab.features import consolidated
from actionlab.features.base import Extractor, FeatureArray, config_hash


@dataclass(frozen=True)
class StoredItem:
    """One stored video: its features plus label, split and path."""

    features: FeatureArray
    label: int
    split: str
    path: str


class RunningStats:
    """Mean/std per feature dimension of the training-split float items added: running sums, flat memory."""

    def __init__(self) -> None:
        self.count, self.total, self.squares = 0, 0.0, 0.0

    def add(self, item: StoredItem) -> None:
        """Count `item` when it is a training item with float features."""
        values = item.features.values
        if item.split == "train" and values.dtype != np.uint8:
            rows = values.reshape(-1, values.shape[-1]).astype(np.float64)
            self.count, self.total, self.squares = (self.count + len(rows), self.total + rows.sum(0),
                                                    self.squares + (rows ** 2).sum(0))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) as float32; constant dimensions get std 1 (centred, not divided by 0)."""
        mean = self.total / self.count
        std = np.sqrt(np.maximum(self.squares / self.count - mean ** 2, 0.0))
        return mean.astype(np.float32), np.where(std < 1e-6, 1.0, std).astype(np.float32)


def item_key(path: str | Path) -> str:
    """File-name key of a video: hash of its absolute path."""
    return hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FeatureStore:
    """Read/write access to one store directory (see the module docstring for its layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        cfg = self.path / "config.json"
        if not cfg.is_file():
            raise FeatureError(self.path, "not a feature store (no config.json); run `actionlab extract` first")
        meta = json.loads(cfg.read_text())
        self.config: dict[str, Any] = meta["config"]
        self.hash: str = meta["hash"]
        self.items_dir = self.path / "items"
        self.h5_path = self.path / consolidated.FILE_NAME
        self._reader = consolidated.Reader(self.h5_path)
        self._checked: tuple[tuple[int, ...], bool] | None = None
        # Items this writer put, kept (up to RECENT_BYTES) so consolidate() need not read their shards back.
        self._recent: dict[str, StoredItem] = {}
        self._recent_bytes = 0

    RECENT_BYTES = 256 * 2**20

    @classmethod
    def open(cls, root: str | Path, dataset: str, extractor: Extractor) -> "FeatureStore":
        """Open (creating if needed) the store of `dataset` features made by `extractor`'s exact config."""
        digest = config_hash(extractor.config)
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in dataset) or "dataset"
        path = Path(root) / safe / f"{extractor.slug}-{digest}"
        (path / "items").mkdir(parents=True, exist_ok=True)
        if not (path / "config.json").is_file():
            text = json.dumps({"config": extractor.config, "hash": digest}, indent=1, default=str)
            atomic_write(path / "config.json", lambda tmp: Path(tmp).write_text(text))
        return cls(path)

    def _item_path(self, path: str | Path) -> Path:
        return self.items_dir / f"{item_key(path)}.npz"

    def __contains__(self, path: object) -> bool:
        return isinstance(path, (str, Path)) and self._item_path(path).is_file()

    def _shards(self) -> list[Path]:
        return sorted(self.items_dir.glob("[!.]*.npz"))

    def keys(self) -> list[str]:
        """Paths of every stored video."""
        h5 = self.consolidated()
        if h5 is not None:
            return self._reader.paths()
        return [self._load_shard(f).path for f in self._shards()]

    def consolidated(self):
        """The open consolidated h5py.File when it is current (see the module docstring), else None."""
        stamp = tuple(consolidated._mtime(self.path / n) for n in ("items", "skipped.json", "stats.npz",
                                                                   consolidated.FILE_NAME))
        if self._checked is None or self._checked[0] != stamp:
            expected = consolidated.signature(self.path, self.hash, len(self._shards()))
            self._checked = (stamp, self._reader.current(expected) is not None)
        return self._reader.open() if self._checked[1] else None

    def consolidate(self) -> Path:
        """Compute the training stats, then write every shard, the config, stats, fitted state and skipped list
        into `features.h5` atomically; each shard is read once for both."""
        shards = self._shards()
        running = RunningStats()

        def items():
            for shard in shards:  # beyond the recent items, one shard in memory at a time
                item = self._recent.get(shard.stem) or self._load_shard(shard)
                running.add(item)
                yield shard.stem, item

        def finish() -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]:
            if running.count:
                self._save_stats(running.result())
            # the signature holds the stats file's mtime, so it is taken after the stats are written
            attrs = {"config": json.dumps(self.config, sort_keys=True, default=str), "hash": self.hash,
                     "skipped": json.dumps(self.skipped),
                     "signature": consolidated.signature(self.path, self.hash, len(shards))}
            return attrs, self.stats

        consolidated.write(self.h5_path, items(), finish, self.load_state(), atomic_write)
        self._recent, self._recent_bytes = {}, 0
        self._checked = None
        return self.h5_path

    @staticmethod
    def _load_shard(file: Path) -> StoredItem:
        with np.load(file) as z:
            fa = FeatureArray(z["values"], z["indices"], float(z["fps"]))
            return StoredItem(fa, int(z["label"]), str(z["split"]), str(z["path"]))

    def put(self, path: str | Path, features: FeatureArray, label: int, split: str) -> None:
        """Store one video's features atomically."""
        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, values=features.values, indices=features.indices, fps=features.fps,
                         label=label, split=split, path=str(path))
        atomic_write(self._item_path(path), write)
        size = features.values.nbytes + features.indices.nbytes
        if self._recent_bytes + size <= self.RECENT_BYTES:
            self._recent[item_key(path)] = StoredItem(features, int(label), split, str(path))
            self._recent_bytes += size

    def item(self, path: str | Path) -> StoredItem:
        """Everything stored for one video (features not normalised), from features.h5 when it is current."""
        h5 = self.consolidated()
        found = self._reader.item(item_key(path)) if h5 is not None else None
        if found is not None:
            return StoredItem(*found)
        file = self._item_path(path)
        if not file.is_file():
            reason = self.skipped.get(str(path), "not extracted yet")
            raise FeatureError(path, f"no features in store {self.path}: {reason}")
        return self._load_shard(file)

    def get(self, sample: Any, normalize: bool = True) -> FeatureArray:
        """Features of a Sample (or path); float features are standardised with the training mean/std."""
        fa = self.item(getattr(sample, "path", sample)).features
        stats = self.stats
        if not normalize or stats is None or fa.values.dtype == np.uint8:
            return fa
        mean, std = stats
        return FeatureArray(((fa.values - mean) / std).astype(np.float32), fa.indices, fa.fps)

    @property
    def skipped(self) -> dict[str, str]:
        """{path: reason} of videos that could not be extracted."""
        file = self.path / "skipped.json"
        return json.loads(file.read_text()) if file.is_file() else {}

    def add_skipped(self, path: str | Path, reason: str) -> None:
        """Record a skipped video."""
        data = self.skipped | {str(path): reason}
        atomic_write(self.path / "skipped.json", lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mean, std) over the last axis of the training features, or None before compute_stats()."""
        file = self.path / "stats.npz"
        if not file.is_file():
            return None
        with np.load(file) as z:
            return z["mean"], z["std"]

    def compute_stats(self) -> None:
        """Mean/std per feature dimension over all rows of the training-split items (float features only).

        consolidate() computes them too, in the same pass over the shards; this is for stats without it.
        """
        running = RunningStats()
        for f in self._shards():
            running.add(self._load_shard(f))
        if running.count:
            self._save_stats(running.result())

    def _save_stats(self, stats: tuple[np.ndarray, np.ndarray]) -> None:
        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, mean=stats[0], std=stats[1])
        atomic_write(self.path / "stats.npz", write)

    def save_state(self, state: dict[str, np.ndarray]) -> None:
        """Keep the extractor's fitted arrays."""
        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **state)
        atomic_write(self.path / "state.npz", write)

    def load_state(self) -> dict[str, np.ndarray] | None:
        """The extractor's fitted arrays, or None when not fitted yet."""
        file = self.path / "state.npz"
        if not file.is_file():
            return None
        with np.load(file) as z:
            return {k: z[k] for k in z.files}

    def lock(self) -> None:
        """Become the only writer; refuse clearly while another live process holds the lock."""
        file = self.path / "writer.lock"
        for _ in range(2):
            try:
                fd = os.open(file, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(file.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and _pid_alive(pid):
                    raise FeatureError(self.path, f"another extract (pid {pid}) is writing this store; wait for "
                                                  f"it, or delete {file.name} if that process is gone") from None
                file.unlink(missing_ok=True)  # stale lock from a killed run
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return
        raise FeatureError(self.path, "could not take the writer lock")

    def unlock(self) -> None:
        """Release the writer lock."""
        (self.path / "writer.lock").unlink(missing_ok=True)
