"""`predict_scores`: softmax scores of a model over a dataset, batched, in eval mode."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from actionlab.training.trainer import call_model, resolve_device, to_device


@torch.no_grad()
def predict_scores(
    model: nn.Module, data: Dataset, batch_size: int = 32, *, collate_fn=None, device: str = "auto"
) -> np.ndarray:
    """Softmax scores (N, num_classes) for a Dataset of (input, label) pairs (labels ignored)."""
    dev = resolve_device(device)
    model.to(dev).eval()
    out = []
    for inputs, _ in DataLoader(data, batch_size, shuffle=False, collate_fn=collate_fn):
        logits = call_model(model, to_device(inputs, dev))
        out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    n_classes = getattr(getattr(model, "head", None), "out_features", 0)
    return np.concatenate(out) if out else np.zeros((0, n_classes), dtype=np.float32)
