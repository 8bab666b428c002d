"""FeatureStore: one directory per (dataset, extractor config); atomic .npz shards, one consolidated HDF5 file.

Design: the write path is small .npz shards of a few videos each, written to a temp file and os.replace'd. That
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
  items/*.npz   shards of one or more videos, named `<key>+<key>...@<write time>` (so one listing tells
                which videos are done): per video values_<i>, indices_<i>, and `meta` (JSON: path, label,
                split, fps, size, mtime_ns); written to a temp file then os.replace'd, so kill -9 leaves only
                finished shards (plus ignored .tmp files). A key names the file *and its version* (size +
                mtime, see actionlab.features.keys): a video replaced in place is computed again.
                extract() writes a shard per half second or per SHARD_VIDEOS videos, whichever comes
                first: a file per video cost ~4% of cnn2d extraction in inode work.
                When a video is in several shards (stored again later), the newest shard wins.
  skipped.json  {path: {reason, key}} for videos that could not be extracted; a skip holds for that version
                of the file only (a fixed file is tried again). Older stores wrote {path: reason}: read the
                same, and such skips are tried once more.
  stats.npz     training-split mean/std per feature dimension, applied by get(normalize=True)
  writer.lock   an fcntl.flock lock (released by the OS when its process dies, even by kill -9) plus the
                holder's pid for the message; only the holder writes the files of the store's top folder
  features.h5   the consolidated store (h5py), the file to hand to other tools (workflow C)

Taking the lock removes temporaries a killed writer left (`.features.h5.*.tmp.h5` can be as large as the
store): every one in the top folder (only a lock holder writes there, and the previous one is dead), and those
in items/ older than STALE_SHARD_SECONDS (shards are also written by Ray workers while the driver holds the
lock; a shard write takes well under a second). Every .npz is read with allow_pickle=False: a crafted file
with object arrays is refused in one line, never unpickled. See docs/STORE.md for network filesystems.
"""

from __future__ import annotations

import errno
import json
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from actionlab.atomic import atomic_write
from actionlab.errors import FeatureError
from actionlab.features import consolidated
from actionlab.features.base import Extractor, FeatureArray, config_hash
from actionlab.features.keys import item_key, path_part, readable_as, same_file

