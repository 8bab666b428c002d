"""3D presets on decoded clips: clip3d ((2+1)D), c3d, i3d (2D ResNet inflated), nonlocal (self-attention blocks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from actionlab.errors import ConfigError
from actionlab.methods.base import register_method
from actionlab.methods.frames import SMALL_2D, frame_augment
from actionlab.methods.inputs import KINETICS, FrameReader
from actionlab.methods.options import MIN_STEPS_HELP, FrameOptions, TrainOptions, TransferOptions
from actionlab.methods.preset import Preset
from actionlab.methods.sampling_plans import ClipPlan
from actionlab.models.registry import create_model
from actionlab.options import opt

SMALL_3D = "r2plus1d-small"
TV_3D = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d")


@dataclass(frozen=True)
class ClipOptions(FrameOptions, TransferOptions, TrainOptions):
    """A clip of frames into a 3D network."""

    frames: int = opt(8, "frames per clip", low=1)
    sampling: str = opt(
        "segments",
        "segments: one frame per equal part of the video (random within it in "
        "training); dense: consecutive frames `stride` apart (random start)",
        choices=("segments", "dense"),
    )
    stride: int = opt(2, "dense sampling: frames between sampled frames", low=1)
    test_clips: int = opt(1, "test: clips per video whose scores are averaged", low=1)
    dropout: float = opt(0.0, "dropout before the classifier", low=0, high=0.95)
    # clip3d at 20 epochs reaches 0.97 top-1 on the 40-clips-per-class synthetic set (24 steps per epoch) but 0.91
    # on 25 clips per class (15 steps); 33 epochs there, as many steps, give 0.98
    min_steps: int = opt(480, MIN_STEPS_HELP, low=0)

    def check(self) -> None:
        """stride only means something with dense sampling."""
        super().check()
        if self.given("stride") and self.sampling != "dense":
            raise ConfigError(None, "stride applies to sampling=dense only")


C = TypeVar("C", bound=ClipOptions)


class _ClipPreset(Preset[C]):
    temporal = True

    def reader(self, o: C, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]) -> FrameReader:
        plan = ClipPlan(o.frames, o.sampling, o.stride, o.test_clips)
        return FrameReader(plan, o.size, "3d", KINETICS, frame_augment(o, classes) if train else None)


@dataclass(frozen=True)
class Clip3DOptions(ClipOptions):
    """clip3d."""

    epochs: int = opt(20, "training epochs (the schedule spans them)", low=1)

    backbone: str = opt(
        SMALL_3D,
        "r2plus1d-small (from scratch, CPU-sized) or torchvision r3d_18, mc3_18, r2plus1d_18, s3d",
        choices=(SMALL_3D, *TV_3D),
    )
    width: int = opt(16, "r2plus1d-small: channels of the first stage", low=4)

    def check(self) -> None:
        """width only for the small network."""
        super().check()
        if self.given("width") and self.backbone != SMALL_3D:
            raise ConfigError(None, f"width applies to backbone={SMALL_3D} only, not {self.backbone!r}")


class Clip3D(_ClipPreset[Clip3DOptions]):
    """Residual (2+1)D CNN."""

    name = "clip3d"
    description = "residual (2+1)D CNN on clips (backbone=r3d_18|mc3_18|r2plus1d_18|s3d for torchvision's)"
    Options = Clip3DOptions

    def build(self, o: Clip3DOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        kw: dict[str, Any] = {"width": o.width} if o.backbone == SMALL_3D else {}
        return create_model(o.backbone, num_classes=num_classes, dropout=o.dropout, **kw)

    def pretrained_arch(self, o: Clip3DOptions) -> str | None:
        return None if o.backbone == SMALL_3D else o.backbone


@dataclass(frozen=True)
class C3DOptions(ClipOptions):
    """c3d."""

    frames: int = opt(16, "frames per clip", low=1)
    width: float = opt(
        0.125, "channel multiplier of every layer (1.0 = the paper's 64..512 and fc 4096)", low=0.03, high=1.0
    )
    dropout: float = opt(0.5, "dropout in the fully connected layers", low=0, high=0.95)


class C3D(_ClipPreset[C3DOptions]):
    """C3D (Tran et al. 2015)."""

    name = "c3d"
    description = "C3D: eight 3x3x3 convolutions and two fully connected layers; width scales it to a CPU"
    Options = C3DOptions

    def build(self, o: C3DOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return create_model("c3d", num_classes=num_classes, width=o.width, dropout=o.dropout)


@dataclass(frozen=True)
class I3DOptions(ClipOptions):
    """i3d."""

    base: str = opt(
        SMALL_2D,
        "the 2D ResNet that is inflated: resnet-small, resnet18 or resnet50",
        choices=(SMALL_2D, "resnet18", "resnet50"),
    )
    width: int = opt(16, "resnet-small: channels of the first stage", low=4)
    time_kernel: int = opt(3, "temporal size of the inflated kernels", low=1)
    nonlocal_stages: tuple[int, ...] = opt((), "stages (0-3) followed by a non-local block", low=0, high=3)

    def check(self) -> None:
        """width only for resnet-small."""
        super().check()
        if self.given("width") and self.base != SMALL_2D:
            raise ConfigError(None, f"width applies to base={SMALL_2D} only, not {self.base!r}")


class I3D(_ClipPreset[I3DOptions]):
    """A 2D ResNet inflated to 3D; init from a 2D run, a 2D file or ImageNet inflates those weights."""

    name = "i3d"
    description = "2D ResNet inflated to 3D (I3D); init=a 2D run, a 2D checkpoint or imagenet is inflated"
    Options = I3DOptions

    def build(self, o: I3DOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        kw = {"width": o.width} if o.base == SMALL_2D else {}
        return create_model(
            "i3d-resnet",
            num_classes=num_classes,
            base=o.base,
            base_kwargs=kw,
            time_kernel=o.time_kernel,
            nonlocal_stages=o.nonlocal_stages,
            dropout=o.dropout,
        )

    def pretrained_arch(self, o: I3DOptions) -> str | None:
        return None if o.base == SMALL_2D else o.base


@dataclass(frozen=True)
class NonLocalOptions(ClipOptions):
    """nonlocal."""

    base: str = opt(
        "i3d",
        "the 3D network the blocks go into: i3d (inflated resnet-small) or r2plus1d (clip3d's network)",
        choices=("i3d", "r2plus1d"),
    )
    width: int = opt(16, "channels of the first stage", low=4)
    nonlocal_stages: tuple[int, ...] = opt((2, 3), "stages (0-3) followed by a non-local block", low=0, high=3)

    def check(self) -> None:
        """At least one block."""
        super().check()
        if not self.nonlocal_stages:
            raise ConfigError(
                None,
                "nonlocal_stages must name at least one stage (0-3); use clip3d or i3d "
                "for a network without non-local blocks",
            )


class NonLocal(_ClipPreset[NonLocalOptions]):
    """i3d or (2+1)D with embedded-Gaussian non-local blocks after chosen stages."""

    name = "nonlocal"
    description = "3D CNN (i3d or r2plus1d) with non-local self-attention blocks after chosen stages"
    Options = NonLocalOptions

    def build(self, o: NonLocalOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        if o.base == "r2plus1d":
            return create_model(
                SMALL_3D, num_classes=num_classes, width=o.width, nonlocal_stages=o.nonlocal_stages, dropout=o.dropout
            )
        return create_model(
            "i3d-resnet",
            num_classes=num_classes,
            base=SMALL_2D,
            base_kwargs={"width": o.width},
            nonlocal_stages=o.nonlocal_stages,
            dropout=o.dropout,
        )


CLIP3D = register_method(Clip3D())
C3D_PRESET = register_method(C3D())
I3D_PRESET = register_method(I3D())
NONLOCAL = register_method(NonLocal())
