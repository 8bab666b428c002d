"""flow2p1d: the residual (2+1)D network on L stacked optical-flow fields (2 x L channels), workflow B's motion stream.

Flow comes from the features package's FlowExtractor (DIS by default, `flow=farneback`) on a FlowWindowSampler
window (L pairs every `flow_step`-th frame around the middle; every frame when the video is too short). It is
deterministic per video, so it is computed once and served from a bounded on-disk cache (actionlab.cache) to
every epoch and every method of a compare; training varies it by shift and a flip that negates dx.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.cache import cached_array
from actionlab.data.dataset import Sample
from actionlab.features.base import config_hash
from actionlab.features.flow import METHODS, FlowExtractor, dequantize_flow
from actionlab.methods.base import register_method
from actionlab.methods.options import TrainOptions, TransferOptions
from actionlab.methods.preset import Preset
from actionlab.models.registry import create_model
from actionlab.options import opt
from actionlab.transforms import flip_label_map
from actionlab.transforms.augment import Augment

# Flow is clipped at +-BOUND px: at the 48-112 px this method trains on, real motion between two sampled frames
# stays well inside it, and a small bound keeps the uint8 quantisation step (2*BOUND/255 px) fine.
BOUND = 8.0
# Dividing by this puts typical flow values near unit scale for the network.
SCALE = 2.0


@dataclass(frozen=True)
class FlowOptions(TransferOptions, TrainOptions):
    """flow2p1d."""

    flow: str = opt("dis", "optical flow algorithm (OpenCV)", choices=METHODS)
    num_flows: int = opt(16, "flow fields stacked per video (2 channels each)", low=1)
    flow_step: int = opt(2, "frames between the two images of a flow field (1 when the video is too short)", low=1)
    size: int = opt(64, "frames are resized to size x size before the flow is computed", low=16)
    flip: bool = opt(True, "random horizontal flip in training (negates dx; left/right class names swap)")
    shift: int = opt(4, "random translation in training, up to this many pixels", low=0)
    width: int = opt(
        8,
        "channels of the first stage (flow is a simpler signal than RGB: half clip3d's width "
        "is ~3x faster at equal accuracy)",
        low=4,
    )
    dropout: float = opt(0.0, "dropout before the classifier", low=0, high=0.95)
    epochs: int = opt(15, "training epochs (the schedule spans them)", low=1)


def flow_extractor(o: Any) -> FlowExtractor:
    """The FlowExtractor the options ask for (square frames of `size` px so every video stacks)."""
    return FlowExtractor(o.flow, num_flows=o.num_flows, step=o.flow_step, size=(o.size, o.size), bound=BOUND)


def video_flow(path: str | Path, extractor: FlowExtractor) -> np.ndarray:
    """uint8 quantised flow (L, H, W, 2) of one video, cached on disk keyed by file and extractor config."""
    path = Path(path)
    return cached_array(path, "flow", config_hash(extractor.config), lambda: extractor.transform(path).values)


def flow_tensor(flows: np.ndarray) -> torch.Tensor:
    """uint8 flow (..., L, H, W, 2) -> float (..., 2, L, H, W) in units of SCALE pixels."""
    x = torch.from_numpy(dequantize_flow(np.ascontiguousarray(flows), BOUND) / SCALE)
    return x.movedim(-1, -4).contiguous()


@dataclass(frozen=True)
class FlowReader:
    """One video's cached flow as (1, 2, L, S, S); augmented in training."""

    extractor: FlowExtractor
    augment: Augment | None = None

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[torch.Tensor, int]:
        x = flow_tensor(video_flow(sample.path, self.extractor))  # (2, L, H, W)
        label = sample.label
        if self.augment is not None and rng is not None:
            x, label = self.augment(x.transpose(0, 1), label, rng)  # Augment wants (..., 2, H, W)
            x = x.transpose(0, 1)
        return x[None].contiguous(), label


class Flow2P1D(Preset[FlowOptions]):
    """r2plus1d-small with in_channels=2 on (2, L, H, W) stacked flow."""

    name = "flow2p1d"
    description = "residual (2+1)D CNN on stacked optical-flow fields (flow=dis|farneback, num_flows)"
    temporal = True
    Options = FlowOptions

    def build(self, o: FlowOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return create_model("r2plus1d-small", num_classes=num_classes, in_channels=2, width=o.width, dropout=o.dropout)

    def reader(
        self, o: FlowOptions, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]
    ) -> FlowReader:
        augment = Augment(flip=o.flip, label_flip=flip_label_map(classes), shift=o.shift, color=False, flow=True)
        return FlowReader(flow_extractor(o), augment if train else None)

    def check_sample(self, o: FlowOptions, run_dir: Path, extra: dict[str, Any]):
        """Computing (and caching) the flow is the check: a video whose window cannot be read is skipped."""
        ex = flow_extractor(o)
        return lambda s: video_flow(s.path, ex)


FLOW2P1D = register_method(Flow2P1D())
