"""Run folders: the lock held while a run writes, and the recorded configuration that rebuilds the run."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actionlab.errors import CheckpointError, ConfigError

CONFIG = "config.json"


@contextmanager
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold run_dir/.lock for the duration; a second writer gets one ConfigError line.

    flock is released by the kernel when the holder dies (kill -9 included), so no stale lock outlives a run.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise ConfigError(
                run_dir, f"another run is writing this folder ({holder}); wait for it or pick another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        yield run_dir
    finally:
        os.close(fd)


@dataclass(frozen=True)
class DatasetRecord:
    """How the run's dataset was built, so evaluate rebuilds exactly its split."""

    specs: list[str]
    annotations: list[str] | None = None
    split: int = 1
    seed: int = 0
    val_fraction: float = 0.0
    num_train: int = 0
    num_val: int = 0
    num_test: int = 0
    val_source: str = "none"  # none | dataset (its own val split) | val_fraction | early_stopping (automatic)


@dataclass
class RunConfig:
    """What config.json holds: method, label, classes, every option as used, dataset, and starting weights."""

    method: str
    classes: list[str]
    options: dict[str, Any]
    dataset: DatasetRecord | None = None
    label: str | None = None
    init: str | None = None  # the starting-weights report line, when init was given
    datasets: list[dict[str, Any]] = field(default_factory=list)  # joint runs: name + classes per head
    extra: dict[str, Any] = field(default_factory=dict)  # preset-specific facts (e.g. feature dimension, streams)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    @classmethod
    def read(cls, run_dir: str | Path) -> RunConfig:
        """Read run_dir/config.json; ConfigError when it is not a run folder (with a hint for compare folders)."""
        run_dir = Path(run_dir)
        path = run_dir / CONFIG
        if not path.is_file():
            subs = sorted(p.parent.name for p in run_dir.glob(f"*/{CONFIG}"))
            hint = f"; it holds runs {', '.join(subs)}: pass one of those subfolders" if subs else ""
            raise ConfigError(run_dir, f"not a run folder (no {CONFIG}){hint}")
        try:
            raw = json.loads(path.read_text())
            ds = raw.get("dataset")
            return cls(
                raw["method"],
                list(raw["classes"]),
                dict(raw["options"]),
                DatasetRecord(**ds) if ds else None,
                raw.get("label"),
                raw.get("init"),
                list(raw.get("datasets") or []),
                dict(raw.get("extra") or {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CheckpointError(
                path, f"not a config.json of this actionlab version ({type(err).__name__}: {err})"
            ) from None
