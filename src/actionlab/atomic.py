"""Atomic file writes: write a temp file beside the target, then os.replace, so readers never see half a file.

A write that fails with an OSError (disk full, read-only filesystem, no permission) removes its temp file, leaves
the target as it was and raises WriteError: one line naming the target (an ActionlabError, so the CLI prints it
without a traceback), still an OSError for callers that tolerate a failed write (caches).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actionlab.errors import ActionlabError

_UMASK = os.umask(0)
os.umask(_UMASK)
# mkstemp creates 0600 files; results people share (report.html, results.json) should get the usual mode
_MODE = 0o666 & ~_UMASK


class WriteError(ActionlabError, OSError):
    """A file could not be written; the target is unchanged and no temp file is left."""

    def __init__(self, path: str | Path, reason: str, code: int | None = None) -> None:
        super().__init__(path, reason)
        self.errno = code


def atomic_write(target: str | Path, write: Callable[[Path], object]) -> Path:
    """Call write(tmp_path), then move the finished temp file onto `target` (created with the umask's mode)."""
    target = Path(target)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # the temp name keeps the target's suffix: writers such as np.savez append one when it is missing
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, _MODE)
        os.replace(tmp, target)
    except WriteError:
        raise
    except OSError as err:
        why = err.strerror or str(err) or type(err).__name__
        raise WriteError(target, f"cannot write ({why}); the previous file, if any, is unchanged", err.errno) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return target


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically write bytes."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any, default: Callable[[Any], Any] | None = str) -> Path:
    """Atomically write indented JSON (`default` converts what json cannot)."""
    return write_text(path, json.dumps(obj, indent=2, default=default))