__all__ = ["FeatureStore", "StoredItem", "item_key", "shard_keys", "load_npz", "SHARD_VIDEOS"]


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
        self.count = 0
        self.total: np.ndarray | float = 0.0  # per-dimension sums once an item is added
        self.squares: np.ndarray | float = 0.0

    def add(self, item: StoredItem) -> None:
        """Count `item` when it is a training item with float features."""
        values = item.features.values
        if item.split == "train" and values.dtype != np.uint8:
            rows = values.reshape(-1, values.shape[-1]).astype(np.float64)
            self.count, self.total, self.squares = (
                self.count + len(rows),
                self.total + rows.sum(0),
                self.squares + (rows**2).sum(0),
            )

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) as float32; constant dimensions get std 1 (centred, not divided by 0)."""
        mean = np.asarray(self.total / self.count)  # an array: result() follows add()
        std = np.sqrt(np.maximum(self.squares / self.count - mean**2, 0.0))
        return mean.astype(np.float32), np.where(std < 1e-6, 1.0, std).astype(np.float32)


SHARD_SEP, SHARD_TIME = "+", "@"
SHARD_VIDEOS = 8  # 8 keys of 21 characters keep a shard's file name well under the usual 255-byte limit
STALE_SHARD_SECONDS = 600


def _shard_name(shard: Path) -> tuple[list[str], int]:
    """(item keys, write time in ns) from a shard's name `<key>+<key>...@<hex ns>.npz` (one-video shards of
    earlier versions are `<key>.npz`, time 0)."""
    keys, _, stamp = shard.stem.partition(SHARD_TIME)
    return keys.split(SHARD_SEP), int(stamp, 16) if stamp else 0


def shard_keys(shard: Path) -> list[str]:
    """Item keys of the videos a shard holds, read from its name alone."""
    return _shard_name(shard)[0]


def load_npz(file: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, never unpickling (object arrays are refused with one line)."""
    try:
        with np.load(file, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as err:
        why = "holds object arrays (pickled Python objects), refused" if "allow_pickle" in str(err) else str(err)
        raise FeatureError(file, f"not a store file written by actionlab: {why}") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise FeatureError(file, f"unreadable ({type(err).__name__}: {str(err)[:120]})") from None


def _remove_stale_temporaries(folder: Path, older_than: float | None) -> None:
    """Delete atomic_write temporaries (`.<name>.<random>.tmp<suffix>`) in `folder` (older than the time given)."""
    for tmp in folder.glob(".*.tmp*"):
        if tmp.name.startswith(".config.json."):
            continue  # FeatureStore.open writes config.json without the lock: maybe another process, right now
        try:
            if older_than is None or tmp.stat().st_mtime < older_than:
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to delete: the next run tries again


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
        self._located: tuple[int, dict[str, tuple[str, Path]]] | None = None
        self._stats: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
        # Items this writer put, kept (up to RECENT_BYTES) so consolidate() need not read their shards back.
        self._recent: dict[str, StoredItem] = {}
        self._recent_bytes = 0
        self._lock_fd: int | None = None

    RECENT_BYTES = 256 * 2**20

    @classmethod
    def open(cls, root: str | Path, dataset: str, extractor: Extractor) -> FeatureStore:
        """Open (creating if needed) the store of `dataset` features made by `extractor`'s exact config."""
        digest = config_hash(extractor.config)
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in dataset) or "dataset"
        path = Path(root) / safe / f"{extractor.slug}-{digest}"
        (path / "items").mkdir(parents=True, exist_ok=True)
        if not (path / "config.json").is_file():
            text = json.dumps({"config": extractor.config, "hash": digest}, indent=1, default=str)
            atomic_write(path / "config.json", lambda tmp: Path(tmp).write_text(text))
        return cls(path)

    def _where(self) -> dict[str, tuple[str, Path]]:
        """path part of a key → (key, shard) of the newest entry of that file, from one listing of items/."""
        stamp = consolidated._mtime(self.items_dir)
        if self._located is None or self._located[0] != stamp:
            where: dict[str, tuple[str, Path]] = {}
            for shard in sorted(self._shards(), key=lambda f: _shard_name(f)[1]):  # oldest first: the newest wins
                for key in shard_keys(shard):
                    where[path_part(key)] = (key, shard)
            self._located = (stamp, where)
        return self._located[1]

    def __contains__(self, path: object) -> bool:
        """True when the file's current version is stored (a replaced file, or a legacy entry, is not)."""
        if not isinstance(path, (str, Path)):
            return False
        key = item_key(path)
        found = self._where().get(path_part(key))
        return found is not None and same_file(found[0], key)

    def _shards(self) -> list[Path]:
        return sorted(self.items_dir.glob("[!.]*.npz"))

    def keys(self) -> list[str]:
        """Paths of every stored video."""
        h5 = self.consolidated()
        if h5 is not None:
            return self._reader.paths()
        return [item.path for _, item in self._stored_items()]

    def consolidated(self):
        """The open consolidated h5py.File when it is current (see the module docstring), else None."""
        stamp = tuple(
            consolidated._mtime(self.path / n) for n in ("items", "skipped.json", "stats.npz", consolidated.FILE_NAME)
        )
        if self._checked is None or self._checked[0] != stamp:
            expected = consolidated.signature(self.path, self.hash, len(self._shards()))
            self._checked = (stamp, self._reader.current(expected) is not None)
        return self._reader.open() if self._checked[1] else None

    def _stored_items(self, recent: dict[str, StoredItem] | None = None):
        """(key, StoredItem) of every stored video, one shard in memory at a time; `recent` spares re-reads."""
        where = self._where()
        for shard in sorted({s for _, s in where.values()}):  # shards whose every video was stored again drop out
            keys = [k for k in shard_keys(shard) if where[path_part(k)] == (k, shard)]
            if recent is not None and all(k in recent for k in keys):
                loaded = {k: recent[k] for k in keys}
            else:
                loaded = self._load_shard(shard)
            for key in keys:
                if key in loaded:
                    yield key, loaded[key]

    def consolidate(self) -> Path:
        """Compute the training stats, then write every shard, the config, stats, fitted state and skipped list
        into `features.h5` atomically; each shard is read once for both."""
        shards = self._shards()
        running = RunningStats()

        def items():
            for key, item in self._stored_items(self._recent):  # beyond the recent items, one shard at a time
                running.add(item)
                yield key, item

        def finish() -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]:
            if running.count:
                self._save_stats(running.result())
            # the signature holds the stats file's mtime, so it is taken after the stats are written
            attrs = {
                "config": json.dumps(self.config, sort_keys=True, default=str),
                "hash": self.hash,
                "skipped": json.dumps(self.skipped),
                "signature": consolidated.signature(self.path, self.hash, len(shards)),
            }
            return attrs, self.stats

        consolidated.write(self.h5_path, items(), finish, self.load_state(), atomic_write)
        self._recent, self._recent_bytes = {}, 0
        self._checked = None
        return self.h5_path

    @staticmethod
    def _load_shard(file: Path) -> dict[str, StoredItem]:
        """{item key: StoredItem} of one shard (also reads the one-video shards of earlier versions)."""
        z = load_npz(file)
        try:
            if "meta" not in z:
                fa = FeatureArray(z["values"], z["indices"], float(z["fps"]))
                return {file.stem: StoredItem(fa, int(z["label"]), str(z["split"]), str(z["path"]))}
            out = {}
            for i, (key, meta) in enumerate(zip(shard_keys(file), json.loads(str(z["meta"])))):
                fa = FeatureArray(z[f"values_{i}"], z[f"indices_{i}"], float(meta["fps"]))
                out[key] = StoredItem(fa, int(meta["label"]), str(meta["split"]), str(meta["path"]))
            return out
        except (KeyError, ValueError, TypeError) as err:
            raise FeatureError(
                file,
                f"not a feature shard of this store ({type(err).__name__}: {err}); delete it and run extract again",
            ) from None

    def put(self, path: str | Path, features: FeatureArray, label: int, split: str) -> None:
        """Store one video's features atomically."""
        self.put_many([(path, features, label, split)])

    def put_many(self, items: Sequence[tuple[str | Path, FeatureArray, int, str]]) -> None:
        """Store several videos' features atomically, as one shard (at most SHARD_VIDEOS, the file name's room)."""
        if not items:
            return
        if len(items) > SHARD_VIDEOS:
            raise ValueError(f"put_many takes at most {SHARD_VIDEOS} videos per shard, not {len(items)}")
        keys = [item_key(path) for path, *_ in items]
        arrays: dict[str, np.ndarray] = {}
        for i, (_, features, _, _) in enumerate(items):
            arrays[f"values_{i}"], arrays[f"indices_{i}"] = features.values, features.indices
        meta = json.dumps(
            [
                {"path": str(path), "label": int(label), "split": split, "fps": float(features.fps), **_stat(path)}
                for path, features, label, split in items
            ]
        )

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh, meta=np.array(meta), **cast(dict[str, Any], arrays)
                )  # numpy's stub: **kwds vs allow_pickle

        # the write time in the name orders shards holding the same video without trusting file mtimes
        name = f"{SHARD_SEP.join(keys)}{SHARD_TIME}{time.time_ns():x}.npz"
        shard = atomic_write(self.items_dir / name, write)
        if self._located is not None:
            self._located[1].update({path_part(k): (k, shard) for k in keys})
        for key, (path, features, label, split) in zip(keys, items):
            size = features.values.nbytes + features.indices.nbytes
            if self._recent_bytes + size <= self.RECENT_BYTES:
                self._recent[key] = StoredItem(features, int(label), split, str(path))
                self._recent_bytes += size

    def _shard_item(self, path: str | Path) -> StoredItem:
        """One video's item read from its shard (not from features.h5)."""
        key = item_key(path)
        found = self._where().get(path_part(key))
        if found is None:
            reason = self.skipped.get(str(path), "not extracted yet")
            raise FeatureError(path, f"no features in store {self.path}: {reason}")
        stored, shard = found
        if not readable_as(stored, key):
            raise FeatureError(
                path, f"changed (size or mtime) since its features were extracted into {self.path}; run extract again"
            )
        return self._load_shard(shard)[stored]

    def item(self, path: str | Path) -> StoredItem:
        """Everything stored for one video (features not normalised), from features.h5 when it is current."""
        h5 = self.consolidated()
        if h5 is not None:
            key = item_key(path)
            stored = self._reader.key_for(path_part(key))
            if stored is not None and readable_as(stored, key):
                found = self._reader.item(stored)
                assert found is not None, "key_for found its row"
                return StoredItem(*found)
        return self._shard_item(path)

    def get(self, sample: Any, normalize: bool = True) -> FeatureArray:
        """Features of a Sample (or path); float features are standardised with the training mean/std."""
        fa = self.item(getattr(sample, "path", sample)).features
        stats = self.stats
        if not normalize or stats is None or fa.values.dtype == np.uint8:
            return fa
        mean, std = stats
        return FeatureArray(((fa.values - mean) / std).astype(np.float32), fa.indices, fa.fps)

    def _skips(self) -> dict[str, Any]:
        """skipped.json as written: {path: {"reason", "key"}} (or {path: reason} in older stores)."""
        file = self.path / "skipped.json"
        if not file.is_file():
            return {}
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError) as err:
            raise FeatureError(
                file, f"unreadable skipped list ({type(err).__name__}); delete it to retry every skipped video"
            ) from None
        return data if isinstance(data, dict) else {}

    @property
    def skipped(self) -> dict[str, str]:
        """{path: reason} of videos that could not be extracted."""
        return {p: v["reason"] if isinstance(v, dict) else str(v) for p, v in self._skips().items()}

    def skip_reasons(self, paths: list[str | Path]) -> dict[str, str]:
        """{path: reason} of those `paths` skipped in their current version (a file changed since: try again)."""
        data, out = self._skips(), {}
        for path in paths:
            entry = data.get(str(path))
            if isinstance(entry, dict) and same_file(str(entry.get("key")), item_key(path)):
                out[str(path)] = str(entry.get("reason"))
        return out

    def add_skipped(self, path: str | Path, reason: str) -> None:
        """Record a skipped video (this version of the file)."""
        data = self._skips() | {str(path): {"reason": reason, "key": item_key(path)}}
        self._write_skips(data)

    def forget_skipped(self, paths: list[str | Path]) -> None:
        """Drop the skips of `paths` (stored since: a fixed file extracted after all)."""
        data = self._skips()
        kept = {p: v for p, v in data.items() if p not in {str(x) for x in paths}}
        if len(kept) != len(data):
            self._write_skips(kept)

    def _write_skips(self, data: dict[str, Any]) -> None:
        atomic_write(self.path / "skipped.json", lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mean, std) over the last axis of the training features, or None before compute_stats()."""
        file = self.path / "stats.npz"
        stamp = consolidated._mtime(file)
        if not stamp:
            return None
        if self._stats is None or self._stats[0] != stamp:  # get() asks for every video: read the file once
            z = load_npz(file)
            if "mean" not in z or "std" not in z:
                raise FeatureError(file, "not a stats file (needs mean and std); delete it and run extract again")
            self._stats = (stamp, (z["mean"], z["std"]))
        return self._stats[1]

    def compute_stats(self) -> None:
        """Mean/std per feature dimension over all rows of the training-split items (float features only).

        consolidate() computes them too, in the same pass over the shards; this is for stats without it.
        """
        running = RunningStats()
        for _, item in self._stored_items():
            running.add(item)
        if running.count:
            self._save_stats(running.result())

    def _save_stats(self, stats: tuple[np.ndarray, np.ndarray]) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, mean=stats[0], std=stats[1])

        atomic_write(self.path / "stats.npz", write)

    def save_state(self, state: dict[str, np.ndarray]) -> None:
        """Keep the extractor's fitted arrays."""

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **cast(dict[str, Any], state))  # numpy's stub: **kwds vs allow_pickle

        atomic_write(self.path / "state.npz", write)

    def load_state(self) -> dict[str, np.ndarray] | None:
        """The extractor's fitted arrays, or None when not fitted yet."""
        file = self.path / "state.npz"
        if not file.is_file():
            return None
        return load_npz(file)

    def lock(self) -> None:
        """Become the only writer (an OS lock that dies with its process); refuse clearly while another holds it.

        Then remove the temporaries a killed writer left (see the module docstring).
        """
        import fcntl

        file = self.path / "writer.lock"
        fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                try:
                    pid = file.read_text().strip() or "unknown"
                except OSError:
                    pid = "unknown"
                raise FeatureError(
                    self.path, f"another extract (pid {pid}) is writing this store; wait for it to finish"
                ) from None
            raise FeatureError(
                file,
                f"cannot lock ({err.strerror}): this filesystem has no file locks; put the "
                "store on a local disk or see docs/STORE.md",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd
        _remove_stale_temporaries(self.path, None)
        _remove_stale_temporaries(self.items_dir, time.time() - STALE_SHARD_SECONDS)

    def unlock(self) -> None:
        """Release the writer lock (the file stays: unlinking it would let two writers lock two files)."""
        fd = getattr(self, "_lock_fd", None)
        if fd is not None:
            self._lock_fd = None
            os.close(fd)  # closing the last descriptor releases the flock


def _stat(path: str | Path) -> dict[str, int]:
    """Size and mtime of the file as stored, for people reading a shard's meta (the key holds their hash)."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
