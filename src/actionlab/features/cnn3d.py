"""`cnn3d:<backbone>`: one feature vector per clip (K x D) from a torchvision video model (Kinetics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from actionlab.errors import FeatureError
from actionlab.features.torchbase import TorchExtractor, common_config
from actionlab.features.weights import build_torchvision
from actionlab.sampling import MultiClipSampler
from actionlab.transforms.clip import KINETICS_MEAN, KINETICS_STD  # torchvision's Kinetics-400 normalisation
from actionlab.video import read_sampled

VIDEO_BACKBONES = {"r3d_18": "fc", "mc3_18": "fc", "r2plus1d_18": "fc", "s3d": "classifier"}


class Cnn3dExtractor(TorchExtractor):
    """Clip features: `num_clips` clips of `clip_len` frames resized to `size` x `size`; `batch_size` clips
    (gathered across videos by extract()) per forward pass; `bf16=None` and `streams=None` as in cnn2d."""

    mean = KINETICS_MEAN
    std = KINETICS_STD
    model_dims = 5

    def __init__(
        self,
        backbone: str = "r3d_18",
        *,
        weights: str | Path | None = None,
        num_clips: int = 2,
        clip_len: int = 16,
        stride: int = 1,
        size: int = 112,
        seed: int = 0,
        bf16: bool | None = None,
        device: str | None = None,
        batch_size: int = 4,
        streams: int | None = None,
    ) -> None:
        if backbone not in VIDEO_BACKBONES:
            raise FeatureError(None, f"unknown cnn3d backbone {backbone!r}; known: {sorted(VIDEO_BACKBONES)}")
        self.sampler = MultiClipSampler(num_clips, clip_len, stride)
        self.size, self.batch_size, self.rows_per_video = size, batch_size, num_clips
        bf16 = self._resolve(device, bf16, streams)
        self.config = common_config(
            f"cnn3d:{backbone}", weights, seed, size, bf16, num_clips=num_clips, clip_len=clip_len, stride=stride
        )
        head = VIDEO_BACKBONES[backbone]
        net = build_torchvision(backbone, weights, seed, (head + ".",))
        setattr(net, head, nn.Identity())
        self._setup(net)

    def decode(self, path: str | Path) -> tuple[np.ndarray, np.ndarray, float]:
        """Frames (K, T, H, W, 3) and indices (K, T)."""
        frames, idx, info = read_sampled(path, self.sampler.sample, size=(self.size, self.size), threads=1)
        return frames.reshape(*idx.shape, *frames.shape[1:]), idx, info.fps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(K, T, 3, H, W) → (K, D)."""
        return self.model(x.transpose(1, 2).contiguous()).flatten(1)
