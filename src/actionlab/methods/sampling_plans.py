"""Which frames each kind of preset reads: (views, T) index plans over the samplers of actionlab.sampling.

Plans are small frozen dataclasses (picklable, so DataLoader workers on any start method get them).
rng given = training: new random positions every epoch; rng None = test: deterministic, K views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actionlab.sampling import DenseClipSampler, MiddleFrameSampler, MultiClipSampler, UniformSampler


def segment_views(num_frames: int, count: int, views: int) -> np.ndarray:
    """(views, count) indices: one frame per equal segment, view k at offset (k + 0.5) / views of each."""
    edges = np.linspace(0, num_frames, count + 1)
    offsets = (np.arange(views) + 0.5) / views
    pos = edges[:-1][None, :] + offsets[:, None] * (edges[1:] - edges[:-1])[None, :]
    return np.clip(np.floor(pos).astype(np.int64), 0, num_frames - 1)


@dataclass(frozen=True)
class FramesPlan:
    """Single frames (frame-cnn): `per_video` distinct random frames in training; at test the middle frame
    first, then `count` frames, one per segment (the late-fusion view)."""

    count: int
    per_video: int

    def __call__(self, num_frames: int, rng: np.random.Generator | None) -> np.ndarray:
        if rng is not None:  # distinct frames: a still image gives one example, not per_video copies
            k = min(self.per_video, num_frames)
            return np.sort(rng.choice(num_frames, k, replace=False)).reshape(k, 1)
        middle = MiddleFrameSampler().sample(num_frames)
        if self.count == 1:
            return middle.reshape(1, 1)
        return np.concatenate([middle, UniformSampler(self.count).sample(num_frames)]).reshape(-1, 1)


@dataclass(frozen=True)
class ClipPlan:
    """One clip of `count` frames: TSN segments (random offset per segment in training) or a dense run of
    frames `stride` apart (random start in training); `test_clips` evenly spread views at test."""

    count: int
    sampling: str = "segments"
    stride: int = 1
    test_clips: int = 1

    def __call__(self, num_frames: int, rng: np.random.Generator | None) -> np.ndarray:
        if self.count == 1 and rng is None:
            return MiddleFrameSampler().sample(num_frames).reshape(1, 1)
        if self.sampling == "segments":
            if rng is not None:
                return UniformSampler(self.count).sample(num_frames, rng)[None]
            return segment_views(num_frames, self.count, self.test_clips)
        if rng is not None:
            return DenseClipSampler(self.count, self.stride, pad="mirror").sample(num_frames, rng)[None]
        return MultiClipSampler(self.test_clips, self.count, self.stride, pad="mirror").sample(num_frames)
