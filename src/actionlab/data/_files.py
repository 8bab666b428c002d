"""Shared helpers for adapters: reading annotation lines, keeping listed paths inside the dataset root, and
checking listed files exist and are listed once."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from actionlab.data.dataset import Problem, Sample
from actionlab.errors import DatasetError

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MEDIA_SUFFIXES = VIDEO_SUFFIXES | IMAGE_SUFFIXES


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines of a text file as (1-based line number, stripped text); CRLF and trailing spaces are fine."""
    if not path.is_file():
        raise DatasetError(path, "annotation file not found")
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as err:
        raise DatasetError(path, f"cannot read annotation file ({err.strerror})") from err
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def require_dir(path: Path | None, what: str) -> Path:
    """Return `path` as a Path if it is a folder, else raise DatasetError saying what was expected."""
    if path is None:
        raise DatasetError(None, f"{what} folder not given")
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetError(path, f"{what} folder not found")
    return path


def default_annotations(root: Path, name: str) -> Path:
    """The official annotation folder `name` inside `root`, else beside it (the usual unpacked layout)."""
    inside = root / name
    return inside if inside.is_dir() or not (root.parent / name).is_dir() else root.parent / name


def inside_root(root: Path, listed: str, file: Path, line: int, problems: list[Problem]) -> str | None:
    """`listed` (a path relative to `root`) normalised to `a/b.avi`, or None and a Problem when it is absolute or
    leaves the root (`..`): an annotation line must never bring a file from outside the dataset into it."""
    text = listed.replace("\\", "/")
    if text.startswith("/") or PureWindowsPath(listed).drive:
        problems.append(
            Problem(
                str(file),
                line,
                f"absolute path {listed!r} refused: it is outside the dataset root {root} (list paths relative to it)",
            )
        )
        return None
    norm = posixpath.normpath(text)
    if norm in (".", "..") or norm.startswith("../"):
        problems.append(Problem(str(file), line, f"path {listed!r} refused: it leads outside the dataset root {root}"))
        return None
    return norm


@dataclass(frozen=True)
class _Listed:
    file: str
    line: int | None
    split: str | None
    label: str | None


class FileChecker:
    """Checks listed files exist (one stat each, no decoding) and that each file is listed once.

    Entries are compared by real path, so `a/./x.avi`, `a/../a/x.avi` and a symlink to x.avi are one file. A
    second listing is dropped with a Problem naming the first; one file listed with two labels is dropped
    everywhere (`keep` filters it out), since neither label can be trusted.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.seen: dict[str, _Listed] = {}
        self.conflicts: set[str] = set()

    def ok(
        self, path: Path, file: Path, line: int | None, *, split: str | None = None, label: str | None = None
    ) -> bool:
        """True when `path` exists and was not listed before; otherwise a Problem is recorded."""
        key = os.path.realpath(path)
        first = self.seen.get(key)
        if first is not None:
            self.problems.append(Problem(str(file), line, self._duplicate(path, first, split, label)))
            if label is not None and first.label is not None and label != first.label:
                self.conflicts.add(key)
            return False
        self.seen[key] = _Listed(str(file), line, split, label)
        if not path.is_file():
            self.problems.append(Problem(str(file), line, f"listed file missing: {path}"))
            return False
        return True

    @staticmethod
    def _duplicate(path: Path, first: _Listed, split: str | None, label: str | None) -> str:
        where = f"{first.file}:{first.line}" if first.line is not None else first.file
        if label is not None and first.label is not None and label != first.label:
            return (
                f"duplicate entry {path.name}: the same file as {where} with two labels "
                f"({first.label!r} there, {label!r} here): dropped from both"
            )
        if split is not None and first.split is not None and split != first.split:
            return (
                f"duplicate entry {path.name}: the same file as {where}, in {first.split} and {split}: "
                f"dropped from {split}"
            )
        return f"duplicate entry {path.name}: the same file as {where}"

    def keep(self, samples: list[Sample]) -> list[Sample]:
        """`samples` without the files listed with two labels."""
        if not self.conflicts:
            return samples
        return [s for s in samples if os.path.realpath(s.path) not in self.conflicts]


def media_files(folder: Path) -> list[Path]:
    """Video and image files directly inside `folder` (sorted), ignoring hidden files."""
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def class_dirs(root: Path) -> list[Path]:
    """Visible subfolders of `root`, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
