"""Cheap per-file checks for `actionlab index`: what an annotation or folder listing cannot tell.

A listed file can be empty, unreadable, random bytes or audio only, and a folder scan silently passes over a
directory named `x.mp4` or a symlink loop. Each check here costs a stat, a one-byte read and a container header
probe (PyAV, with a time limit), never a decode: `index` stays fast on a whole dataset. What decodes is checked
by `train`/`extract` (the frame-exactness of damaged streams lives in actionlab.video).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PROBE_SECONDS = 5.0  # a header probe longer than this (a stalled network mount, a crafted file) is a problem
_MEDIA = {
    ".mp4",
    ".avi",
    ".mkv",
    ".webm",
    ".mov",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".webp",
}  # the suffixes actionlab.data lists (a copy: this module must not import the data package)


@dataclass(frozen=True)
class FileProblem:
    """One file (or folder entry) that cannot be a sample, and why."""

    path: str
    reason: str


def _readable(path: Path) -> str | None:
    """None when the file is a non-empty readable regular file, else the reason."""
    try:
        st = os.stat(path)
    except OSError as err:
        return "symlink loop" if err.errno == errno.ELOOP else f"cannot stat ({err.strerror})"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    if not os.access(path, os.R_OK):  # the same test actionlab.video makes before it opens a file
        return "cannot read (permission denied)"
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as err:
        return f"cannot read ({err.strerror})"
    return None


def _header(path: Path, seconds: float) -> str | None:
    """None when PyAV opens the container and finds a video (or image) stream within `seconds`."""
    import av

    try:
        with av.open(str(path), timeout=seconds) as container:
            if not container.streams.video:
                kinds = sorted({s.type for s in container.streams}) or ["no"]
                return f"no video stream ({', '.join(kinds)} only)"
            return _dimensions(container.streams.video[0])
    except av.ExitError:
        return f"header probe took over {seconds:g} s"
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as err:
        text = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return f"not a readable video or image ({text.splitlines()[0][:100]})"
    return None


def _dimensions(stream) -> str | None:
    """The frame size the header declares, when it exceeds the pixel limit decoding would refuse."""
    from actionlab.video.opening import max_pixels

    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > max_pixels():
        return f"frame size {width}x{height} exceeds the limit of {max_pixels()} pixels (ACTIONLAB_MAX_PIXELS)"
    return None


def check_file(path: str | Path, seconds: float = PROBE_SECONDS) -> str | None:
    """Why `path` cannot be a sample (empty, unreadable, no container, no video stream), or None."""
    path = Path(path)
    return _readable(path) or _header(path, seconds)


def check_files(paths: Iterable[str | Path], seconds: float = PROBE_SECONDS, workers: int = 4) -> list[FileProblem]:
    """check_file over many files on a few threads (PyAV releases the GIL while it reads headers)."""
    paths = list(paths)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        reasons = list(pool.map(lambda p: check_file(p, seconds), paths))
    return [FileProblem(str(p), r) for p, r in zip(paths, reasons) if r is not None]


def stray_entries(folder: Path) -> list[FileProblem]:
    """Entries of `folder` named like media that a scan passes over: folders, symlink loops, broken links."""
    problems = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        return [FileProblem(str(folder), f"cannot list folder ({err.strerror})")]
    for entry in entries:
        if entry.suffix.lower() not in _MEDIA or entry.name.startswith("."):
            continue
        try:
            st = os.stat(entry)
        except OSError as err:
            reason = (
                "symlink loop"
                if err.errno == errno.ELOOP
                else "broken symlink (its target is missing)"
                if entry.is_symlink()
                else f"cannot stat ({err.strerror})"
            )
            problems.append(FileProblem(str(entry), reason))
            continue
        if entry.is_dir():
            problems.append(FileProblem(str(entry), "a folder named like a video, not a file"))
        elif not entry.is_file():
            problems.append(FileProblem(str(entry), f"not a regular file (mode {oct(st.st_mode)})"))
    return problems


def folder_layout(root: Path) -> list[Path]:
    """The class folders a folder dataset scans: ROOT/<class>, or ROOT/train/<class> and ROOT/test/<class>."""
    bases = [root / s for s in ("train", "test") if (root / s).is_dir()] or [root]
    return sorted(d for b in bases for d in b.iterdir() if d.is_dir() and not d.name.startswith("."))
