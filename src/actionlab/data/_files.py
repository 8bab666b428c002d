"""Shared helpers for adapters: reading annotation lines and checking listed files exist."""

from __future__ import annotations

from pathlib import Path

from actionlab.data.dataset import Problem
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


class FileChecker:
    """Checks listed files exist (one stat each, no decoding) and records duplicates and missing files."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.seen: set[Path] = set()

    def ok(self, path: Path, file: Path, line: int | None) -> bool:
        """True when `path` exists and was not listed before; otherwise a Problem is recorded."""
        if path in self.seen:
            self.problems.append(Problem(str(file), line, f"duplicate entry {path.name}"))
            return False
        self.seen.add(path)
        if not path.is_file():
            self.problems.append(Problem(str(file), line, f"listed file missing: {path}"))
            return False
        return True


def media_files(folder: Path) -> list[Path]:
    """Video and image files directly inside `folder` (sorted), ignoring hidden files."""
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES and not p.name.startswith(".")
        and p.is_file()
    )


def class_dirs(root: Path) -> list[Path]:
    """Visible subfolders of `root`, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
