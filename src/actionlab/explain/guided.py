"""Guided backpropagation (Springenberg et al. 2015): input gradients passed only through positive ReLU paths."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from actionlab.explain.gradcam import backprop_class_score


def guided_backprop(model: nn.Module, inputs: torch.Tensor, class_idx: int | Sequence[int] | None = None) -> np.ndarray:
    """Guided gradients of the class score w.r.t. the input, same shape as inputs (nn.ReLU modules only)."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    inplace = [m.inplace for m in relus]
    was_training = model.training

    def clamp(_module: nn.Module, grad_in: tuple, _grad_out: tuple) -> tuple:
        return tuple(None if g is None else g.clamp_min(0) for g in grad_in)

    handles = []
    try:
        for m in relus:
            m.inplace = False  # backward hooks cannot wrap in-place outputs
            handles.append(m.register_full_backward_hook(clamp))
        x = backprop_class_score(model, inputs, class_idx)
    finally:
        for handle in handles:
            handle.remove()
        for m, flag in zip(relus, inplace):
            m.inplace = flag
        model.train(was_training)
    return x.grad.detach().cpu().numpy().astype(np.float32)
