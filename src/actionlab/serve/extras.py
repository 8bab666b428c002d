"""Optional sections of the page: the timeline plot of a long video, and a Grad-CAM strip.

Each is shown when its feature is installed in this actionlab (actionlab.timeline, actionlab.explain.strip);
when one fails for an upload the page says so in one line instead of failing the request. PNGs are written
into the upload's temporary folder, read back as base64 and removed.
"""

from __future__ import annotations

import base64
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from actionlab.errors import ActionlabError
from actionlab.serve.page import Extra

LONG_SECONDS = 10.0  # a video longer than this gets a timeline (shorter ones are one action, as trained)


def _png(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _has(module: str, attr: str | None = None) -> bool:
    """Whether `module` (and its `attr`) exists, without importing anything heavy when it does not."""
    if importlib.util.find_spec(module) is None:
        return False
    return attr is None or hasattr(importlib.import_module(module), attr)


def timeline_extra(run_dir: Path, video: Path, folder: Path) -> Extra | None:
    """The class-scores-over-time plot of a long video, or None for a short one."""
    from actionlab.timeline import TimelineOptions, predict_timeline, write_outputs
    from actionlab.video import probe

    if probe(video).duration <= LONG_SECONDS:
        return None
    tl = predict_timeline(run_dir, video, TimelineOptions.build({"device": "cpu"}), progress=False)
    png = folder / "timeline.png"
    write_outputs(tl, None, None, png, 5)
    text = "; ".join(f"{s.label} {s.start:.1f}-{s.end:.1f} s" for s in tl.segments[:12])
    return Extra("Timeline", _png(png), f"segments: {text}" if text else "")


def strip_extra(run_dir: Path, video: Path, folder: Path) -> Extra:
    """Sampled frames and their Grad-CAM overlays for the predicted class."""
    from actionlab.explain import strip

    png = strip(run_dir, [video], folder / "gradcam.png", max_videos=1, frames=4)
    return Extra("Grad-CAM (where the network looks for the predicted class)", _png(Path(png)))


def page_extras(predictor: Any, video: Path, workdir: Path) -> list[Extra]:
    """The sections this actionlab offers for `video`, each a PNG or a one-line reason it is missing."""
    makers = []
    if _has("actionlab.timeline"):
        makers.append(("Timeline", timeline_extra))
    if _has("actionlab.explain", "strip"):
        makers.append(("Grad-CAM", strip_extra))
    extras = []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="extras-") as tmp:
        for title, make in makers:
            try:
                extra = make(predictor.run_dir, video, Path(tmp))
            except (ActionlabError, OSError, ValueError, RuntimeError) as err:
                extra = Extra(title, text=f"not available for this video: {str(err).splitlines()[0][:200]}")
            if extra is not None:
                extras.append(extra)
    return extras
