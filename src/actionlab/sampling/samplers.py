"""Frame samplers: small seeded dataclasses that turn a frame count into frame indices (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actionlab.errors import ConfigError
from actionlab.sampling.padding import check_pad, pad_indices


def _positive(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ConfigError(None, f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_frames(num_frames: int) -> None:
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ConfigError(None, f"num_frames must be an integer >= 1, got {num_frames!r}")


@dataclass(frozen=True)
class UniformSampler:
    """TSN segments: one frame per equal segment, random within it (rng) or at its centre (rng=None)."""

    num_segments: int

    def __post_init__(self) -> None:
        _positive("num_segments", self.num_segments)

    def sample(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return `num_segments` sorted indices."""
        _check_frames(num_frames)
        edges = np.linspace(0, num_frames, self.num_segments + 1)
        if rng is None:
            pos = (edges[:-1] + edges[1:]) / 2
        else:
            pos = edges[:-1] + rng.random(self.num_segments) * (edges[1:] - edges[:-1])
        return np.clip(np.floor(pos).astype(np.int64), 0, num_frames - 1)


@dataclass(frozen=True)
class MiddleFrameSampler:
    """The single middle frame (random frame with an rng)."""

    def sample(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return one index."""
        _check_frames(num_frames)
        if rng is None:
            return np.array([(num_frames - 1) // 2], dtype=np.int64)
        return np.array([rng.integers(0, num_frames)], dtype=np.int64)


def _clip_start(span: int, num_frames: int, rng: np.random.Generator | None) -> int:
    """Start of a clip covering `span` frames: centred, or random with an rng; 0 if the video is shorter."""
    room = num_frames - span
    if room <= 0:
        return 0
    return int(rng.integers(0, room + 1)) if rng is not None else room // 2


@dataclass(frozen=True)
class DenseClipSampler:
    """One clip of `clip_len` frames `stride` apart, padded with `pad` when the video is short."""

    clip_len: int
    stride: int = 1
    pad: str = "loop"

    def __post_init__(self) -> None:
        _positive("clip_len", self.clip_len)
        _positive("stride", self.stride)
        check_pad(self.pad)

    def sample(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return `clip_len` indices."""
        _check_frames(num_frames)
        span = (self.clip_len - 1) * self.stride + 1
        start = _clip_start(span, num_frames, rng)
        pos = start + np.arange(self.clip_len, dtype=np.int64) * self.stride
        return pad_indices(pos, num_frames, self.pad)


@dataclass(frozen=True)
class MultiClipSampler:
    """`num_clips` clips spread evenly over the video (random jitter with an rng) → shape (K, T)."""

    num_clips: int
    clip_len: int
    stride: int = 1
    pad: str = "loop"

    def __post_init__(self) -> None:
        _positive("num_clips", self.num_clips)
        _positive("clip_len", self.clip_len)
        _positive("stride", self.stride)
        check_pad(self.pad)

    def sample(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return a (num_clips, clip_len) index array."""
        _check_frames(num_frames)
        span = (self.clip_len - 1) * self.stride + 1
        room = max(num_frames - span, 0)
        if self.num_clips == 1:
            starts = np.array([room / 2])
        else:
            starts = np.linspace(0, room, self.num_clips)
        if rng is not None:
            jitter = room / max(self.num_clips, 1) / 2
            starts = np.clip(starts + rng.uniform(-jitter, jitter, self.num_clips), 0, room)
        starts = np.round(starts).astype(np.int64)
        pos = starts[:, None] + np.arange(self.clip_len, dtype=np.int64)[None, :] * self.stride
        return pad_indices(pos, num_frames, self.pad)


@dataclass(frozen=True)
class FlowWindowSampler:
    """`num_flows + 1` frames centred on the middle, `step` apart (step 1 if too short, then padding)."""

    num_flows: int = 16
    step: int = 2
    pad: str = "loop"

    def __post_init__(self) -> None:
        _positive("num_flows", self.num_flows)
        _positive("step", self.step)
        check_pad(self.pad)

    def sample(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return `num_flows + 1` indices; flow i is between frames i and i+1."""
        _check_frames(num_frames)
        count = self.num_flows + 1
        step = self.step if (count - 1) * self.step + 1 <= num_frames else 1
        span = (count - 1) * step + 1
        start = _clip_start(span, num_frames, rng)
        pos = start + np.arange(count, dtype=np.int64) * step
        return pad_indices(pos, num_frames, self.pad)
