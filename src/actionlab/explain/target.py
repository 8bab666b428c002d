"""Which layer of a network is "the last convolutional stage": the module whose output maps are explained.

The explainers hook every stage and use the last one whose maps are at least 2 x 2: at the small sizes runs
train on a CPU (32-64 px), the last stage of a deep network can be a single position, which says nothing of where.
"""

from __future__ import annotations

from torch import nn

from actionlab.errors import ConfigError
from actionlab.explain.gradcam import find_target_layer
from actionlab.models.base import StagedClassifier


def stages(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of the convolutional stages of `net`, the last one last.

    Our staged networks (resnet-small, r2plus1d-small, i3d on them; found inside frame-fusion, lrcn, stream
    wrappers): the outputs of `stages[i]`, i.e. after each residual sum and its ReLU. torchvision ResNets (2D,
    video, inflated): `layer1`..`layer4`. Networks with a `features` sequence (mobilenet, efficientnet,
    convnext, s3d): its blocks. Anything else (c3d): the last convolution with a kernel larger than 1.
    """
    named = dict(net.named_modules())
    for name, module in named.items():
        if isinstance(module, StagedClassifier):
            return [(_join(name, f"stages.{i}"), m) for i, m in enumerate(module.stages)]
    for name, module in named.items():
        if isinstance(getattr(module, "layer4", None), nn.Module):
            return [(_join(name, f"layer{i}"), getattr(module, f"layer{i}")) for i in range(1, 5)]
    for name, module in named.items():
        features = getattr(module, "features", None)
        if isinstance(features, nn.Sequential) and len(features):
            return [(_join(name, f"features.{i}"), m) for i, m in enumerate(features)]
    try:
        layer = find_target_layer(net)
    except ConfigError:
        raise ConfigError(None, f"{type(net).__name__} has no convolutional layer to explain") from None
    return [next((n, m) for n, m in named.items() if m is layer)]


def last_stage(net: nn.Module) -> tuple[str, nn.Module]:
    """(qualified name, module) of the last convolutional stage of `net` (see `stages`)."""
    return stages(net)[-1]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
