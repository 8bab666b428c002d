"""A video's timeline: per-window class scores, the merged segments, and their JSON / CSV forms."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actionlab.atomic import write_json, write_text
from actionlab.timeline.segments import Segment, background_name


@dataclass
class Timeline:
    """Everything `predict --timeline` found in one video (times in seconds)."""

    video: str
    run: str
    method: str
    classes: list[str]
    fps: float
    duration: float
    window: float  # seconds per window, as used
    stride: float  # seconds between window starts, as used
    smooth: int
    threshold: float
    starts: np.ndarray  # (N,) window start times
    ends: np.ndarray  # (N,) window end times
    scores: np.ndarray  # (N, C) the run's video-level scores per window
    smoothed: np.ndarray  # (N, C) after the moving average
    segments: list[Segment]
    notes: list[str] = field(default_factory=list)  # what did not go as asked (one line each)
    peak_frames: int = 0  # most decoded frames held at once: one window's worth, whatever the video's length

    @property
    def background(self) -> str:
        """The label of segments under the threshold."""
        return background_name(self.classes)

    def top(self, i: int, k: int) -> list[tuple[str, float]]:
        """Window i's k best (label, score), best first (unsmoothed scores)."""
        order = np.argsort(-self.scores[i], kind="stable")[:k]
        return [(self.classes[c], float(self.scores[i, c])) for c in order]

    def to_dict(self, top_k: int = 5) -> dict[str, Any]:
        """JSON-ready: settings, per-window top-k, segments, notes."""
        windows = [
            {
                "start": round(float(s), 3),
                "end": round(float(e), 3),
                "top": [{"label": lb, "score": round(sc, 6)} for lb, sc in self.top(i, top_k)],
            }
            for i, (s, e) in enumerate(zip(self.starts, self.ends))
        ]
        return {
            "video": self.video,
            "run": self.run,
            "method": self.method,
            "fps": self.fps,
            "duration": round(self.duration, 3),
            "window": self.window,
            "stride": self.stride,
            "smooth": self.smooth,
            "threshold": self.threshold,
            "background": self.background,
            "classes": self.classes,
            "segments": [asdict(s) for s in self.segments],
            "windows": windows,
            "notes": self.notes,
        }

    def csv_text(self) -> str:
        """One row per window: start, end, the segment label at its centre, then every class's score."""
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(["start", "end", "segment", *self.classes])
        for i, (s, e) in enumerate(zip(self.starts, self.ends)):
            out.writerow([f"{s:.3f}", f"{e:.3f}", self.segment_at((s + e) / 2), *(f"{v:.6f}" for v in self.scores[i])])
        return buf.getvalue()

    def segment_at(self, t: float) -> str:
        """The label of the segment holding time t."""
        for seg in self.segments:
            if seg.start <= t <= seg.end:
                return seg.label
        return self.background

    def lines(self) -> list[str]:
        """The segments as text lines for stdout."""
        return [f"{s.start:8.2f} - {s.end:8.2f} s  {s.label}  {s.score:.3f}" for s in self.segments]


def write_outputs(
    tl: Timeline, json_path: str | Path | None, csv_path: str | Path | None, plot_path: str | Path | None, top_k: int
) -> list[Path]:
    """Write the asked files atomically; returns their paths."""
    written = []
    if json_path is not None:
        written.append(write_json(json_path, tl.to_dict(top_k)))
    if csv_path is not None:
        written.append(write_text(csv_path, tl.csv_text()))
    if plot_path is not None:
        from actionlab.timeline.plot import plot_timeline

        written.append(plot_timeline(tl, plot_path))
    return written
