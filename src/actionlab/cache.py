"""Where actionlab keeps generated data and caches: ~/.cache/actionlab, or $ACTIONLAB_CACHE; its size; cleaning.

Per-video arrays (optical flow) are sha1-named `.npy` files, not joblib.Memory: joblib keys on pickled call
arguments and stores pickles (loading one runs code), while our key is (file, size, mtime, config) and
`np.load(allow_pickle=False)` never runs code from the cache folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from actionlab.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

# what each part of the cache holds (a folder of another name is listed too, described as "other")
PARTS = {
    "features": "feature stores of `actionlab extract` (its default --store)",
    "flow": "optical flow per video (flow2p1d, two-stream), recomputed when missing",
    "probe": "frame indices per video, rebuilt on the next probe",
    "synthetic": "the embedded synthetic dataset (`--dataset synthetic`), regenerated when missing",
    "demo-synth": "the synthetic data of `actionlab demo`, regenerated when missing",
    "export": "ONNX files exported for --backend onnxruntime, re-exported when missing",
}


# Per-video arrays (flow) stop being written once their part holds this much: beyond it they are recomputed when
# read. Keeping the first entries rather than evicting old ones is what serves random access best: an LRU cycled
# by shuffled epochs over a dataset larger than the bound would miss on every read.
DEFAULT_ARRAY_LIMIT_GB = 20.0
_array_bytes: dict[Path, int] = {}  # this process's running total per part, scanned once (workers: each its own)
_full_noted: set[Path] = set()


def array_limit_bytes() -> int:
    """The bound of each per-video array part: $ACTIONLAB_CACHE_MAX_GB (GB, 0 = write none), default 20."""
    raw = os.environ.get("ACTIONLAB_CACHE_MAX_GB", "")
    try:
        gb = float(raw) if raw.strip() else DEFAULT_ARRAY_LIMIT_GB
    except ValueError:
        gb = -1.0
    if not gb >= 0:
        raise ConfigError(None, f"ACTIONLAB_CACHE_MAX_GB must be a number of GB >= 0, not {raw!r}")
    return int(gb * 1e9)


def cache_root() -> Path:
    """The cache folder (not created): $ACTIONLAB_CACHE or ~/.cache/actionlab."""
    return Path(os.environ.get("ACTIONLAB_CACHE") or Path.home() / ".cache" / "actionlab")


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under the actionlab cache."""
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class CachePart:
    """One top-level folder of the cache: its size, file count and newest modification time (0 when empty)."""

    name: str
    path: Path
    bytes: int
    files: int
    newest: float

    @property
    def description(self) -> str:
        """What the part holds (PARTS), or "other"."""
        return PARTS.get(self.name, "other")


@dataclass(frozen=True)
class CleanSummary:
    """What `clean_cache` removed (or, with dry_run, would remove)."""

    entries: int
    bytes: int


def _usage(path: Path) -> tuple[int, int, float]:
    """(bytes, files, newest mtime) of a file or a folder tree; files vanishing meanwhile are skipped."""
    if path.is_file():
        st = path.stat()
        return st.st_size, 1, st.st_mtime
    size = count = 0
    newest = 0.0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            size, count, newest = size + st.st_size, count + 1, max(newest, st.st_mtime)
    return size, count, newest


def cache_parts() -> list[CachePart]:
    """Every top-level folder of the cache with its usage, sorted by name (empty when there is no cache yet)."""
    root = cache_root()
    if not root.is_dir():
        return []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    return [CachePart(p.name, p, *_usage(p)) for p in folders]


def clean_cache(
    parts: list[str] | None = None, *, older_than_days: float | None = None, dry_run: bool = False
) -> CleanSummary:
    """Remove the cache's entries (each file or folder directly inside a part) unused for `older_than_days`.

    An entry goes whole (a feature store, a synthetic set, one flow file), so no half store is left behind;
    its age is that of its newest file. `parts=None` means every part; an unknown name is a ConfigError.
    """
    present = {p.name: p for p in cache_parts()}
    unknown = sorted(set(parts or []) - set(present) - set(PARTS))
    if unknown:
        raise ConfigError(
            cache_root(), f"no cache part {', '.join(unknown)}; parts: {', '.join(sorted(set(present) | set(PARTS)))}"
        )
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    if not dry_run:
        _array_bytes.clear()  # rescanned on the next write
    entries = freed = 0
    for name in [n for n in parts or list(present) if n in present]:  # a known part not made yet is empty
        for entry in sorted(present[name].path.iterdir()):
            size, _, newest = _usage(entry)
            if cutoff is not None and newest >= cutoff:
                continue
            entries, freed = entries + 1, freed + size
            if dry_run:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    return CleanSummary(entries, freed)


def human_bytes(size: float) -> str:
    """1536 -> '1.5 KB' (powers of 1024)."""
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KB", "MB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GB"


def cached_array(path: Path, folder: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """compute() for one video file, cached on disk under cache_dir(folder) by (file, size, mtime, key).

    Deterministic per-video inputs (optical flow) are computed once and served to every epoch and every method
    of a compare. A damaged entry is recomputed; the entry is written atomically (DataLoader workers race). The
    part is bounded (`array_limit_bytes`): once full, new entries are computed and not stored, said once.
    """
    import numpy as np

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
    if cached is not None and _room(cached.parent, values.nbytes + 128):  # + the .npy header
        atomic_write(cached, lambda tmp: np.save(tmp, values, allow_pickle=False))
    return values


def _room(part: Path, size: int) -> bool:
    """Whether `size` more bytes fit in `part` under the bound (counted as written); one stderr line when not."""
    if part not in _array_bytes:
        _array_bytes[part] = _usage(part)[0]
    limit = array_limit_bytes()
    if _array_bytes[part] + size <= limit:
        _array_bytes[part] += size
        return True
    if part not in _full_noted:
        _full_noted.add(part)
        print(
            f"cache: {part} holds {human_bytes(_array_bytes[part])}, its bound is {human_bytes(limit)} "
            f"(ACTIONLAB_CACHE_MAX_GB): further entries are recomputed when read, not stored",
            file=sys.stderr,
        )
    return False


def usage_by_part() -> dict[str, int]:
    """Bytes per cache part now (to tell later what a command added)."""
    return {p.name: p.bytes for p in cache_parts()}


def growth_line(before: dict[str, int]) -> str:
    """One line: what the cache gained since `before`, per part, and its total."""
    parts = cache_parts()
    grown = [(p.name, p.bytes - before.get(p.name, 0)) for p in parts]
    grown = sorted(((n, b) for n, b in grown if b > 0), key=lambda nb: -nb[1])
    total = sum(p.bytes for p in parts)
    added = sum(b for _, b in grown)
    detail = f" ({', '.join(f'{n} +{human_bytes(b)}' for n, b in grown)})" if grown else ""
    return (
        f"cache: +{human_bytes(added)}{detail}, {human_bytes(total)} in all in {cache_root()}; "
        f"`actionlab cache` shows it, `actionlab cache clean` empties it"
    )
