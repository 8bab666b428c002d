"""Explaining whole videos with a run: `Explainer(run_dir, ...).explain(path) -> VideoExplanation` (arrays)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from actionlab.errors import ConfigError
from actionlab.explain.maps import METHODS, StreamMaps, explain_stream
from actionlab.explain.streams import LoadedRun


@dataclass
class VideoExplanation:
    """One video: the run's video-level scores, the class explained and each stream's maps."""

    path: Path
    classes: list[str]
    scores: np.ndarray  # (C,) video-level softmax scores, as `actionlab predict` gives them
    target: int  # the class whose evidence the Grad-CAM and guided maps show
    predicted: int
    streams: list[StreamMaps] = field(default_factory=list)

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The k best (label, score) pairs."""
        order = np.argsort(-self.scores, kind="stable")[:k]
        return [(self.classes[i], float(self.scores[i])) for i in order]


class Explainer:
    """A run loaded once, explaining videos one by one with the asked methods."""

    def __init__(
        self,
        run_dir: str | Path,
        methods: Sequence[str] = METHODS,
        target: str | None = None,
        frames: int | None = 8,
        shifts: int = 16,
    ) -> None:
        bad = [m for m in methods if m not in METHODS]
        if bad or not methods:
            raise ConfigError(None, f"explain methods must be among {', '.join(METHODS)}, not {bad or 'none'}")
        if frames is not None and frames < 1 or shifts < 1:
            raise ConfigError(None, "frames and shifts must be at least 1")
        self.run = LoadedRun.load(run_dir)
        classes = self.run.config.classes
        if target is not None and target not in classes:
            raise ConfigError(
                None,
                f"class {target!r} is not one of the run's {len(classes)} classes "
                f"({', '.join(classes[:8])}{', ...' if len(classes) > 8 else ''})",
            )
        self.methods, self.frames, self.shifts = tuple(methods), frames, shifts
        self.target = None if target is None else classes.index(target)

    def video_scores(self, logits: torch.Tensor) -> np.ndarray:
        """Video-level scores from per-view logits (V, C), through the preset's own view averaging."""
        probs = torch.softmax(logits.float(), -1).numpy()[None]
        return self.run.preset.views(self.run.options, probs)["video"][0]

    def explain(self, path: str | Path) -> VideoExplanation:
        """Maps of every stream of one video (VideoError/FeatureError when it cannot be read)."""
        path = Path(path)
        found: dict[str, np.ndarray] = {}

        def choose(logits: torch.Tensor) -> int:
            found.setdefault("scores", self.video_scores(logits))
            return int(found["scores"].argmax()) if self.target is None else self.target

        streams, target = [], -1
        with torch.inference_mode(False):
            for stream in self.run.streams(path):
                maps, target = explain_stream(stream, self.methods, choose, self.shifts, self.frames)
                streams.append(maps)
        scores = found["scores"]
        return VideoExplanation(path, list(self.run.config.classes), scores, target, int(scores.argmax()), streams)
