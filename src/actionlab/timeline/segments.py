"""From per-window class scores to labelled segments: temporal smoothing, a background threshold, merging.

Each window stands for the stretch of time nearest its centre (boundaries half-way between neighbouring
window centres; the first starts at 0, the last ends with the video), so segments tile the whole video.
Pure numpy; written here because the three steps are a dozen lines and no kept library offers them as one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKGROUND = "background"
UNCERTAIN = "uncertain"  # the background name when a class is itself called "background"


@dataclass(frozen=True)
class Segment:
    """A stretch of the video with one label (or the background label) and its mean smoothed score."""

    label: str
    start: float
    end: float
    score: float


def smooth(scores: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average over `k` windows (fewer at the ends, so the edges keep their own scale)."""
    if k <= 1 or len(scores) < 2:
        return scores.copy()
    csum = np.concatenate([np.zeros((1, scores.shape[1])), np.cumsum(scores, 0, dtype=np.float64)])
    n = len(scores)
    lo = np.clip(np.arange(n) - (k - 1) // 2, 0, n)
    hi = np.clip(np.arange(n) + k // 2 + 1, 0, n)
    return ((csum[hi] - csum[lo]) / (hi - lo)[:, None]).astype(np.float32)


def cell_bounds(starts: np.ndarray, ends: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """(from, to) seconds of the stretch each window stands for."""
    centres = (starts + ends) / 2
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[0.0], mids]), np.concatenate([mids, [max(duration, float(ends[-1]))]])


def background_name(classes: list[str]) -> str:
    """The label of windows under the threshold."""
    return UNCERTAIN if BACKGROUND in classes else BACKGROUND


def merge_segments(
    smoothed: np.ndarray, starts: np.ndarray, ends: np.ndarray, duration: float, classes: list[str], threshold: float
) -> list[Segment]:
    """Consecutive windows with the same best label (background below `threshold`) merged into segments."""
    if not len(smoothed):
        return []
    best = smoothed.argmax(1)
    top = smoothed.max(1)
    labels = np.where(top >= threshold, best, -1)
    lo, hi = cell_bounds(starts, ends, duration)
    out: list[Segment] = []
    first = 0
    for i in range(1, len(labels) + 1):
        if i < len(labels) and labels[i] == labels[first]:
            continue
        c = int(labels[first])
        part = smoothed[first:i, c] if c >= 0 else top[first:i]
        name = classes[c] if c >= 0 else background_name(classes)
        out.append(Segment(name, round(float(lo[first]), 3), round(float(hi[i - 1]), 3), float(part.mean())))
        first = i
    return out


def coverage(segments: list[Segment], truth: list[Segment]) -> float:
    """Fraction of the truth's duration where the segments carry the true label (the recovery measure)."""
    total = sum(t.end - t.start for t in truth)
    hit = 0.0
    for t in truth:
        for s in segments:
            if s.label == t.label:
                hit += max(0.0, min(s.end, t.end) - max(s.start, t.start))
    return hit / total if total > 0 else 0.0
