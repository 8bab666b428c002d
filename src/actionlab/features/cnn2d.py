"""`cnn2d:<backbone>`: one feature vector per uniformly sampled frame from a torchvision classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from actionlab.errors import CheckpointError
from actionlab.features.torchbase import TorchExtractor, common_config
from actionlab.features.weights import build_torchvision, is_run_dir
from actionlab.sampling import UniformSampler
from actionlab.video import read_sampled


def head_path(net: nn.Module, arch: str) -> str:
    """Dotted path of the classifier to remove (resnet `fc`, convnext `classifier.2`, others `classifier`)."""
    if hasattr(net, "fc"):
        return "fc"
    if arch.startswith("convnext"):
        return "classifier.2"
    return "classifier"


def _set(root: nn.Module, path: str, value: nn.Module) -> None:
    *parents, last = path.split(".")
    for part in parents:
        root = getattr(root, part)
    setattr(root, last, value)


class Cnn2dExtractor(TorchExtractor):
    """Frame CNN features (N x D) for `num_frames` uniformly sampled frames resized to `size` x `size`.

    `bf16=None` autocasts to bf16 where the hardware supports it natively (see torchbase); `batch_size` frames,
    gathered across videos by extract(), go through the network at once, in `streams` concurrent passes
    (`None`: 2 on a CPU, 1 on a GPU; see torchbase).
    """

    def __init__(self, backbone: str = "resnet18", *, weights: str | Path | None = None, num_frames: int = 8,
                 size: int = 224, seed: int = 0, bf16: bool | None = None, device: str | None = None,
                 batch_size: int = 32, streams: int | None = None) -> None:
        self.sampler = UniformSampler(num_frames)
        self.size, self.batch_size, self.rows_per_video = size, batch_size, num_frames
        bf16 = self._resolve(device, bf16, streams)
        self.config = common_config(f"cnn2d:{backbone}", weights, seed, size, bf16, num_frames=num_frames)
        self.run_model = is_run_dir(weights)
        model = _load_run(Path(weights)) if self.run_model else self._torchvision(backbone, weights, seed)
        self._setup(model)

    @staticmethod
    def _torchvision(arch: str, weights: str | Path | None, seed: int) -> nn.Module:
        probe_net = build_torchvision(arch, None, seed, ()) if weights not in (None, "imagenet") else None
        if probe_net is not None:
            head = head_path(probe_net, arch)
            del probe_net
            net = build_torchvision(arch, weights, seed, (head + ".",))
        else:
            net = build_torchvision(arch, weights, seed, ())
            head = head_path(net, arch)
        _set(net, head, nn.Identity())
        return net

    def decode(self, path: str | Path) -> tuple[np.ndarray, np.ndarray, float]:
        """Uniformly sampled frames at size x size."""
        frames, idx, info = read_sampled(path, self.sampler.sample, size=(self.size, self.size), threads=1)
        return frames, idx, info.fps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) → (N, D)."""
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        if self.run_model:
            return self.model.forward_features(x)
        return self.model(x).flatten(1)


def _load_run(run_dir: Path) -> nn.Module:
    """A model finetuned by `actionlab train` (workflow C), via actionlab.models.load_run_model."""
    try:
        from actionlab.models import load_run_model  # written by the models engineer
    except ImportError:
        raise CheckpointError(run_dir, "actionlab.models.load_run_model is not available to load a run dir") from None
    try:
        json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(run_dir / "config.json", f"unreadable run config: {err}") from None
    loaded = load_run_model(run_dir)
    return loaded[0] if isinstance(loaded, tuple) else loaded  # (model, config)
