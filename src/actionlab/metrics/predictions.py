"""The predictions CSV of a test split: one row per video with its true label and top-k guesses."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from actionlab.atomic import atomic_write
from actionlab.errors import ConfigError


def write_predictions_csv(
    path: str | Path,
    paths: Sequence[str | Path],
    labels: Sequence[int] | np.ndarray | None,
    scores: np.ndarray,
    classes: Sequence[str],
    top: int = 5,
) -> Path:
    """Write path,label,correct,pred1,score1,... atomically (temp file + os.replace); labels may be None."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(paths) or scores.shape[1] != len(classes):
        raise ConfigError(path, f"scores {scores.shape} do not match {len(paths)} paths x {len(classes)} classes")
    top = max(1, min(top, len(classes)))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    header = ["path", "label", "correct"]
    for i in range(1, top + 1):
        header += [f"pred{i}", f"score{i}"]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for row, video in enumerate(paths):
                label = "" if labels is None else classes[int(labels[row])]
                correct = "" if labels is None else int(order[row, 0] == int(labels[row]))
                cells = [str(video), label, correct]
                for j in order[row]:
                    cells += [classes[j], f"{scores[row, j]:.6f}"]
                writer.writerow(cells)

    return atomic_write(path, write)
