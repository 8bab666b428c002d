"""predict: top-k labels per video from a run dir, tolerant of bad files (they are listed, not fatal)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from actionlab.methods import Predictions, get_method

VIDEO_EXTS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv", ".flv", ".ogv",
              ".jpg", ".jpeg", ".png", ".bmp"}


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given; folders expanded (recursively) to their media files, sorted."""
    out: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            out.extend(sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTS))
        else:
            out.append(item)
    return out


def run_method_name(run_dir: str | Path) -> str:
    """The method a run dir was trained with; ConfigError when it is not a run (naming a compare's subfolders)."""
    from actionlab.methods.runs import RunConfig

    return RunConfig.read(run_dir).method


def predict_paths(run_dir: str | Path, inputs: Sequence[str | Path]) -> Predictions:
    """Scores for every readable video under `inputs`, reasons for the others."""
    paths = expand_inputs(inputs)
    return get_method(run_method_name(run_dir)).predict(run_dir, paths)


def top_k(pred: Predictions, k: int = 5) -> dict[str, list[tuple[str, float]]]:
    """(label, score) pairs, best first, per path."""
    return {p: [(pred.classes[i], float(s[i])) for i in s.argsort()[::-1][:k]] for p, s in pred.scores.items()}
