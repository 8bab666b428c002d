"""2D presets: frame-cnn (single frames), late-fusion (N segments, scores averaged), lrcn (CNN + LSTM)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from torch import nn

from actionlab.errors import ConfigError
from actionlab.methods.base import register_method
from actionlab.methods.inputs import IMAGENET, FrameReader
from actionlab.methods.options import FrameOptions, TrainOptions, TransferOptions
from actionlab.methods.preset import Preset
from actionlab.methods.sampling_plans import ClipPlan, FramesPlan
from actionlab.models.registry import create_model
from actionlab.options import opt
from actionlab.transforms import flip_label_map
from actionlab.transforms.augment import Augment

SMALL_2D = "resnet-small"


def backbones_2d() -> list[str]:
    """2D image classifiers a preset can use: resnet-small and the wrapped torchvision ones."""
    import actionlab.models.cnn2d  # noqa: F401  (registers)
    from actionlab.models.cnn2d import _TV_2D

    return [SMALL_2D, *sorted(_TV_2D)]


@dataclass(frozen=True)
class Backbone2DOptions(FrameOptions, TransferOptions, TrainOptions):
    """A 2D backbone on decoded frames."""

    backbone: str = opt(SMALL_2D, "2D network: resnet-small (from scratch, CPU-sized) or a torchvision classifier")
    width: int = opt(16, "resnet-small: channels of the first stage", low=4)
    dropout: float = opt(0.0, "dropout before the classifier", low=0, high=0.95)

    def check(self) -> None:
        """A known backbone; width only for resnet-small."""
        super().check()
        if self.backbone not in backbones_2d():
            raise ConfigError(None, f"backbone must be one of {', '.join(backbones_2d())}, not {self.backbone!r}")
        if self.given("width") and self.backbone != SMALL_2D:
            raise ConfigError(None, f"width applies to backbone={SMALL_2D} only, not {self.backbone!r}")


def width_kw(o: Backbone2DOptions) -> dict[str, Any]:
    """The backbone's own keyword arguments: width for resnet-small, none for torchvision's."""
    return {"width": o.width} if o.backbone == SMALL_2D else {}


def backbone_2d(o: Backbone2DOptions, num_classes: int) -> nn.Module:
    """The 2D network the options name, with `num_classes` outputs."""
    return create_model(o.backbone, num_classes=num_classes, dropout=o.dropout, **width_kw(o))


def frame_augment(o: FrameOptions, classes: list[str]) -> Augment:
    """The training augmentation the frame options ask for (flip mirrors left/right class names)."""
    return Augment(
        flip=o.flip,
        label_flip=flip_label_map(classes),
        rotation=o.rotation,
        crop_scale=o.crop_scale,
        shift=o.shift,
        color=o.color,
    )


B = TypeVar("B", bound=Backbone2DOptions)


class _TwoD(Preset[B]):
    def pretrained_arch(self, o: B) -> str | None:
        return None if o.backbone == SMALL_2D else o.backbone


@dataclass(frozen=True)
class FrameCNNOptions(Backbone2DOptions):
    """frame-cnn."""

    # one frame per video per epoch: several frames of one video in a batch are nearly the same example, and
    # measured on a synthetic UCF101-layout set, 48 epochs of 1 frame gave 0.62 top-1 where 12 of 4 gave 0.10.
    # 20 epochs keep `compare frame-cnn,clip3d` near 3 minutes on 2 cores; more epochs still gain.
    frames_per_video: int = opt(1, "training: distinct random frames of each video per epoch", low=1)
    batch_size: int = opt(32, "frames per optimisation step (batch_size // frames_per_video videos)", low=1)
    epochs: int = opt(
        20,
        "training epochs (the schedule spans them; 48 reach the plateau on the synthetic "
        "set, 20 keep a compare with clip3d near 3 minutes)",
        low=1,
    )


class FrameCNN(_TwoD[FrameCNNOptions]):
    """A 2D CNN on single frames; the middle frame at test and the late-fusion view over `frames` frames."""

    name = "frame-cnn"
    description = "2D CNN on single frames; single-frame (middle) and late-fusion views at test"
    temporal = False
    Options = FrameCNNOptions

    def build(self, o: FrameCNNOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return backbone_2d(o, num_classes)

    def reader(
        self, o: FrameCNNOptions, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]
    ) -> FrameReader:
        return FrameReader(
            FramesPlan(o.frames, o.frames_per_video),
            o.size,
            "frame",
            IMAGENET,
            frame_augment(o, classes) if train else None,
        )

    def loader_batch(self, o: FrameCNNOptions) -> int:
        """batch_size counts frames: each video brings frames_per_video of them."""
        return max(1, o.batch_size // o.frames_per_video)

    def views(self, o: FrameCNNOptions, probs: np.ndarray) -> dict[str, np.ndarray]:
        """single_frame: the middle frame; video: the mean over the segment frames."""
        video = probs[:, 1:].mean(1) if probs.shape[1] > 1 else probs[:, 0]
        return {"video": video, "single_frame": probs[:, 0]}


@dataclass(frozen=True)
class SegmentOptions(Backbone2DOptions):
    """Segments of a video through a shared 2D CNN."""

    frames: int = opt(5, "segments per video: one frame each (random within its segment in training)", low=1)
    test_clips: int = opt(1, "test: views (segment offsets) averaged per video", low=1)


S = TypeVar("S", bound=SegmentOptions)


class _Segments(_TwoD[S]):
    """N segments per video through a 2D CNN: the reader late-fusion and lrcn share."""

    def reader(self, o: S, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]) -> FrameReader:
        return FrameReader(
            ClipPlan(o.frames, "segments", test_clips=o.test_clips),
            o.size,
            "2d",
            IMAGENET,
            frame_augment(o, classes) if train else None,
        )


class LateFusion(_Segments[SegmentOptions]):
    """frame-fusion trained end to end over N segments."""

    name = "late-fusion"
    description = "N uniform segments (random offsets in training) through a shared 2D CNN, averaged; end to end"
    temporal = False
    Options = SegmentOptions

    def build(self, o: SegmentOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return create_model(
            "frame-fusion", num_classes=num_classes, backbone=o.backbone, backbone_kwargs=width_kw(o), dropout=o.dropout
        )


@dataclass(frozen=True)
class LRCNOptions(SegmentOptions):
    """lrcn."""

    frames: int = opt(8, "frames per video, one per segment (random within it in training)", low=2)
    hidden: int = opt(128, "LSTM hidden units", low=4)


class LRCN(_Segments[LRCNOptions]):
    """CNN features per frame, an LSTM over them."""

    name = "lrcn"
    description = "LRCN: 2D CNN per frame, LSTM over the frame features, trained end to end"
    temporal = True
    Options = LRCNOptions

    def build(self, o: LRCNOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return create_model(
            "lrcn",
            num_classes=num_classes,
            backbone=o.backbone,
            backbone_kwargs=width_kw(o),
            hidden=o.hidden,
            dropout=o.dropout,
        )


FRAME_CNN = register_method(FrameCNN())
LATE_FUSION = register_method(LateFusion())
LRCN_PRESET = register_method(LRCN())
