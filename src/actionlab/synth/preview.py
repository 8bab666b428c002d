"""A contact sheet of the synthetic set: one labelled row per class, a few frames across one clip."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np

from actionlab.errors import DatasetError
from actionlab.synth.actions import ACTIONS
from actionlab.synth.scene import ClipSpec, render_clip

LABEL_WIDTH = 110


def _rows_from_files(root: Path, per_row: int) -> list[tuple[str, np.ndarray]]:
    from actionlab.video import read_frames  # the only code that opens video files

    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise DatasetError(root, "no manifest.csv here; generate a set first (actionlab synth OUT)")
    with open(manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    first: dict[str, dict[str, str]] = {}
    for row in rows:
        first.setdefault(row["class"], row)
    out = []
    for name, row in first.items():
        n = int(row["num_frames"])
        idx = np.linspace(0, n - 1, per_row).round().astype(int) if n > 1 else np.zeros(1, int)
        out.append((name, read_frames(root / row["path"], idx)))
    return out


def _rows_rendered(per_row: int, size: int, seed: int) -> list[tuple[str, np.ndarray]]:
    out = []
    for label, name in enumerate(ACTIONS):
        frames = render_clip(ClipSpec(seed, label, label % 25 + 1, 0, size))
        out.append((name, frames[np.linspace(0, len(frames) - 1, per_row).round().astype(int)]))
    return out


def preview(
    root_or_out: str | Path | None, png_path: str | Path, *, per_row: int = 8, size: int = 96, seed: int = 0
) -> Path:
    """Write a contact sheet PNG of a generated set (or, with None, of freshly rendered clips); returns its path."""
    if root_or_out is None:
        rows = _rows_rendered(per_row, size, seed)
    else:
        rows = _rows_from_files(Path(root_or_out), per_row)
    tile = rows[0][1].shape[1]
    lines = []
    for name, row_frames in rows:
        frames = [cv2.resize(f, (tile, tile)) for f in row_frames]
        strip = np.concatenate(frames + [np.zeros_like(frames[0])] * (per_row - len(frames)), axis=1)
        label = np.full((tile, LABEL_WIDTH, 3), 255, np.uint8)
        cv2.putText(label, name, (4, tile // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
        lines.append(np.concatenate([label, strip], axis=1))
    sheet = np.concatenate(lines, axis=0)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = png_path.with_name(f".{png_path.stem}.part{os.getpid()}.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise DatasetError(png_path, "cannot write the preview image")
    os.replace(tmp, png_path)
    return png_path
