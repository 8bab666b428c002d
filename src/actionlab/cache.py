"""Where actionlab keeps generated data and caches: ~/.cache/actionlab, or $ACTIONLAB_CACHE."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under the actionlab cache."""
    root = Path(os.environ.get("ACTIONLAB_CACHE") or Path.home() / ".cache" / "actionlab")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
