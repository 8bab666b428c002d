"""The CUDA path: autocast bf16/fp16 with loss scaling, channels_last (2D and 3D), pinned memory, SyncBatchNorm;
the CUDA tests skip without a GPU, the checks of the same code that CPUs can run always run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from actionlab.errors import ConfigError
from actionlab.models import create_model
from actionlab.training import TrainConfig, Trainer
from actionlab.training.distributed import World
from actionlab.training.trainer import _loaders, _place, _sync_batchnorm

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _clips(n: int = 16) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 4, 32, 32, generator=g)
    return TensorDataset(x, torch.arange(n) % 2)


def _fit(tmp_path: Path, name: str, device: str, **cfg) -> list[float]:
    torch.manual_seed(0)
    model = create_model("r2plus1d-small", num_classes=2, width=8)
    config = TrainConfig(epochs=2, batch_size=8, lr=3e-3, progress=False, tracker="none", device=device, **cfg)
    history = Trainer(config).fit(model, _clips(), None, tmp_path / name)
    return [e.train_loss for e in history.epochs]


def test_fp16_needs_cuda(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        _fit(tmp_path, "fp16", "cpu", fp16=True)


def test_channels_last_works_for_3d_networks_on_cpu(tmp_path: Path) -> None:
    # Module.to(memory_format=channels_last) raises on the 5D weights of a Conv3d: those take channels_last_3d
    losses = _fit(tmp_path, "cl", "cpu", channels_last=True)
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    conv = create_model("r2plus1d-small", num_classes=2, width=8)
    _place(conv, TrainConfig(channels_last=True, tracker="none"), torch.device("cpu"), World())
    weights = [p for p in conv.parameters() if p.dim() == 5]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last_3d) for p in weights)


def test_sync_batchnorm_keeps_weights_and_frozen_parts() -> None:
    model = create_model("resnet-small", num_classes=2, width=8)
    bns = [n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    dict(model.named_modules())[bns[0]].frozen = True
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _sync_batchnorm(model)
    mods = dict(model.named_modules())
    assert all(isinstance(mods[n], torch.nn.SyncBatchNorm) for n in bns) and mods[bns[0]].frozen
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


@cuda
def test_bf16_and_fp16_train_like_fp32_on_cuda(tmp_path: Path) -> None:
    fp32 = _fit(tmp_path, "fp32", "cuda")
    for precision in ("bf16", "fp16"):
        losses = _fit(tmp_path, precision, "cuda", channels_last=True, **{precision: True})
        assert all(torch.isfinite(torch.tensor(losses)))
        assert losses == pytest.approx(fp32, rel=0.1, abs=0.05)


@cuda
def test_cuda_loaders_pin_memory_and_workers_fit_the_cpu() -> None:
    cfg = TrainConfig(batch_size=4, num_workers=10_000, tracker="none")
    train, _, val = _loaders(_clips(), _clips(8), cfg, None, torch.device("cuda"), World())
    assert train.pin_memory and val.pin_memory
    assert 1 <= train.num_workers <= (torch.multiprocessing.cpu_count() or 1)


@cuda
def test_cudnn_benchmark_is_on_after_placing_a_model_on_cuda() -> None:
    model = create_model("resnet-small", num_classes=2, width=8)
    _place(model, TrainConfig(tracker="none"), torch.device("cuda"), World())
    assert torch.backends.cudnn.benchmark and next(model.parameters()).is_cuda
