"""Generating a synthetic set on disk (process pool, resumable, completion marker last) and the cached default."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from actionlab.cache import cache_dir
from actionlab.errors import ConfigError
from actionlab.synth import layouts
from actionlab.synth.actions import ACTIONS
from actionlab.synth.encode import write_still, write_video
from actionlab.synth.scene import FPS, ClipSpec, clip_timing, render_clip

VERSION = 2  # bump when the rendering changes, so cached sets are regenerated
MARKER = ".actionlab-synth-complete"
PARAMS = ".actionlab-synth-params"  # written first, so a resumed run never mixes clips of other parameters


def _check(num_clips_per_class: int, size: int, layout: str, container: str) -> None:
    if num_clips_per_class < 1:
        raise ConfigError(None, f"num_clips_per_class must be >= 1, got {num_clips_per_class}")
    if size < 32 or size % 2:
        raise ConfigError(None, f"size must be an even number >= 32 (h264/yuv420p needs even sides), got {size}")
    if layout not in layouts.LAYOUTS:
        raise ConfigError(None, f"unknown layout {layout!r}; choose one of {', '.join(layouts.LAYOUTS)}")
    if container not in ("mp4", "avi"):
        raise ConfigError(None, f"unknown container {container!r}; choose mp4 or avi")


def _claim(out: Path, params: dict) -> None:
    """Record the parameters in `out`, refusing a folder that holds a set made with other ones."""
    path = out / PARAMS
    if path.is_file() and json.loads(path.read_text() or "{}") != params:
        raise ConfigError(
            out, "holds a synthetic set generated with other parameters; delete it or choose another folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    if not path.is_file() and any(out.iterdir()):
        raise ConfigError(out, "is not empty and holds no synthetic set; choose an empty or new folder")
    tmp = path.with_name(path.name + f".part{os.getpid()}")
    tmp.write_text(json.dumps(params))
    os.replace(tmp, path)


def _make(job: tuple[ClipSpec, str, bool]) -> int:
    """Render one clip and write it; returns the number of frames written (1 for a still)."""
    spec, path, still = job
    frames = render_clip(spec)
    if still:
        pick = np.random.default_rng([spec.seed, 104729, spec.label, spec.index, 2]).integers(len(frames))
        write_still(Path(path), frames[pick])
        return 1
    write_video(Path(path), frames, FPS)
    return len(frames)


def _run(jobs: list[tuple[ClipSpec, str, bool]], workers: int) -> None:
    bar = tqdm(total=len(jobs), desc="synth", unit="clip", file=sys.stderr, disable=None)
    if workers <= 1 or len(jobs) < 4:
        for job in jobs:
            _make(job)
            bar.update()
    else:
        # spawn, not fork: a forked copy of a process whose OpenCV/torch thread pools already ran can deadlock
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in pool.map(_make, jobs, chunksize=4):
                bar.update()
    bar.close()


def generate(
    out: str | Path,
    *,
    num_clips_per_class: int = 40,
    size: int = 112,
    seed: int = 0,
    layout: str = "folder",
    container: str | None = None,
    images: bool = False,
    workers: int | None = None,
) -> Path:
    """Write the synthetic action set to `out` in `layout` (or Stanford40 stills with images=True); returns `out`.

    `container` defaults to mp4 (h264) for the folder layout and avi (mpeg4) for ucf101/hmdb51, as the
    official sets. Files already written by an interrupted run are kept; the marker is written last.
    """
    container = container or ("mp4" if layout == "folder" else "avi")
    _check(num_clips_per_class, size, layout, container)
    out = Path(out)
    params = {
        "version": VERSION,
        "num_clips_per_class": num_clips_per_class,
        "size": size,
        "seed": seed,
        "layout": layout,
        "container": container,
        "images": images,
    }
    marker = out / MARKER
    if marker.is_file() and json.loads(marker.read_text() or "{}") == params:
        return out
    _claim(out, params)
    specs = [
        ClipSpec(seed, label, layouts.group_of(i)[0], i, size)
        for label in range(len(ACTIONS))
        for i in range(num_clips_per_class)
    ]
    entries = [layouts.entry(s, layout, container, images) for s in specs]
    for folder in {(out / e.rel).parent for e in entries}:
        folder.mkdir(parents=True, exist_ok=True)
    jobs = [(e.spec, str(out / e.rel), images) for e in entries if not (out / e.rel).is_file()]
    _run(jobs, workers or os.cpu_count() or 1)
    counts = [1 if images else clip_timing(e.spec).num_frames for e in entries]
    if images:
        layouts.write_image_splits(out, entries)
    elif layout == "ucf101":
        layouts.write_ucf_lists(out, entries)
    elif layout == "hmdb51":
        layouts.write_hmdb_splits(out, entries)
    layouts.write_manifest(out, entries, counts)
    tmp = marker.with_name(marker.name + ".part")
    tmp.write_text(json.dumps(params))
    os.replace(tmp, marker)
    return out


def default_params() -> dict[str, Any]:
    """Parameters of the cached default set."""
    return {"num_clips_per_class": 40, "size": 112, "seed": 0}


def synthetic_root() -> Path:
    """The default set (folder layout, mp4) in the cache, generated on first use and reused afterwards."""
    params = default_params()
    key = hashlib.sha1(json.dumps({"version": VERSION, **params}, sort_keys=True).encode()).hexdigest()[:12]
    return generate(cache_dir("synthetic", f"v{VERSION}-{key}"), **params)
