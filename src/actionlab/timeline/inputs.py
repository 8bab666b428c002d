"""Window inputs: a run's own test reader fed one window's decoded frames instead of a file.

A window of `span` frames is read as a video of `span` frames: the reader's own index plan (or its extractor's
sampler) picks the frames inside it, decoded at the reader's own size, and the reader's own transform (or
extractor, or flow code) turns them into the model's inputs. A window's scores are therefore what `predict`
gives a file that holds exactly those frames. Each reader kind of methods/ has one planner here; a reader this
module does not know is a ConfigError, never a guess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actionlab.data.dataset import Sample
from actionlab.errors import ConfigError
from actionlab.features.sift import SiftBowExtractor
from actionlab.features.torchbase import TorchExtractor
from actionlab.methods.features_lstm import SequenceReader
from actionlab.methods.features_mlp import PooledReader
from actionlab.methods.flow import FlowReader, flow_tensor
from actionlab.methods.inputs import FrameReader, JointReader
from actionlab.methods.sampling_plans import ClipPlan
from actionlab.methods.two_stream import PairReader, fit_views
from actionlab.video.reader import Size

WINDOW_SAMPLE = Sample(Path("<timeline window>"), 0)


@dataclass(frozen=True)
class Need:
    """Frames one part of a window's input reads: offsets from the window's first frame, decoded at `size`."""

    size: Size
    offsets: np.ndarray  # int64, any shape; delivered flattened, in this order


@dataclass(frozen=True)
class WindowPlan:
    """What a window of `span` frames needs decoded, and how those frames become one model input."""

    span: int
    needs: list[Need]
    build: Callable[[list[np.ndarray]], Any]  # one (offsets.size, H, W, 3) array per need -> inputs (V, ...)


def plan_window(reader: Any, span: int) -> WindowPlan:
    """The WindowPlan of `reader` (a preset's test reader) for windows of `span` frames."""
    for kind, planner in PLANNERS:
        if isinstance(reader, kind):
            return planner(reader, span)
    raise ConfigError(None, f"predict --timeline cannot feed windows to a {type(reader).__name__}")


def natural_span(reader: Any) -> int | None:
    """Frames the reader's sampler covers by itself (a dense clip, a flow window); None when it spreads over
    the whole video (segments, single frames, stored features): then the window is a duration."""
    if isinstance(reader, FrameReader):
        plan = reader.indices
        if isinstance(plan, ClipPlan) and plan.sampling == "dense" and plan.count > 1:
            return (plan.count - 1) * plan.stride + 1
        return None
    if isinstance(reader, FlowReader):
        sampler = reader.extractor.sampler
        return sampler.num_flows * sampler.step + 1
    if isinstance(reader, PairReader):
        rgb = natural_span(reader.rgb)  # a whole-video RGB sampler makes the pair's window a duration too
        return None if rgb is None else max(rgb, natural_span(reader.flow) or 1)
    if isinstance(reader, JointReader):
        return natural_span(reader.reader)
    return None


def _frames(reader: FrameReader, span: int) -> WindowPlan:
    idx = np.asarray(reader.indices(span, None), dtype=np.int64)
    return WindowPlan(
        span, [Need((reader.size, reader.size), idx)], lambda frames: reader.transform(frames[0], idx, 0)[0]
    )


def _flow(reader: FlowReader, span: int) -> WindowPlan:
    ex = reader.extractor
    idx = np.asarray(ex.sampler.sample(span), dtype=np.int64)
    # the reader's own path at test: flow_tensor of the quantised fields, one view
    return WindowPlan(
        span, [Need(ex.size, idx)], lambda frames: flow_tensor(ex.flow_fields(frames[0]))[None].contiguous()
    )


@dataclass(frozen=True)
class WindowValues:
    """A feature source holding one window's extracted rows (stands in for the run's StoredFeatures)."""

    rows: np.ndarray

    def values(self, path: Path) -> tuple[np.ndarray, str | None]:
        """(float32 rows, no stored split)."""
        return np.asarray(self.rows, np.float32), None


def extract_rows(ex: Any, frames: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The extractor's feature rows for frames already decoded at its size and sampled at `idx`."""
    if isinstance(ex, TorchExtractor):
        return ex.compute((frames.reshape(*idx.shape, *frames.shape[1:]), idx, 0.0)).values
    if isinstance(ex, SiftBowExtractor):
        return ex.bag(ex.frame_descriptors(frames), idx, 0.0).values
    raise ConfigError(None, f"predict --timeline cannot extract {ex.config.get('name')} features from frames")


def _features(reader: PooledReader | SequenceReader, span: int) -> WindowPlan:
    ex: Any = reader.source.extractor()  # cnn2d, cnn3d and sift-bow all carry a `sampler` and a `size`
    idx = np.asarray(ex.sampler.sample(span), dtype=np.int64)
    side = ex.size
    size = (side, side) if isinstance(ex, TorchExtractor) else side  # sift-bow: the short side, as it reads

    def build(frames: list[np.ndarray]) -> Any:
        changes: dict[str, Any] = {"source": WindowValues(extract_rows(ex, frames[0], idx))}
        if isinstance(reader, PooledReader):
            changes["_cache"] = {}  # its per-path cache would hand every window the first window's vector
        return dataclasses.replace(reader, **changes)(WINDOW_SAMPLE, None)[0]

    return WindowPlan(span, [Need(size, idx)], build)


def _pair(reader: PairReader, span: int) -> WindowPlan:
    rgb, flow = plan_window(reader.rgb, span), plan_window(reader.flow, span)
    cut = len(rgb.needs)

    def build(frames: list[np.ndarray]) -> Any:
        x_rgb, x_flow = rgb.build(frames[:cut]), flow.build(frames[cut:])
        return fit_views(x_rgb, reader.rgb_views)[None], x_flow[None]  # PairReader's own shapes

    return WindowPlan(span, rgb.needs + flow.needs, build)


def _joint(reader: JointReader, span: int) -> WindowPlan:
    inner = plan_window(reader.reader, span)

    def build(frames: list[np.ndarray]) -> Any:
        x = inner.build(frames)
        ids = torch.zeros(len(x[0] if isinstance(x, tuple) else x), dtype=torch.int64)
        return (*x, ids) if isinstance(x, tuple) else (x, ids)

    return WindowPlan(span, inner.needs, build)


PLANNERS: tuple[tuple[type, Callable[[Any, int], WindowPlan]], ...] = (
    (FrameReader, _frames),
    (FlowReader, _flow),
    (PooledReader, _features),
    (SequenceReader, _features),
    (PairReader, _pair),
    (JointReader, _joint),
)
