"""Pad policies that map any (possibly out-of-range) position onto a valid frame index."""

from __future__ import annotations

import numpy as np

from actionlab.errors import ConfigError

PAD_POLICIES = ("loop", "repeat-last", "mirror")


def check_pad(pad: str) -> str:
    """Return `pad` if it is a known policy, else raise ConfigError."""
    if pad not in PAD_POLICIES:
        raise ConfigError(None, f"pad must be one of {', '.join(PAD_POLICIES)}, got {pad!r}")
    return pad


def pad_indices(positions: np.ndarray, num_frames: int, pad: str) -> np.ndarray:
    """Fold non-negative positions into [0, num_frames) with the given policy."""
    pos = np.asarray(positions, dtype=np.int64)
    if num_frames < 1:
        raise ConfigError(None, f"num_frames must be >= 1, got {num_frames}")
    if pad == "loop":
        return pos % num_frames
    if pad == "repeat-last":
        return np.clip(pos, 0, num_frames - 1)
    if num_frames == 1:
        return np.zeros_like(pos)
    # Mirror past the end plays backwards then forwards again, so motion stays continuous.
    period = 2 * (num_frames - 1)
    folded = np.abs(pos) % period
    return np.where(folded < num_frames, folded, period - folded)
