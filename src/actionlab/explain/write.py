"""Files from explanations: `explain_run` (grid PNGs + index.html, what `actionlab explain` writes) and `strip`
(one Grad-CAM strip PNG for the compare report)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from actionlab.atomic import write_json
from actionlab.errors import VideoError
from actionlab.explain.maps import METHODS
from actionlab.explain.page import PageEntry, render_page, write_page
from actionlab.explain.render import cell_size, grid, strip_row, text, tiles, write_png
from actionlab.explain.video import Explainer, VideoExplanation
from actionlab.methods.inputs import READ_ERRORS


@dataclass
class ExplainResult:
    """What explain_run wrote: the page (None when no video could be explained), a grid per video, errors."""

    out_dir: Path
    page: Path | None
    pngs: dict[str, Path] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    explanations: list[VideoExplanation] = field(default_factory=list)


def _reason(err: Exception) -> str:
    return getattr(err, "reason", None) or str(err) or type(err).__name__


def _png_name(i: int, path: Path) -> str:
    return f"{i:03d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', path.stem)[:60]}.png"


def explain_run(
    run_dir: str | Path,
    videos: Sequence[str | Path],
    out_dir: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    target: str | None = None,
    frames: int | None = 8,
    shifts: int = 16,
    progress: bool = False,
) -> ExplainResult:
    """One grid PNG per readable video and an index.html in out_dir; unreadable videos are listed, not fatal."""
    explainer = Explainer(run_dir, methods, target, frames, shifts)
    out_dir = Path(out_dir)
    result, entries = ExplainResult(out_dir, None), []
    for i, video in enumerate(map(Path, videos)):
        try:
            e = explainer.explain(video)
        except READ_ERRORS as err:
            result.errors[str(video)] = _reason(err)
            entries.append(PageEntry(str(video), error=_reason(err)))
            continue
        title = f"{video.name}: explaining {e.classes[e.target]}   top-1 {e.top(1)[0][0]} {e.top(1)[0][1]:.3f}"
        png = write_png(out_dir / _png_name(i, video), grid(title, e.streams))
        result.pngs[str(video)], result.explanations = png, result.explanations + [e]
        entries.append(PageEntry(str(video), png.name, e.classes[e.target], e.top(5)))
        if progress:
            print(f"explain: {i + 1}/{len(videos)} {video.name} -> {png}", file=sys.stderr)
    if result.explanations:
        first = result.explanations[0].streams
        rows = {m: " and ".join(s.layer for s in first) for m in METHODS if m in methods}
        html = render_page(str(run_dir), explainer.run.config.method, entries, rows, shifts)
        result.page = write_page(out_dir / "index.html", html)
        write_json(out_dir / "explain.json", _record(run_dir, explainer, result, entries))
    return result


def _record(run_dir: str | Path, explainer: Explainer, result: ExplainResult, entries: list[PageEntry]) -> dict:
    """explain.json: the settings used and, per video, its PNG, explained class and top-5 (or its error)."""
    return {
        "run": str(run_dir),
        "method": explainer.run.config.method,
        "maps": list(explainer.methods),
        "class": None if explainer.target is None else explainer.run.config.classes[explainer.target],
        "frames": explainer.frames,
        "shifts": explainer.shifts,
        "layers": {s.name: s.layer for s in result.explanations[0].streams},
        "videos": [
            {"video": e.video, "png": e.png, "explained": e.target, "top5": e.top, "error": e.error} for e in entries
        ],
    }


def strip(
    run_dir: str | Path,
    videos: Sequence[str | Path],
    out_png: str | Path,
    *,
    true_labels: Sequence[str] | None = None,
    max_videos: int = 6,
    frames: int = 4,
) -> Path:
    """Per video a caption, a row of frames and a row of Grad-CAM overlays (predicted class); see the package doc."""
    explainer = Explainer(run_dir, ("gradcam",), None, frames, 1)
    blocks: list[np.ndarray] = []
    for i, video in enumerate(map(Path, videos)):
        if len(blocks) >= max_videos:
            break
        try:
            e = explainer.explain(video)
        except READ_ERRORS:
            continue  # the report lists unreadable videos elsewhere; the strip shows the readable ones
        blocks.append(_strip_block(e, None if true_labels is None else true_labels[i]))
    if not blocks:
        raise VideoError(Path(videos[0]) if videos else Path(run_dir), "no video could be explained for the strip")
    width = max(b.shape[1] for b in blocks)
    image = np.concatenate([np.pad(b, ((0, 6), (0, width - b.shape[1]), (0, 0)), constant_values=255) for b in blocks])
    return write_png(out_png, image)


def _strip_block(e: VideoExplanation, true: str | None) -> np.ndarray:
    maps = e.streams[0]
    side = cell_size(maps.frames, 80)
    rows = [strip_row(tiles(maps, "frames"), side), strip_row(tiles(maps, "gradcam"), side)]
    block = np.full((20 + 2 * side + 2, max(rows[0].shape[1], 360), 3), 255, np.uint8)
    pred, score = e.top(1)[0]
    caption = f"{e.path.name[:40]}  " + (f"true: {true}  " if true is not None else "") + f"pred: {pred} {score:.2f}"
    wrong = true is not None and true != pred
    text(block, caption, 2, 14, 0.4, (190, 0, 0) if wrong else (20, 20, 20))
    block[20 : 20 + side, : rows[0].shape[1]] = rows[0]
    block[22 + side : 22 + 2 * side, : rows[1].shape[1]] = rows[1]
    return block
