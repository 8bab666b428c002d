"""Guided backpropagation (Springenberg et al. 2015): input gradients passed only through positive ReLU paths.

Every ReLU is caught where it is computed, not where it is registered: a TorchFunctionMode reroutes
`F.relu`, `torch.relu`, `Tensor.relu` and their in-place forms (what `nn.ReLU(inplace=True)` and functional
calls inside torchvision blocks run) to `GuidedReLU`, whose backward is `grad.clamp_min(0) * (output > 0)`;
the model is not modified. (The earlier `nn.ReLU` full-backward hooks gave the same gradients on our networks
but missed functional ReLUs. The dot grid that plain guided gradients show on ResNets is the 1x1 stride-2
projection shortcuts, which write gradient on every 2nd pixel only: explain.maps averages over input shifts.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from actionlab.explain.gradcam import backprop_class_score


class GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward lets through only positive gradients where the output was positive."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x.clamp_min(0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad.clamp_min(0) * (out > 0).to(grad.dtype)


_RELUS = {F.relu, torch.relu, torch.Tensor.relu, F.relu_, torch.relu_, torch.Tensor.relu_}


class GuidedMode(TorchFunctionMode):
    """Inside `with GuidedMode():` every ReLU call runs GuidedReLU (out of place: callers use the result)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if func in _RELUS:
            return GuidedReLU.apply(args[0])
        return func(*args, **(kwargs or {}))


def guided_backprop(model: nn.Module, inputs: torch.Tensor, class_idx: int | Sequence[int] | None = None) -> np.ndarray:
    """Guided gradients of the class score (predicted class when None) w.r.t. the input, same shape as inputs."""
    was_training = model.training
    try:
        with GuidedMode():
            x = backprop_class_score(model, inputs, class_idx)
    finally:
        model.train(was_training)
    assert x.grad is not None  # backprop_class_score back-propagated into x
    return x.grad.detach().cpu().numpy().astype(np.float32)
