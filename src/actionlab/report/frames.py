"""Report figures made of video frames: the dataset's contact sheet and strips of misclassified test videos."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from actionlab.errors import ActionlabError
from actionlab.report.plots import plt, png

THUMB = 96  # px, the short side frames are decoded at


def _frames(path: str, count: int) -> np.ndarray | None:
    """`count` frames spread over the video (uint8 RGB), or None when it cannot be read."""
    from actionlab.video import read_sampled

    def pick(n: int) -> np.ndarray:
        return np.unique(np.linspace(0, max(n - 1, 0), count).round().astype(int)) if n else np.zeros(1, int)

    try:
        frames, _, _ = read_sampled(path, pick, size=THUMB, threads=1)
    except (ActionlabError, OSError, ValueError):
        return None
    return frames


def contact_sheet_png(examples: Mapping[str, str], max_classes: int = 60) -> tuple[bytes | None, list[str]]:
    """(PNG of one middle frame per class, captioned, or None; the classes whose example could not be read)."""
    cells, missing = [], []
    for name, path in list(examples.items())[:max_classes]:
        frames = _frames(path, 3)
        if frames is None:
            missing.append(name)
        else:
            cells.append((name, frames[len(frames) // 2]))
    if not cells:
        return None, missing
    cols = min(10, len(cells))
    rows = -(-len(cells) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.45 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, frame) in zip(axes.flat, cells):
        ax.imshow(frame)
        ax.set_title(name[:18], fontsize=7)
    return png(fig), missing


def misclassified(run_dir: str | Path, limit: int = 3) -> list[tuple[str, str, str, float]]:
    """Up to `limit` (path, true, predicted, score) wrong test predictions, one per true class first."""
    path = Path(run_dir) / "predictions.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        wrong = [r for r in csv.DictReader(fh) if r.get("correct") == "0"]
    wrong.sort(key=lambda r: -float(r.get("score1") or 0))  # the most confident mistakes say the most
    picked, seen = [], set()
    for row in wrong:  # one per true class first, so a single confusable class does not fill the strip
        if row["label"] not in seen:
            picked.append(row)
            seen.add(row["label"])
    picked += [r for r in wrong if r not in picked]
    return [(r["path"], r["label"], r["pred1"], float(r["score1"])) for r in picked[:limit]]


def strip_png(videos: Sequence[tuple[str, str, str, float]], frames: int = 4) -> bytes | None:
    """One row of `frames` frames per video, captioned "true X / pred Y (score)"; None when none can be read."""
    rows = [(v, f) for v in videos if (f := _frames(v[0], frames)) is not None]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), frames, figsize=(1.6 * frames, 1.5 * len(rows)), squeeze=False)
    for r, ((path, true, pred, score), shots) in enumerate(rows):
        for c in range(frames):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(shots):
                ax.imshow(shots[c])
        axes[r, 0].set_title(f"true {true} / pred {pred} ({score:.2f})  {Path(path).name}", fontsize=7, loc="left")
    return png(fig)
