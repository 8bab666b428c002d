"""Item keys of the feature store: which file a stored entry belongs to, and which version of that file.

A key is `<path part>-<identity part>`: 14 hex digits of sha1(absolute path) and 6 of sha1(size, mtime in ns),
the same identity the frame-index cache uses (actionlab.video). A file replaced in place (new size or mtime)
gets a new key, so its old features are never served for the new content. 21 characters keep a shard's name
of SHARD_VIDEOS keys well under the usual 255-byte limit, also as a temp name. Keys written before identity
was recorded (20 hex digits, no `-`) share the path part; they are `legacy`: readable, but never counted as
done by `extract`, which computes such videos once more.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PATH_CHARS = 14
SEP = "-"
NO_IDENTITY = "0" * 6  # the file could not be stat'ed when stored (it was removed meanwhile)


def _identity(path: str | Path) -> str | None:
    """sha1 of (size, mtime_ns) of the file, or None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return hashlib.sha1(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:6]


def path_part(key: str) -> str:
    """The part of a key that names the path (the same for every version of one file, also for legacy keys)."""
    return key[:PATH_CHARS]


def item_key(path: str | Path) -> str:
    """Key of the file at `path` as it is now: path part + identity part (NO_IDENTITY when it is gone)."""
    resolved = os.path.realpath(path)  # what Path.resolve gives, but a symlink loop is a path, not an error
    head = hashlib.sha1(resolved.encode()).hexdigest()[:PATH_CHARS]
    return f"{head}{SEP}{_identity(resolved) or NO_IDENTITY}"


def is_legacy(key: str) -> bool:
    """True for a key written before file identity was recorded (path only)."""
    return SEP not in key


def same_file(stored: str, current: str) -> bool:
    """True when a stored entry is the current version of the file (strict: what `extract` may skip)."""
    return stored == current and not current.endswith(NO_IDENTITY)


def readable_as(stored: str, current: str) -> bool:
    """True when a stored entry may be served for the file: the same version, a legacy entry (no identity to
    compare) or a file that is gone (nothing to compare with)."""
    return path_part(stored) == path_part(current) and (
        stored == current or is_legacy(stored) or current.endswith(NO_IDENTITY)
    )
