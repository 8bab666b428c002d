"""predict --timeline: slide a run's own input window over a whole video, batch the windows through its network.

Window geometry: a window of `window` seconds starts every `stride` seconds; the last one is moved back to end
with the video so its tail is covered. Defaults come from the run: a sampler that covers a fixed span by itself
(a dense clip of `frames` x `stride`, a flow window of `num_flows` x `flow_step`) gives that span; samplers that
spread over the whole video (segments, single frames, stored features) get DEFAULT_WINDOW seconds. The stride
defaults to half a window. Scores per window are the preset's "video" view, as `predict` reports per file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import actionlab.training.progress as stderr_progress
from actionlab.errors import ConfigError, VideoError
from actionlab.methods.evaluation import AllHeads, load_run, make_reader
from actionlab.methods.inputs import collate_test
from actionlab.options import Options, opt
from actionlab.timeline.inputs import WindowPlan, natural_span, plan_window
from actionlab.timeline.result import Timeline
from actionlab.timeline.segments import merge_segments, smooth
from actionlab.timeline.stream import DecodeState, stream_windows
from actionlab.training.trainer import call_model, resolve_device, to_device
from actionlab.video import probe

DEFAULT_WINDOW = 2.0  # seconds: one short action (the synthetic clips last 2-4 s); --window sets it per video


@dataclass(frozen=True)
class TimelineOptions(Options):
    """predict --timeline settings (None: from the run, see the module docstring)."""

    window: float | None = opt(None, "seconds per window (default: the run's own input span, else 2 s)", low=1e-3)
    stride: float | None = opt(None, "seconds between window starts (default: half a window)", low=1e-3)
    smooth: int = opt(
        3, "windows in the centred moving average of the scores before segments are merged (1: none)", low=1
    )
    threshold: float = opt(0.5, "a smoothed best score below this makes the window background", low=0, high=1)
    top_k: int = opt(5, "labels with scores kept per window", low=1)
    batch_size: int | None = opt(None, "windows per forward pass (default: the run's batch_size)", low=1)
    device: str | None = opt(None, "cpu, cuda, cuda:N or auto (default: the run's device option)")

    def check(self) -> None:
        """A known device spelling."""
        super().check()
        if self.device is not None and self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ConfigError(None, f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}")


@dataclass(frozen=True)
class Geometry:
    """Window starts in frames, the span of each, and the seconds they stand for."""

    fps: float
    span: int
    starts: np.ndarray
    window: float
    stride: float
    notes: tuple[str, ...] = ()


def geometry(num_frames: int, fps: float, natural: int | None, t: TimelineOptions) -> Geometry:
    """Where the windows go (module docstring)."""
    notes = []
    window = t.window if t.window is not None else (natural / fps if natural else DEFAULT_WINDOW)
    span = max(1, int(np.floor(window * fps + 0.5)))  # half up (round() halves to even)
    if span > num_frames:
        notes.append(
            f"the video ({num_frames} frames) is shorter than one window ({span} frames): one window "
            "over the whole video"
        )
        span = num_frames
    stride = t.stride if t.stride is not None else window / 2
    step = max(1, int(np.floor(stride * fps + 0.5)))
    starts = np.arange(0, num_frames - span + 1, step, dtype=np.int64)
    if starts[-1] + span < num_frames:
        starts = np.append(starts, num_frames - span)  # the tail gets a window ending with the video
    return Geometry(fps, span, starts, span / fps, step / fps, tuple(notes))


def device_options(o: Any, device: str | None) -> Any:
    """The run's options with `device` in place of its own (feature presets build their extractor from it)."""
    if device is None or "device" not in o.names():
        return o
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(None, f"--device {device}: no CUDA device is available here (use cpu or auto)")
    return o.replace(device=device)


@torch.inference_mode()
def window_scores(preset: Any, o: Any, model: torch.nn.Module, items: list[Any], device: torch.device) -> np.ndarray:
    """The preset's video-level scores (B, C) of a batch of window inputs (each with its views axis)."""
    x, _, _ = collate_test([(it, 0) for it in items])
    x = to_device(x, device)
    first = x[0] if isinstance(x, tuple) else x
    b, v = first.shape[:2]
    flat = tuple(p.flatten(0, 1) for p in x) if isinstance(x, tuple) else x.flatten(0, 1)
    probs = torch.softmax(call_model(model, flat).float(), 1).reshape(b, v, -1).cpu().numpy()
    return preset.views(o, probs)["video"]


