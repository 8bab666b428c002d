"""Grad-CAM (Selvaraju et al. 2017) over the last convolution, for frame and clip models."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from actionlab.errors import ConfigError


def find_target_layer(model: nn.Module) -> nn.Module:
    """The last nn.Conv2d / nn.Conv3d in registration order, skipping 1x1 shortcut or projection convs."""
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    if not convs:
        raise ConfigError(None, f"{type(model).__name__} has no Conv2d/Conv3d layer; pass target_layer")
    # residual blocks register their 1x1 shortcut after the main path; its map says little about the evidence
    spatial = [m for m in convs if any(k > 1 for k in m.kernel_size)]
    return (spatial or convs)[-1]


def backprop_class_score(model: nn.Module, inputs: torch.Tensor, class_idx: int | Sequence[int] | None) -> torch.Tensor:
    """Back-propagate each item's class score (predicted class when None) in eval mode; returns the input with .grad.

    The input gets requires_grad so frozen models (requires_grad=False) still back-propagate to hooked layers.
    """
    model.eval()
    x = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        idx = _class_indices(logits, class_idx)
        model.zero_grad(set_to_none=True)
        logits.gather(1, idx[:, None]).sum().backward()
    return x


def _class_indices(logits: torch.Tensor, class_idx: int | Sequence[int] | None) -> torch.Tensor:
    n, num_classes = logits.shape
    if class_idx is None:
        idx = logits.argmax(dim=1)
    elif isinstance(class_idx, int):
        idx = torch.full((n,), class_idx, dtype=torch.long)
    else:
        idx = torch.as_tensor(list(class_idx), dtype=torch.long)
    if idx.shape != (n,) or idx.min() < 0 or idx.max() >= num_classes:
        raise ConfigError(None, f"class_idx must be one class or {n} classes in [0, {num_classes - 1}]")
    return idx.to(logits.device)


def _normalise(cam: torch.Tensor) -> torch.Tensor:
    flat = cam.flatten(1)
    peak = flat.max(dim=1).values.clamp_min(1e-12)  # an all-zero map (no positive evidence) stays zero
    return (flat / peak[:, None]).view_as(cam)


def grad_cam(
    model: nn.Module,
    inputs: torch.Tensor,
    target_layer: nn.Module | None = None,
    class_idx: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Grad-CAM maps in [0, 1]: (N, H, W) for (N, C, H, W) inputs, (B, T, H, W) for (B, C, T, H, W)."""
    if inputs.ndim not in (4, 5):
        raise ConfigError(None, f"inputs must be (N, C, H, W) or (B, C, T, H, W), got {tuple(inputs.shape)}")
    layer = target_layer if target_layer is not None else find_target_layer(model)
    store: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _args: tuple, output: torch.Tensor) -> None:
        store["act"] = output
        output.register_hook(lambda grad: store.__setitem__("grad", grad))

    was_training = model.training
    handle = layer.register_forward_hook(keep)
    try:
        backprop_class_score(model, inputs, class_idx)
    finally:
        handle.remove()
        model.train(was_training)
    if "grad" not in store:
        raise ConfigError(None, f"target layer {type(layer).__name__} took no part in computing the logits")
    act, grad = store["act"].detach(), store["grad"].detach()
    spatial = tuple(range(2, act.ndim))
    weights = grad.mean(dim=spatial, keepdim=True)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))
    size = inputs.shape[-(act.ndim - 2) :]
    mode = "bilinear" if act.ndim == 4 else "trilinear"
    cam = F.interpolate(cam.float(), size=size, mode=mode, align_corners=False)[:, 0]
    if inputs.ndim == 5 and cam.ndim == 3:
        raise ConfigError(None, "a 5-D input reached a 2-D target layer; pass a Conv3d target_layer")
    return _normalise(cam).cpu().numpy().astype(np.float32)


def overlay(frames: np.ndarray, cams: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """Blend JET-coloured heat maps onto uint8 RGB frames (N, H, W, 3); cams are resized to the frames."""
    frames = np.asarray(frames)
    cams = np.asarray(cams, dtype=np.float32)
    if frames.ndim == 3:
        frames, cams = frames[None], cams.reshape((1,) + cams.shape[-2:])
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) != len(cams):
        raise ConfigError(None, f"overlay needs uint8 (N, H, W, 3) frames and N maps; got {frames.shape}, {cams.shape}")
    out = np.empty_like(frames)
    height, width = frames.shape[1:3]
    for i, (frame, cam) in enumerate(zip(frames, cams)):
        heat = cv2.resize(np.clip(cam, 0, 1), (width, height), interpolation=cv2.INTER_LINEAR)
        colour = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
        colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)  # OpenCV colormaps are BGR
        out[i] = cv2.addWeighted(frame, 1.0 - alpha, colour, alpha, 0.0)
    return out
