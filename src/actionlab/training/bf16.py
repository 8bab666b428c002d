"""bf16 training on CPU: route the 3D convolutions oneDNN gets wrong in bf16 through fp32.

With torch 2.14's oneDNN, the bf16 weight gradient of a Conv3d whose kernel is longer than its input along some
axis (padding covering the difference, e.g. a 3-frame temporal kernel on the 2 frames left in a network's last
stage) comes back with inf/NaN or garbage in most calls; fp32 and larger inputs are fine.
tests/test_training_bf16.py checks the guarded gradient against fp32 on such a shape. Those convolutions run on
the smallest tensors of the network, so computing them in fp32 costs next to nothing, and bf16 training no
longer diverges.
"""

from __future__ import annotations

import torch
from torch import nn


def _kernel_exceeds_input(conv: nn.Conv3d, x: torch.Tensor) -> bool:
    return any(size < k for size, k in zip(x.shape[-3:], conv.kernel_size))


def _forward(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and _kernel_exceeds_input(conv, x):
        with torch.autocast("cpu", enabled=False):
            return nn.Conv3d.forward(conv, x.float())
    return nn.Conv3d.forward(conv, x)


def guard_conv3d(model: nn.Module) -> int:
    """Make every Conv3d of `model` compute in fp32 where bf16 autocast on CPU would break it; returns how many.

    The forward is replaced on the instance, so parameters, state-dict keys and hooks stay as they are.
    """
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    for conv in convs:
        conv.forward = _forward.__get__(conv)  # type: ignore[method-assign]  # bound to this instance only, on purpose
    return len(convs)
