"""Heads over pre-extracted features: `mlp-head` (pooled D-dim vectors) and `rnn-head` (sequences)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from actionlab.errors import ConfigError
from actionlab.models.base import Classifier
from actionlab.models.registry import register_model

_ACTS = {"gelu": nn.GELU, "relu": nn.ReLU}


class MLPHead(Classifier):
    """Linear -> BatchNorm -> GELU/ReLU -> dropout -> Linear; (B, T, D) inputs are averaged over T first."""

    body: nn.Module

    def __init__(
        self, num_classes: int, in_features: int, hidden: int = 256, activation: str = "gelu", dropout: float = 0.5
    ) -> None:
        if activation not in _ACTS:
            raise ConfigError(None, f"mlp-head activation must be one of {sorted(_ACTS)}, got {activation!r}")
        body = nn.Sequential(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), _ACTS[activation]())
        super().__init__(body, hidden, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activations (B, hidden) of pooled features."""
        return self.body(x.mean(1) if x.dim() == 3 else x)


@register_model(name="mlp-head")
def mlp_head(
    *,
    num_classes: int,
    in_channels: int = 3,
    in_features: int,
    hidden: int = 256,
    activation: str = "gelu",
    dropout: float = 0.5,
) -> nn.Module:
    """Two-layer MLP over D-dim features (in_channels is unused)."""
    return MLPHead(num_classes, in_features, hidden, activation, dropout)


class RNNHead(Classifier):
    """LSTM/GRU over (B, T, D) sequences; the last *valid* hidden state (per `lengths`) feeds the head."""

    body: nn.Module

    def __init__(
        self,
        num_classes: int,
        in_features: int,
        hidden: int = 128,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        if cell not in ("lstm", "gru"):
            raise ConfigError(None, f"rnn-head cell must be 'lstm' or 'gru', got {cell!r}")
        rnn_cls = nn.LSTM if cell == "lstm" else nn.GRU
        rnn = rnn_cls(
            in_features,
            hidden,
            num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        super().__init__(rnn, hidden * (2 if bidirectional else 1), num_classes, dropout)
        self.bidirectional = bidirectional

    def forward_features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Last valid hidden state (B, num_features); `lengths` (B,) marks each sequence's valid steps."""
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long)
        packed = pack_padded_sequence(
            x, lengths.detach().cpu().long().clamp(min=1), batch_first=True, enforce_sorted=False
        )
        _, h = self.body(packed)
        h = h[0] if isinstance(h, tuple) else h  # LSTM returns (h_n, c_n)
        return torch.cat([h[-2], h[-1]], dim=1) if self.bidirectional else h[-1]


@register_model(name="rnn-head")
def rnn_head(
    *,
    num_classes: int,
    in_channels: int = 3,
    in_features: int,
    hidden: int = 128,
    num_layers: int = 1,
    cell: str = "lstm",
    bidirectional: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """LSTM/GRU head; call as model(x, lengths) with x (B, T, D) zero-padded."""
    return RNNHead(num_classes, in_features, hidden, num_layers, cell, bidirectional, dropout)
