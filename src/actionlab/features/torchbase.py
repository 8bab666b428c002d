"""Shared machinery of the torch extractors: device, bf16 autocast, channels_last, decode/compute split, streams.

Precision: `bf16=None` (the default) means bf16 autocast wherever the hardware runs it natively (CPUs with
AVX512-BF16/AMX, CUDA with bf16) and fp32 elsewhere. Measured in benchmarks/extract.py: resnet18 features stay
within 1% relative L2 of fp32 (tests/test_features.py asserts < 2%); pass `bf16=False` (CLI `--precision fp32`)
for bit-reproducible fp32 features.

Streams: on a CPU, extract() runs `streams` forward passes at once (default 2, each on half of torch's threads)
instead of one pass on all of them. One pass's OpenMP threads meet at a barrier after every layer, so whenever
the decoding thread takes a core the other thread spins idle; two independent single-thread passes keep both
cores busy and let decoding slot in between. benchmarks/extract.py prints both forward-only rates and the ratio.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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


def default_streams(device: torch.device) -> int:
    """Concurrent forward passes extract() runs: 2 on a CPU with at least two torch threads, else 1."""
    return 2 if device.type == "cpu" and torch.get_num_threads() >= 2 else 1


def pick_device(device: str | None) -> torch.device:
    """`None` means CUDA when present, else CPU; a bare "cuda" is pinned to the current device's index."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise FeatureError(None, "--device cuda asked but no CUDA device is available")
    picked = torch.device(device)
    if picked.type == "cuda" and picked.index is None:
        # the network runs on extract()'s stream threads, whose current device is 0, not the caller's
        picked = torch.device("cuda", torch.cuda.current_device())
    return picked


class TorchExtractor(Extractor):
    """Base for CNN extractors: `decode(path)` (I/O, thread-safe) then `compute(decoded)` (the network)."""

    model: nn.Module
    device: torch.device
    bf16: bool
    batch_size: int = 32  # frames (cnn2d) or clips (cnn3d) per forward pass, gathered across videos
    rows_per_video: int = 1  # frames (cnn2d) or clips (cnn3d) one video gives
    streams: int = 1  # forward passes extract() runs at once (see the module docstring)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def _resolve(self, device: str | None, bf16: bool | None, streams: int | None = None) -> bool:
        """Pick the device, resolve `bf16=None` and `streams=None` for it (before `config`, which records bf16)."""
        self.device = pick_device(device)
        self.bf16 = native_bf16(self.device) if bf16 is None else bool(bf16)
        if streams is not None and streams < 1:
            raise FeatureError(None, f"streams must be >= 1, not {streams}")
        self.streams = default_streams(self.device) if streams is None else int(streams)
        return self.bf16

    @contextlib.contextmanager
    def stream_threads(self, streams: int | None = None) -> Iterator[int]:
        """Give each of `streams` (default self.streams) concurrent forward passes its share of torch's threads;
        restore on exit. torch's thread count is process-wide; threads started inside the block take the reduced
        count."""
        streams = streams or self.streams
        before = torch.get_num_threads()
        if streams > 1:
            torch.set_num_threads(max(1, before // streams))
        try:
            yield streams
        finally:
            if streams > 1:
                torch.set_num_threads(before)

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
    return {
        "name": name,
        "weights": None if weights is None else str(weights),
        "seed": seed,
        "size": size,
        "bf16": bf16,
        **more,
    }
