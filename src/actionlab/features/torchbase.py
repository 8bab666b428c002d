"""Shared machinery of the torch extractors: device, bf16 autocast, channels_last, decode/compute split.

Precision: `bf16=None` (the default) means bf16 autocast wherever the hardware runs it natively (CPUs with
AVX512-BF16/AMX, CUDA with bf16) and fp32 elsewhere. Measured in benchmarks/extract.py: resnet18 features stay
within 1% relative L2 of fp32 (tests/test_features.py asserts < 2%); pass `bf16=False` (CLI `--precision fp32`)
for bit-reproducible fp32 features.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.errors import FeatureError
from actionlab.features.base import Extractor, FeatureArray
from actionlab.transforms.clip import IMAGENET_MEAN, IMAGENET_STD



def native_bf16(device: torch.device) -> bool:
    """True when `device` runs bf16 matmuls/convolutions natively (so autocast is a speed-up, not an emulation)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def pick_device(device: str | None) -> torch.device:
    """`None` means CUDA when present, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise FeatureError(None, "--device cuda asked but no CUDA device is available")
    return torch.device(device)


class TorchExtractor(Extractor):
    """Base for CNN extractors: `decode(path)` (I/O, thread-safe) then `compute(decoded)` (the network)."""

    model: nn.Module
    device: torch.device
    bf16: bool
    batch_size: int = 32  # frames (cnn2d) or clips (cnn3d) per forward pass, gathered across videos
    rows_per_video: int = 1  # frames (cnn2d) or clips (cnn3d) one video gives
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def _resolve(self, device: str | None, bf16: bool | None) -> bool:
        """Pick the device and resolve `bf16=None` for it (call before building `config`, which records it)."""
        self.device = pick_device(device)
        self.bf16 = native_bf16(self.device) if bf16 is None else bool(bf16)
        return self.bf16

    def _setup(self, model: nn.Module) -> None:
        self.model = model.eval().to(self.device)
        if self.device.type == "cpu" and self.model_dims == 4:
            # channels_last speeds up oneDNN convolutions on CPU; values are unchanged.
            self.model = self.model.to(memory_format=torch.channels_last)

    model_dims: int = 4

    def decode(self, path: str | Path) -> tuple[np.ndarray, np.ndarray, float]:
        """Read the sampled frames: (frames uint8, indices, fps)."""
        raise NotImplementedError

    def to_input(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (..., H, W, 3) → normalised float tensor (..., 3, H, W) on the device."""
        # uint8 crosses to the device (a quarter of float's bytes); then one float copy normalised in place:
        # (x - 255 mean) * 1/(255 std) is (x / 255 - mean) / std up to float rounding, in two passes, not four.
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).float()
        mean = torch.tensor(self.mean, device=self.device).mul_(255)
        inv_std = torch.tensor(self.std, device=self.device).mul_(255).reciprocal_()
        return x.sub_(mean).mul_(inv_std).movedim(-1, -3)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast when asked, else a no-op."""
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the feature network on a batch."""
        raise NotImplementedError

    def compute(self, decoded: tuple[np.ndarray, np.ndarray, float]) -> FeatureArray:
        """Features of one decoded video."""
        return self.compute_batch([decoded])[0]

    @torch.inference_mode()
    def compute_batch(self, decoded: list[tuple[np.ndarray, np.ndarray, float]]) -> list[FeatureArray]:
        """Features of several decoded videos from one forward pass over their concatenated frames/clips."""
        counts = [len(frames) for frames, _, _ in decoded]
        frames = decoded[0][0] if len(decoded) == 1 else np.concatenate([f for f, _, _ in decoded])
        with self.autocast():
            out = self.forward(self.to_input(frames)).float().cpu().numpy()
        parts = np.split(out, np.cumsum(counts)[:-1])
        return [FeatureArray(np.ascontiguousarray(v), idx, fps) for v, (_, idx, fps) in zip(parts, decoded)]

    def transform(self, path: str | Path) -> FeatureArray:
        """Decode then compute."""
        return self.compute(self.decode(path))


def common_config(name: str, weights: Any, seed: int, size: int, bf16: bool, **more: Any) -> dict[str, Any]:
    """Config fields every CNN extractor records (device is not part of it: it does not change features much)."""
    return {"name": name, "weights": None if weights is None else str(weights), "seed": seed, "size": size,
            "bf16": bf16, **more}
