"""I3D-style inflation: turn a 2D CNN into a 3D one whose output on a static clip equals the 2D output."""

from __future__ import annotations

import copy
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from actionlab.models.base import Classifier, StagedClassifier
from actionlab.models.cnn3d import NonLocalBlock3d
from actionlab.models.registry import create_model, register_model


def _with_time(t: int, hw: tuple[int, ...]) -> tuple[int, int, int]:
    """(t, h, w) from a Conv2d's (h, w) size."""
    return cast(tuple[int, int, int], (t, *hw))


class InflatedConv3d(nn.Conv3d):
    """Conv3d that pads time by replicating edge frames, so a static clip sees the same input at every step."""

    def __init__(self, conv: nn.Conv2d, time_kernel: int) -> None:
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            _with_time(time_kernel, conv.kernel_size),
            _with_time(1, conv.stride),
            (0, *conv.padding),
            _with_time(1, conv.dilation),
            conv.groups,
            conv.bias is not None,
        )
        self.time_pad = time_kernel // 2
        with torch.no_grad():  # repeat the 2D kernel over time and divide by T: same response to static input
            self.weight.copy_(conv.weight.unsqueeze(2).repeat(1, 1, time_kernel, 1, 1) / time_kernel)
            if conv.bias is not None and self.bias is not None:  # bias=True above: both or neither
                self.bias.copy_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            x = F.pad(x, (0, 0, 0, 0, self.time_pad, self.time_pad), mode="replicate")
        return super().forward(x)


def _inflate_module(mod: nn.Module, time_kernel: int) -> nn.Module | None:
    if isinstance(mod, nn.Conv2d):
        return InflatedConv3d(mod, time_kernel if mod.kernel_size[0] > 1 else 1)
    if isinstance(mod, nn.BatchNorm2d):
        bn = nn.BatchNorm3d(mod.num_features, mod.eps, mod.momentum, mod.affine, mod.track_running_stats)
        bn.load_state_dict(mod.state_dict())
        return bn
    if isinstance(mod, nn.MaxPool2d):
        k, s, p = (nn.modules.utils._pair(v) for v in (mod.kernel_size, mod.stride, mod.padding))
        return nn.MaxPool3d((1, *k), (1, *s), (0, *p), ceil_mode=mod.ceil_mode)
    if isinstance(mod, nn.AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool3d(1)
    return None


def inflate_2d_to_3d(model2d: nn.Module, time_kernel: int = 3) -> nn.Module:
    """Deep-copy `model2d`, replacing Conv2d/BN2d/pools by 3D versions (kernels repeated over time / T)."""
    model = copy.deepcopy(model2d)

    def walk(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            new = _inflate_module(child, time_kernel)
            if new is None:
                walk(child)
            else:
                setattr(parent, name, new)

    walk(model)
    return model


class I3DResNet(Classifier):
    """An inflated ResNet (torchvision resnet18/50 or resnet-small); input (B, C, T, H, W)."""

    body: Classifier

    def __init__(
        self, net3d: Classifier, num_classes: int, nonlocal_stages: tuple[int, ...] = (), dropout: float = 0.0
    ) -> None:
        super().__init__(net3d, net3d.num_features, num_classes, dropout)
        net3d.head = nn.Identity()
        layers: list[nn.Sequential] = (
            [getattr(net3d.body, f"layer{i + 1}") for i in range(4)]
            if hasattr(net3d.body, "layer1")
            else [cast(nn.Sequential, s) for s in cast(StagedClassifier, net3d).stages]  # resnet-small
        )
        for i in nonlocal_stages:  # append a non-local block at the end of stage i
            seq = layers[i]
            seq.append(NonLocalBlock3d(_out_channels(seq)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of a clip."""
        return self.body.forward_features(x)


def _out_channels(stage: nn.Sequential) -> int:
    return [m for m in stage.modules() if isinstance(m, nn.BatchNorm3d)][-1].num_features


@register_model(name="i3d-resnet")
def i3d_resnet(
    *,
    num_classes: int,
    in_channels: int = 3,
    base: str = "resnet-small",
    base_kwargs: dict | None = None,
    base_weights: str | None = None,
    time_kernel: int = 3,
    nonlocal_stages: tuple[int, ...] = (),
    dropout: float = 0.0,
) -> nn.Module:
    """Inflate a 2D ResNet (optionally with `base_weights`, e.g. "imagenet" or a file) into a 3D one."""
    net2d = create_model(
        base, num_classes=num_classes, in_channels=in_channels, weights=base_weights, **(base_kwargs or {})
    )
    # every registered model is a Classifier, and inflating keeps its class
    return I3DResNet(
        cast(Classifier, inflate_2d_to_3d(net2d, time_kernel)), num_classes, tuple(nonlocal_stages), dropout
    )
