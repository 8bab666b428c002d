"""The timeline figure: class scores over time, segments as coloured bands, time axis in seconds (PNG, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from actionlab.atomic import atomic_write
from actionlab.timeline.result import Timeline

MAX_LINES = 8  # score curves drawn: the segments' classes first, then the highest-scoring others
GREY = (0.85, 0.85, 0.85)


def plotted_classes(tl: Timeline) -> list[int]:
    """Class indices to draw: every class that labels a segment, then the best others, up to MAX_LINES."""
    order = list(dict.fromkeys(tl.classes.index(s.label) for s in tl.segments if s.label in tl.classes))
    best = np.argsort(-tl.scores.max(0), kind="stable") if len(tl.scores) else np.zeros(0, np.int64)
    for c in best.tolist():
        if len(order) >= MAX_LINES:
            break
        if c not in order:
            order.append(c)
    return order


def class_colours(classes: list[str]) -> dict[str, tuple[float, ...]]:
    """A stable colour per class name (tab20 cycled)."""
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {name: cmap(i % 20) for i, name in enumerate(classes)}


def plot_timeline(tl: Timeline, path: str | Path) -> Path:
    """Write the figure to `path` (PNG) atomically; returns the path."""
    colours = class_colours(tl.classes)
    fig = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    bands, curves = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 4]})
    end = max(tl.duration, float(tl.ends[-1]) if len(tl.ends) else 0.0)
    for seg in tl.segments:
        colour = colours.get(seg.label, GREY)
        bands.axvspan(seg.start, seg.end, color=colour)
        curves.axvspan(seg.start, seg.end, color=colour, alpha=0.15, lw=0)
        if seg.end - seg.start > end / 40:
            bands.text((seg.start + seg.end) / 2, 0.5, seg.label, ha="center", va="center", fontsize=8, clip_on=True)
    bands.set_yticks([])
    bands.set_title(
        f"{Path(tl.video).name} — {tl.method} ({Path(tl.run).name}); window {tl.window:.2f} s, "
        f"stride {tl.stride:.2f} s, smooth {tl.smooth}",
        fontsize=9,
    )
    centres = (tl.starts + tl.ends) / 2
    for c in plotted_classes(tl):
        curves.plot(centres, tl.scores[:, c], color=colours[tl.classes[c]], lw=1.4, label=tl.classes[c])
    curves.axhline(tl.threshold, color="0.4", lw=0.8, ls="--", label=f"threshold {tl.threshold:g}")
    curves.set_xlim(0, end or 1.0)
    curves.set_ylim(0, 1.02)
    curves.set_xlabel("time (s)")
    curves.set_ylabel("score")
    curves.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
