"""2D image classifiers: `resnet-small` (from scratch, fast on CPU) and torchvision backbones wrapped."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import nn

from actionlab.models.base import Classifier, StagedClassifier
from actionlab.models.registry import register_model


class BasicBlock2d(nn.Module):
    """Two 3x3 convs with a residual shortcut (1x1 conv when shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNetSmall(StagedClassifier):
    """ResNet-like 2D CNN: stem + 4 stages of basic blocks; `stages` exposes the feature maps for mid fusion."""

    def __init__(
        self, num_classes: int, in_channels: int = 3, width: int = 16, blocks: int = 1, dropout: float = 0.0
    ) -> None:
        widths = [width, width * 2, width * 4, width * 8]
        super().__init__(None, widths[-1], num_classes, dropout)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        stages, cin = [], width
        for i, w in enumerate(widths):
            layers = [BasicBlock2d(cin, w, 1 if i == 0 else 2)] + [BasicBlock2d(w, w) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.stage_channels = widths
        self.pool = nn.AdaptiveAvgPool2d(1)


@register_model(name="resnet-small")
def resnet_small(
    *, num_classes: int, in_channels: int = 3, width: int = 16, blocks: int = 1, dropout: float = 0.0
) -> nn.Module:
    """Small ResNet for 64-112 px frames, trained from scratch."""
    return ResNetSmall(num_classes, in_channels, width, blocks, dropout)


def _get_attr(root: nn.Module, path: str) -> nn.Module:
    for part in path.split("."):
        root = cast(nn.Sequential, root)[int(part)] if part.isdigit() else getattr(root, part)  # a container
    return root


def _set_attr(root: nn.Module, path: str, value: nn.Module) -> None:
    parent, _, last = path.rpartition(".")
    owner = _get_attr(root, parent) if parent else root
    if last.isdigit():
        cast(nn.Sequential, owner)[int(last)] = value  # a container
    else:
        setattr(owner, last, value)


class TorchvisionClassifier(Classifier):
    """A torchvision classifier whose last Linear/1x1-conv (`head_path`) becomes our `head`."""

    body: nn.Module

    def __init__(
        self, tv_name: str, head_path: str, num_classes: int, in_channels: int, dropout: float = 0.0, **tv_kwargs
    ) -> None:
        import torchvision  # here, not at the top: importing it costs ~2 s (torch._dynamo), which our own nets skip

        net = torchvision.models.get_model(tv_name, weights=None, **tv_kwargs)
        last = _get_attr(net, head_path)
        num_features = (
            last.in_features if isinstance(last, nn.Linear) else cast(nn.Conv2d, last).in_channels
        )  # 1x1 conv
        _set_attr(net, head_path, nn.Identity())
        super().__init__(net, num_features, num_classes, dropout)
        self.tv_name, self.head_path = tv_name, head_path
        if in_channels != 3:
            _replace_first_conv(net, in_channels)

    def pretrained_state_dict(self) -> dict[str, torch.Tensor]:
        """torchvision's default weights (hash-verified file, never unpickled), renamed to this wrapper's keys."""
        from actionlab.models.weights import published_state

        state = published_state(self.tv_name)  # imagenet for image nets, kinetics400 for the video ones
        head = self.head_path + "."
        return {("head." + k[len(head) :] if k.startswith(head) else "body." + k): v for k, v in state.items()}


def _replace_first_conv(net: nn.Module, in_channels: int) -> None:
    """Swap the first convolution for one taking `in_channels` inputs (same kernel/stride/padding)."""
    for name, mod in net.named_modules():
        if isinstance(mod, nn.Conv2d | nn.Conv3d):
            cls: Callable[..., nn.Module] = type(mod)
            new = cls(
                in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding, bias=mod.bias is not None
            )
            _set_attr(net, name, new)
            return


_TV_2D = {
    "resnet18": "fc",
    "resnet50": "fc",
    "convnext_tiny": "classifier.2",
    "convnext_base": "classifier.2",
    "mobilenet_v3_small": "classifier.3",
    "mobilenet_v3_large": "classifier.3",
    "efficientnet_b0": "classifier.1",
}


def _make_tv_builder(tv_name: str, head_path: str):
    def build(*, num_classes: int, in_channels: int = 3, dropout: float = 0.0, **kw) -> nn.Module:
        return TorchvisionClassifier(tv_name, head_path, num_classes, in_channels, dropout, **kw)

    build.__doc__ = f"torchvision {tv_name} wrapped to the actionlab model interface."
    return build


for _name, _path in _TV_2D.items():
    register_model(_make_tv_builder(_name, _path), name=_name)
