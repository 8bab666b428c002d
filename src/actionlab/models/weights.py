"""Loading weights into any registered model (class-count and input-channel adaptation) and freezing."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from actionlab.errors import CheckpointError


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a .safetensors or .pt/.pth state dict safely (no pickled code); strips a 'module.' prefix."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "weight file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any parse failure means the file is unusable, say which
        raise CheckpointError(path, f"not a readable state dict ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "file holds no name -> tensor state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _is_head(key: str) -> bool:
    return "head" in key.split(".")


def _adapt_channels(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor | None:
    """timm-style: average the RGB filters and repeat them for a different input-channel count."""
    if src.dim() not in (4, 5) or src.shape[0] != dst.shape[0] or src.shape[2:] != dst.shape[2:]:
        return None
    mean = src.mean(dim=1, keepdim=True)
    reps = [1, dst.shape[1]] + [1] * (src.dim() - 2)
    return mean.repeat(*reps) * (src.shape[1] / dst.shape[1])


def load_weights(model: nn.Module, source: str | Path) -> nn.Module:
    """Load "imagenet" (torchvision, a download) or a file; skip a mismatched head, adapt input channels."""
    if str(source) == "imagenet":
        if not hasattr(model, "pretrained_state_dict"):
            raise CheckpointError(getattr(model, "model_name", None), "has no imagenet weights; pass a file path")
        state, where = model.pretrained_state_dict(), "imagenet"
    else:
        state, where = read_state_dict(source), source
    own = model.state_dict()
    merged, problems = {}, []
    for key, dst in own.items():
        src = state.get(key)
        if src is None:
            if not _is_head(key):
                problems.append(f"missing {key}")
            continue
        if src.shape == dst.shape:
            merged[key] = src.to(dst.dtype)
        elif not _is_head(key):
            adapted = _adapt_channels(src, dst)
            if adapted is None:
                problems.append(f"{key} has shape {tuple(src.shape)}, model wants {tuple(dst.shape)}")
            else:
                merged[key] = adapted.to(dst.dtype)
    if problems:
        raise CheckpointError(where, f"incompatible with model {getattr(model, 'model_name', type(model).__name__)}:"
                              f" {len(problems)} problem(s), first: {problems[0]}")
    model.load_state_dict(merged, strict=False)
    return model


def freeze(model: nn.Module, trainable: tuple[str, ...] = ("head",), last_stages: int | None = None) -> nn.Module:
    """Freeze every parameter except those whose name starts with `trainable`, or the last N `stages` + head."""
    prefixes = tuple(trainable)
    if last_stages is not None:
        stages = getattr(model, "stages", None)
        if stages is None:
            raise CheckpointError(getattr(model, "model_name", None), "model has no `stages` to unfreeze")
        n = len(stages)
        prefixes += tuple(f"stages.{i}." for i in range(max(0, n - last_stages), n))
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(prefixes)
    return model
