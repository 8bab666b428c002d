"""Clip networks, input (B, C, T, H, W): `r2plus1d-small`, `c3d`, torchvision video nets, non-local block."""

from __future__ import annotations

import torch
from torch import nn

from actionlab.models.base import Classifier, StagedClassifier
from actionlab.models.cnn2d import TorchvisionClassifier
from actionlab.models.registry import register_model


class NonLocalBlock3d(nn.Module):
    """Embedded-Gaussian non-local block (Wang et al. 2018); zero-initialised so it starts as identity."""

    def __init__(self, channels: int, inner: int | None = None) -> None:
        super().__init__()
        inner = inner or max(1, channels // 2)
        self.theta = nn.Conv3d(channels, inner, 1)
        self.phi = nn.Conv3d(channels, inner, 1)
        self.g = nn.Conv3d(channels, inner, 1)
        bn = nn.BatchNorm3d(channels)
        self.out = nn.Sequential(nn.Conv3d(inner, channels, 1), bn)
        nn.init.zeros_(bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, C')
        k = self.phi(x).flatten(2)  # (B, C', N)
        v = self.g(x).flatten(2).transpose(1, 2)
        attn = torch.softmax(q @ k, dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(b, -1, t, h, w)
        return x + self.out(y)


class Conv2Plus1d(nn.Sequential):
    """A (2+1)D conv: spatial 1xkxk then temporal kx1x1, with BN+ReLU between."""

    def __init__(self, cin: int, cout: int, stride: int = 1, tstride: int = 1) -> None:
        mid = max(cout, (cin * cout * 27) // (cin * 9 + 3 * cout))  # keep parameter count of a full 3x3x3
        super().__init__(
            nn.Conv3d(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, cout, (3, 1, 1), (tstride, 1, 1), (1, 0, 0), bias=False),
        )


class Block2Plus1d(nn.Module):
    """Residual block of two (2+1)D convolutions."""

    def __init__(self, cin: int, cout: int, stride: int = 1, tstride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(Conv2Plus1d(cin, cout, stride, tstride), nn.BatchNorm3d(cout), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(Conv2Plus1d(cout, cout), nn.BatchNorm3d(cout))
        self.down = None
        if stride != 1 or tstride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv3d(cin, cout, 1, (tstride, stride, stride), bias=False), nn.BatchNorm3d(cout)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.down is None else self.down(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class R2Plus1dSmall(StagedClassifier):
    """Small residual (2+1)D CNN for 16x64x64 clips; `nonlocal_stages` inserts non-local blocks after stages."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        width: int = 16,
        dropout: float = 0.0,
        nonlocal_stages: tuple[int, ...] = (),
    ) -> None:
        widths = [width, width * 2, width * 4, width * 8]
        super().__init__(None, widths[-1], num_classes, dropout)
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, width, (1, 5, 5), (1, 2, 2), (0, 2, 2), bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )  # 4x down early: CPU budget
        stages, cin = [], width
        for i, w in enumerate(widths):
            layers: list[nn.Module] = [Block2Plus1d(cin, w, 1 if i == 0 else 2, 1 if i < 2 else 2)]
            if i in nonlocal_stages:
                layers.append(NonLocalBlock3d(w))
            stages.append(nn.Sequential(*layers))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.stage_channels = widths
        self.pool = nn.AdaptiveAvgPool3d(1)


@register_model(name="r2plus1d-small")
def r2plus1d_small(
    *,
    num_classes: int,
    in_channels: int = 3,
    width: int = 16,
    dropout: float = 0.0,
    nonlocal_stages: tuple[int, ...] = (),
) -> nn.Module:
    """Small (2+1)D ResNet trained from scratch; in_channels=2 for stacked flow."""
    return R2Plus1dSmall(num_classes, in_channels, width, dropout, tuple(nonlocal_stages))


class C3D(Classifier):
    """C3D layout (Tran et al. 2015): 8 3x3x3 convs, 5 pools, two FC layers; `width` scales every layer."""

    def __init__(
        self, num_classes: int, in_channels: int = 3, width: float = 1.0, fc: int = 4096, dropout: float = 0.5
    ) -> None:
        c = [max(4, int(n * width)) for n in (64, 128, 256, 512)]
        fc = max(8, int(fc * width))
        plan: list[tuple[int, ...] | str] = [
            (c[0],),
            "P1",
            (c[1],),
            "P",
            (c[2], c[2]),
            "P",
            (c[3], c[3]),
            "P",
            (c[3], c[3]),
            "P",
        ]
        layers: list[nn.Module] = []
        cin = in_channels
        for item in plan:
            if isinstance(item, str):
                k = (1, 2, 2) if item == "P1" else (2, 2, 2)
                layers.append(nn.MaxPool3d(k, k, ceil_mode=True))
                continue
            for cout in item:
                layers += [nn.Conv3d(cin, cout, 3, 1, 1), nn.ReLU(inplace=True)]
                cin = cout
        body = nn.Sequential(
            *layers,
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(),
            nn.Linear(cin, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc, fc),
            nn.ReLU(inplace=True),
        )
        super().__init__(body, fc, num_classes, dropout)


@register_model(name="c3d")
def c3d(
    *, num_classes: int, in_channels: int = 3, width: float = 1.0, fc: int = 4096, dropout: float = 0.5
) -> nn.Module:
    """C3D; width=0.125 gives a CPU-trainable version. Adaptive pooling before fc so any clip size works."""
    return C3D(num_classes, in_channels, width, fc, dropout)


_TV_3D = {"r3d_18": "fc", "mc3_18": "fc", "r2plus1d_18": "fc", "s3d": "classifier.1"}


def _make_video_builder(tv_name: str, head_path: str):
    def build(*, num_classes: int, in_channels: int = 3, dropout: float = 0.0) -> nn.Module:
        model = TorchvisionClassifier(tv_name, head_path, num_classes, in_channels, dropout)
        if tv_name == "s3d":  # its fixed 2x7x7 pool needs 224 px; adaptive pooling equals it there
            model.body.avgpool = nn.AdaptiveAvgPool3d(1)
        return model

    build.__doc__ = f"torchvision video {tv_name} (Kinetics-400 weights via weights='imagenet') wrapped."
    return build


for _name, _path in _TV_3D.items():
    register_model(_make_video_builder(_name, _path), name=_name)
