"""Joint training on several datasets: one shared network, one classification head per dataset."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from actionlab.errors import ConfigError
from actionlab.models.base import Classifier


class JointHeads(nn.Module):
    """`body.forward_features` shared, `heads[d]` for dataset d; called as model(*inputs, dataset_ids).

    A batch holds samples of one dataset (batches alternate between datasets), so each batch goes through one
    head and its logits live in that dataset's label space.
    """

    def __init__(self, body: nn.Module, num_classes: list[int]) -> None:
        super().__init__()
        if not hasattr(body, "forward_features") or not hasattr(body, "num_features"):
            raise ConfigError(
                None, f"joint training needs a network with forward_features; {type(body).__name__} has none"
            )
        self.body = cast(Classifier, body)  # checked above: it has forward_features and num_features
        self.body.head = nn.Identity()  # the per-dataset heads replace it
        self.heads = nn.ModuleList(nn.Linear(self.body.num_features, c) for c in num_classes)
        self.num_features = self.body.num_features

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Logits of the batch's dataset; every sample of a batch must come from the same dataset."""
        *xs, ids = inputs
        d = int(ids[0])
        if bool((ids != d).any()):
            raise ValueError("a joint batch mixes datasets; batches must alternate between datasets")
        return self.heads[d](self.body.forward_features(*xs))

    def head_probs(self, *xs: torch.Tensor) -> list[torch.Tensor]:
        """Softmax of every head for the same inputs (prediction on a video of unknown dataset)."""
        feats = self.body.forward_features(*xs)
        return [torch.softmax(h(feats).float(), 1) for h in self.heads]
