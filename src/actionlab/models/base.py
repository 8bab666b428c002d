"""`Classifier`: a feature body plus a linear `head`, giving every network the same five methods."""

from __future__ import annotations

import torch
from torch import nn


class Classifier(nn.Module):
    """body(x) -> (B, num_features); head: dropout + Linear. Subclasses may override forward_features."""

    def __init__(self, body: nn.Module | None, num_features: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.body: nn.Module | None = body
        self.num_features = num_features
        self.drop = nn.Dropout(dropout)
        self.head: nn.Module = nn.Linear(num_features, num_classes)  # JointHeads, fusion replace it

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features of shape (B, num_features)."""
        assert self.body is not None, "a Classifier without a body overrides forward_features"
        return self.body(x).flatten(1)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes) from pooled features."""
        return self.head(self.drop(feats))

    def forward(self, x: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        """Logits for a batch."""
        return self.forward_head(self.forward_features(x, *rest))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head by a fresh Linear with `num_classes` outputs."""
        self.head = nn.Linear(self.num_features, num_classes)
        kwargs = getattr(self, "model_kwargs", None)  # set by create_model
        if kwargs is not None:
            kwargs["num_classes"] = num_classes


class StagedClassifier(Classifier):
    """A Classifier whose body is `stem` then `stages` then `pool`; exposes the stage maps for mid-level fusion."""

    stem: nn.Module
    stages: nn.ModuleList
    pool: nn.Module
    stage_channels: list[int]

    def forward_maps(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """Feature maps after stage `upto` (0-based; None = last)."""
        x = self.stem(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if upto is not None and i == upto:
                break
        return x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled features (B, num_features)."""
        return self.pool(self.forward_maps(x)).flatten(1)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def model_size_mb(model: nn.Module) -> float:
    """Size of parameters plus buffers in megabytes (1e6 bytes)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 1e6
