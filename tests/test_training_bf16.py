"""bf16 training on CPU: Conv3d layers oneDNN gets wrong in bf16 run in fp32, and training stays finite."""

from __future__ import annotations

import torch
from torch import nn

from actionlab.training.bf16 import guard_conv3d


def weight_grad(conv: nn.Conv3d, x: torch.Tensor, g: torch.Tensor, bf16: bool) -> torch.Tensor:
    conv.weight.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = conv(x)
    y.float().backward(g)
    return conv.weight.grad.clone()


def test_guarded_conv3d_gives_the_fp32_gradient_where_the_kernel_is_longer_than_the_input() -> None:
    torch.manual_seed(0)
    conv = nn.Conv3d(64, 32, (3, 1, 1), padding=(1, 0, 0), bias=False)
    keys = list(conv.state_dict())
    assert guard_conv3d(nn.Sequential(conv)) == 1 and list(conv.state_dict()) == keys
    for _ in range(5):  # the unguarded bf16 gradient was non-finite in most such calls (torch 2.14 oneDNN)
        x = torch.randn(16, 64, 2, 2, 2, requires_grad=True)  # 2 frames under a 3-frame kernel
        g = torch.randn(16, 32, 2, 2, 2)
        ref, got = weight_grad(conv, x, g, False), weight_grad(conv, x, g, True)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)


def test_guarded_conv3d_keeps_bf16_where_the_input_is_long_enough() -> None:
    conv = nn.Conv3d(8, 8, (3, 3, 3), padding=1)
    guard_conv3d(conv)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv(torch.randn(2, 8, 4, 6, 6)).dtype == torch.bfloat16
        assert conv(torch.randn(2, 8, 2, 6, 6)).dtype == torch.float32


def test_bf16_training_of_a_small_2plus1d_net_stays_finite(tmp_path) -> None:
    from torch.utils.data import TensorDataset

    from actionlab.models import create_model
    from actionlab.training import TrainConfig, Trainer

    torch.manual_seed(0)
    x = torch.randn(32, 3, 8, 32, 32)  # 8 frames: the last stage sees 2, under 3-frame temporal kernels
    y = torch.arange(32) % 4
    model = create_model("r2plus1d-small", num_classes=4, width=8)
    cfg = TrainConfig(epochs=3, batch_size=8, lr=3e-3, bf16=True, progress=False, seed=0)
    history = Trainer(cfg).fit(model, TensorDataset(x, y), None, tmp_path / "run")
    losses = [e.train_loss for e in history.epochs]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