def predict_timeline(
    run_dir: str | Path, video: str | Path, t: TimelineOptions | None = None, progress: bool = True
) -> Timeline:
    """The timeline of `video` under the run in `run_dir` (see the module docstring)."""
    t = t or TimelineOptions.build({})
    run_dir, video = Path(run_dir), Path(video)
    info = probe(video)
    if info.is_image or info.num_frames < 1:
        raise ConfigError(video, "a still image has no timeline: predict it without --timeline")
    preset, model, o, rc = load_run(run_dir)
    model_any: Any = model
    o = device_options(o, t.device)
    reader = make_reader(preset, o, rc.classes, False, run_dir, rc.extra, rc.datasets)
    if rc.datasets:
        model = AllHeads(model_any)  # as predict does: every head's scores over the joint label space
    fps = info.fps if info.fps > 0 else 25.0
    geo = geometry(info.num_frames, fps, natural_span(reader), t)
    plan = plan_window(reader, geo.span)
    device = resolve_device(o.device if "device" in o.names() else "auto")
    scores, state = _run_windows(
        preset, o, model.to(device).eval(), plan, video, info.num_frames, geo, t, device, progress
    )
    notes = list(geo.notes)
    if len(scores) < len(geo.starts):
        notes.append(f"{state.damage}: {len(scores)} of {len(geo.starts)} windows scored")
    if not len(scores):
        raise VideoError(video, f"no window could be scored ({state.damage})")
    tl = _timeline(rc, run_dir, video, info, geo, t, scores, notes)
    tl.peak_frames = state.peak_frames
    return tl


def _run_windows(
    preset: Any,
    o: Any,
    model: torch.nn.Module,
    plan: WindowPlan,
    video: Path,
    num_frames: int,
    geo: Geometry,
    t: TimelineOptions,
    device: torch.device,
    progress: bool,
) -> tuple[np.ndarray, DecodeState]:
    """Scores (windows, C) of every window that decoded, in order; the decode's state."""
    batch = int(t.batch_size or getattr(o, "batch_size", None) or 8)
    state, items, parts = DecodeState(), [], []
    bar = stderr_progress.Bar(num_frames, f"timeline {video.name}", enabled=progress)
    start = time.perf_counter()

    def rate() -> str:
        seen = bar.done / geo.fps
        speed = seen / max(time.perf_counter() - start, 1e-9)
        return f"{seen:.1f}/{num_frames / geo.fps:.1f} s of video, {speed:.1f}x real time"

    try:
        for _, frames in stream_windows(
            video,
            num_frames,
            geo.starts,
            geo.span,
            plan.needs,
            state,
            lambda done: bar.step(lambda: f"frames ({rate()})", done - bar.done),
        ):
            items.append(plan.build(frames))
            if len(items) >= batch:
                parts.append(window_scores(preset, o, model, items, device))
                items = []
        if items:
            parts.append(window_scores(preset, o, model, items, device))
    finally:
        long = time.perf_counter() - start > stderr_progress.PLAIN_INTERVAL  # a short file needs no summary
        bar.close(f"timeline {video.name}: {rate()}" if long else None)
    return (np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)), state


def _timeline(
    rc: Any,
    run_dir: Path,
    video: Path,
    info: Any,
    geo: Geometry,
    t: TimelineOptions,
    scores: np.ndarray,
    notes: list[str],
) -> Timeline:
    starts = geo.starts[: len(scores)] / geo.fps
    ends = (geo.starts[: len(scores)] + geo.span) / geo.fps
    duration = info.num_frames / geo.fps
    smoothed = smooth(scores, t.smooth)
    segments = merge_segments(smoothed, starts, ends, duration, rc.classes, t.threshold)
    return Timeline(
        str(video),
        str(run_dir),
        rc.method,
        list(rc.classes),
        float(geo.fps),
        duration,
        round(geo.window, 4),
        round(geo.stride, 4),
        t.smooth,
        t.threshold,
        starts,
        ends,
        scores,
        smoothed,
        segments,
        notes,
    )
