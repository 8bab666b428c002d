"""Frame indices cached per (path, size, mtime): in memory, and on disk under cache_dir("probe") across runs.

On disk the cache is a set of append-only JSON-lines logs, one per process (`<host>-<pid>-<token>.jsonl`), a line
`<digest>\t<json>` per indexed file. Appending a line costs microseconds, where the earlier file per entry (temp
file, rename) cost ~0.8 ms of inode work on ext4: a third of reading 8 frames of a short clip, paid by every
never-seen video of a feature extraction. A process reads the logs once, when it first misses its memory cache;
lines other processes append later are simply misses (a re-index). A kill leaves at most a torn last line, which
is skipped. When more than MAX_LOGS logs have gathered, the reading process merges them into one (written
atomically) and deletes the merged ones; an entry a live process appends meanwhile to a deleted log is lost,
which costs a re-index, never a wrong index: the key holds the file's size and mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import threading
from pathlib import Path

import numpy as np

from actionlab.atomic import write_text
from actionlab.cache import cache_dir
from actionlab.video.index import FrameIndex, KeptFrames, build_index
from actionlab.video.opening import check_file

_CACHE: dict[tuple[str, int, int], FrameIndex] = {}
_LOCK = threading.Lock()
_MAX_ENTRIES = 4096
_FORMAT = 3  # 3: indices from a full decode (2 counted packets, wrong after a damaged one)
MAX_LOGS = 32


class _Logs:
    """One cache folder's entries (digest → JSON text, parsed on a hit) and this process's log to append to."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[str, str] = {}
        self.fd: int | None = None
        self.pid = os.getpid()
        files = sorted(folder.glob("*.jsonl"))
        for file in files:
            try:
                text = file.read_text()
            except (OSError, UnicodeDecodeError):
                continue
            for line in text.splitlines():
                digest, tab, data = line.partition("\t")
                if tab and data.endswith("}"):  # a torn last line (killed writer) lacks its closing brace
                    self.entries[digest] = data
        if len(files) > MAX_LOGS:
            self._merge(files)

    def _merge(self, files: list[Path]) -> None:
        text = "".join(f"{digest}\t{data}\n" for digest, data in self.entries.items())
        try:
            write_text(self.folder / f"merged-{secrets.token_hex(4)}.jsonl", text)
            for file in files:
                file.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only or full cache folder: keep reading the logs as they are

    def append(self, digest: str, data: str) -> None:
        """Add an entry to this process's log (one write: concurrent readers see whole lines or a torn tail)."""
        self.entries[digest] = data
        if self.fd is None or self.pid != os.getpid():  # a forked child must not share its parent's log
            self.pid = os.getpid()
            name = f"{socket.gethostname()}-{self.pid}-{secrets.token_hex(4)}.jsonl"
            self.fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(self.fd, f"{digest}\t{data}\n".encode())


_LOGS: dict[Path, _Logs] = {}


def forget() -> None:
    """Drop what this process holds in memory (indices and loaded logs), as a new process starts; the disk stays."""
    with _LOCK:
        _CACHE.clear()
        for logs in _LOGS.values():
            if logs.fd is not None and logs.pid == os.getpid():
                os.close(logs.fd)
        _LOGS.clear()


def frame_index(
    path: str | Path, opened: tuple | None = None, keep: KeptFrames | None = None, threads: int | None = None
) -> FrameIndex:
    """Return the (cached) FrameIndex of a video file; `opened` lends a freshly opened (container, stream) of it.

    On a cache miss, which indexes by decoding on at most `threads` threads, `keep` receives the decoded frames
    (see build_index).
    """
    path = check_file(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    digest = hashlib.sha1(repr((_FORMAT, *key)).encode()).hexdigest()
    logs = _logs()
    index = _parse(logs.entries.get(digest)) if logs is not None else None
    if index is None:
        index = build_index(path, opened, keep, threads)
        if logs is not None:
            _save(logs, digest, index)
    with _LOCK:
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = index
    return index


def _logs() -> _Logs | None:
    """The current cache folder's logs, read on first use; None when the folder cannot be used."""
    try:
        folder = cache_dir("probe")
    except OSError:
        return None
    with _LOCK:
        logs = _LOGS.get(folder)
        if logs is None:
            logs = _LOGS[folder] = _Logs(folder)
        return logs


def _parse(data: str | None) -> FrameIndex | None:
    if data is None:
        return None
    try:
        entry = json.loads(data)
        pts = None if entry["pts"] is None else _expand(entry["pts"])
        return FrameIndex(int(entry["num_frames"]), pts, _expand(entry["keyframes"]), entry["damage"])
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable entry: index the file again


def _save(logs: _Logs, digest: str, index: FrameIndex) -> None:
    data = json.dumps(
        {
            "num_frames": index.num_frames,
            "pts": None if index.pts is None else _runs(index.pts),
            "keyframes": _runs(index.keyframes),
            "damage": index.damage,
        },
        separators=(",", ":"),
    )
    try:
        with _LOCK:
            logs.append(digest, data)
    except OSError:
        pass  # the cache is an optimisation; a read-only or full cache folder must not fail the read


def _runs(values: np.ndarray) -> list[list[int]]:
    """Integers as [first, step, count] runs of equal steps: a constant-rate video's pts are one run, so every
    process can hold the entries of a whole dataset's logs in memory."""
    runs: list[list[int]] = []
    for v in (int(x) for x in values):
        if runs and runs[-1][2] == 1:
            runs[-1][1], runs[-1][2] = v - runs[-1][0], 2
        elif runs and v == runs[-1][0] + runs[-1][1] * runs[-1][2]:
            runs[-1][2] += 1
        else:
            runs.append([v, 0, 1])
    return runs


def _expand(runs: list[list[int]]) -> np.ndarray:
    parts = [first + step * np.arange(count, dtype=np.int64) for first, step, count in runs]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
