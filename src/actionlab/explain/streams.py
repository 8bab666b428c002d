"""The explainable streams of a run: for one video, each convolutional stream's inputs as the run's own reader
makes them, how to call the run's network on them, and how their time steps are laid out.

A single-network preset has one stream; two-stream has two ("rgb", "flow"), each explained through the fused
network's score (the other stream's input held fixed). Feature-based presets (features-mlp, features-lstm) have
no convolutional network in the run and are refused in one line; so are joint (several-dataset) runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from actionlab.data.dataset import Sample
from actionlab.errors import ConfigError
from actionlab.explain.target import stages
from actionlab.methods.runs import RunConfig
from actionlab.options import Options
from actionlab.video import probe

LAYOUTS = {
    "frame-cnn": "frame",
    "late-fusion": "2d",
    "lrcn": "2d",
    "clip3d": "3d",
    "c3d": "3d",
    "i3d": "3d",
    "nonlocal": "3d",
    "flow2p1d": "3d",
}


@dataclass
class Stream:
    """One stream of one video: `call(xs (K, *inputs.shape)) -> logits (K, views, C)` on K stacked copies."""

    name: str  # "rgb" or "flow"
    inputs: torch.Tensor  # the reader's output for the video, views axis first
    call: Callable[[torch.Tensor], torch.Tensor]
    layout: str  # "frame" (V, c, H, W) | "2d" (V, T, c, H, W) | "3d" (V, c, T, H, W)
    layers: list[tuple[str, nn.Module]]  # candidate stages, last last: the last with >= 2 x 2 maps is explained
    norm: tuple[tuple[float, ...], tuple[float, ...]] | None  # RGB mean/std; None for flow
    labels: list[str]  # one per time step, in the order of `steps(inputs)`

    def steps(self, x: torch.Tensor) -> torch.Tensor:
        """An input-shaped tensor as time steps (F, c, H, W), in reading order (view after view)."""
        if self.layout == "frame":
            return x
        if self.layout == "2d":
            return x.flatten(0, 1)
        return x.transpose(1, 2).flatten(0, 1)


@dataclass
class LoadedRun:
    """A run rebuilt from its folder (evaluation.load_run) and its deterministic test reader."""

    run_dir: Path
    preset: Any
    model: nn.Module
    options: Options
    config: RunConfig
    reader: Any

    @classmethod
    def load(cls, run_dir: str | Path) -> LoadedRun:
        """load_run(run_dir) plus the preset's test reader; ConfigError for runs without a conv stream."""
        from actionlab.methods.evaluation import load_run

        run_dir = Path(run_dir)
        preset, model, o, rc = load_run(run_dir)
        if rc.datasets:
            raise ConfigError(run_dir, "explain does not support joint (several-dataset) runs")
        if rc.method not in LAYOUTS and rc.method != "two-stream":
            raise ConfigError(
                run_dir,
                f"{rc.method} has no convolutional network in the run (it learns on "
                "stored features); explain applies to frame, clip, flow and two-stream runs",
            )
        for p in model.parameters():
            p.requires_grad_(False)  # gradients are wanted w.r.t. inputs and maps only
        return cls(run_dir, preset, model.eval(), o, rc, preset.reader(o, rc.classes, False, run_dir, rc.extra))

    def streams(self, path: Path) -> list[Stream]:
        """The video's streams (reading it raises VideoError/FeatureError for an unreadable file)."""
        x, _ = self.reader(Sample(Path(path), 0), None)
        if self.config.method != "two-stream":
            model = self.model
            call = lambda xs: model(xs.flatten(0, 1)).unflatten(0, xs.shape[:2])
            kind = "flow" if self.config.method == "flow2p1d" else "rgb"
            return [_stream(kind, x, call, LAYOUTS[self.config.method], model, self.reader, path)]
        return self._two_stream(x, path)

    def _two_stream(self, pair: tuple[torch.Tensor, torch.Tensor], path: Path) -> list[Stream]:
        from actionlab.methods.two_stream import stream_records

        model: Any = self.model
        records, o = stream_records(self.config.extra), cast(Any, self.options)
        rgb, flow = pair[0][0], pair[1][0]  # drop the pair's outer views axis (1)
        mid = o.level == "mid"
        out = []
        for role, x, other in (("rgb", rgb, flow), ("flow", flow, rgb)):

            def call(xs: torch.Tensor, role: str = role, other: torch.Tensor = other) -> torch.Tensor:
                rest = other.expand(len(xs), *other.shape)
                held = "flow" if role == "rgb" else "rgb"
                with _held(getattr(model, held), other, o.fusion_stage if mid else None):
                    logits = model(xs, rest) if role == "rgb" else model(rest, xs)
                return logits[:, None]

            stream = getattr(model, role)
            layers = [(f"{role}.net.{n}", m) for n, m in stages(stream.net)]
            if mid:  # the fused maps come from stages up to this one: later stages never run
                k = o.fusion_stage
                layers = [(f"{role}.net.stages.{i}", m) for i, m in enumerate(stream._staged().stages[: k + 1])]
            reader = getattr(self.reader, role)
            out.append(_stream(role, x, call, LAYOUTS[records[role].method], stream.net, reader, path, layers))
        return out


@contextmanager
def _held(stream: Any, x: torch.Tensor, stage: int | None) -> Iterator[None]:
    """The other stream's features (or stage maps) computed once for its fixed input and served to every
    stacked copy, instead of running that network again for each of them."""
    with torch.no_grad():
        out = stream.forward_features(x[None]) if stage is None else stream.forward_maps(x[None], stage)
    name = "forward_features" if stage is None else "forward_maps"
    setattr(stream, name, lambda inp, *_: out.expand(len(inp), *out.shape[1:]))
    try:
        yield
    finally:
        delattr(stream, name)  # the instance attribute goes; the class's method shows again


def _stream(
    role: str,
    x: torch.Tensor,
    call: Callable,
    layout: str,
    net: nn.Module,
    reader: Any,
    path: Path,
    layers: list[tuple[str, nn.Module]] | None = None,
) -> Stream:
    stream = Stream(
        role, x, call, layout, layers or stages(net), getattr(reader, "norm", None) if role == "rgb" else None, []
    )
    count = len(stream.steps(x))
    stream.labels = _labels(reader, path, role, count)
    return stream


def _labels(reader: Any, path: Path, role: str, count: int) -> list[str]:
    """ "frame 12" per RGB step, "flow 10-12" per flow field (frame numbers of a full decode)."""
    n = probe(path).num_frames
    if role == "rgb" and getattr(reader, "indices", None) is not None:
        idx = np.asarray(reader.indices(n, None)).reshape(-1)
        if len(idx) == count:
            return [f"frame {i}" for i in idx]
    extractor = getattr(reader, "extractor", None)
    if extractor is not None:
        idx = np.asarray(extractor.sampler.sample(n)).reshape(-1)
        if len(idx) == count + 1:
            return [f"flow {a}-{b}" for a, b in zip(idx[:-1], idx[1:])]
    return [f"{role} {i}" for i in range(count)]
