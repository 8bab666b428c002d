"""BatchNorm statistics over the global batch on CPU processes (gloo), as torch's SyncBatchNorm does on GPUs.

torch's SyncBatchNorm refuses CPU tensors, and without it each process would normalise only its share of the
batch: a 2-process run of a BatchNorm network then trains differently from the one-process run (tiny clip3d
run: epoch-1 loss 2.877 vs 2.831; with this module 2.8305 for both). Here each training-mode BatchNorm
all-reduces its per-channel sum and count, then the squared deviations from the global mean, with a
differentiable all-reduce, so forward and gradients are those of the global batch. The forward is replaced on
the instance (as training.bf16 does): module types, state-dict keys and the `frozen` flag stay; eval mode or a
frozen BatchNorm runs the stock forward.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; its gradient is the sum of every process's gradient (torch.distributed.nn's
    all_reduce, which does the same, is deprecated for a private API)."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _forward(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    if not (bn.training and dist.is_initialized() and dist.get_world_size() > 1):
        return type(bn).forward(bn, x)
    c, dims = x.shape[1], [0, *range(2, x.dim())]
    shape = [1, c] + [1] * (x.dim() - 2)
    xf = x.float()
    # two passes, summed in float64 as torch's CPU BatchNorm does: first the global mean, then the squared
    # deviations from it. (E[x^2] - mean^2 in float32 cancels catastrophically where a channel's mean is large
    # against its spread, and a 2-process run then drifted from the one-process run within 2 epochs.)
    count = torch.full((1,), xf.numel() / c, dtype=torch.float64)
    sums = _AllReduceSum.apply(torch.cat([xf.sum(dims, dtype=torch.float64), count]))
    n = sums[-1]
    mean = (sums[:c] / n).float()
    centred = xf - mean.view(shape)
    var = (_AllReduceSum.apply((centred * centred).sum(dims, dtype=torch.float64)) / n).float()  # biased
    if bn.track_running_stats:
        tracked, running_mean, running_var = bn.num_batches_tracked, bn.running_mean, bn.running_var
        assert tracked is not None and running_mean is not None and running_var is not None  # tracked stats
        with torch.no_grad():
            tracked.add_(1)
            m = bn.momentum if bn.momentum is not None else 1.0 / float(tracked)
            running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
            running_var.mul_(1 - m).add_((var.detach() * n / (n - 1).clamp_min(1)).float(), alpha=m)
    y = centred * torch.rsqrt(var.view(shape) + bn.eps)
    if bn.affine:
        y = y * bn.weight.view(shape) + bn.bias.view(shape)
    return y.to(x.dtype)


def sync_batchnorm_cpu(model: nn.Module) -> int:
    """Make every BatchNorm of `model` normalise over all processes' samples in training; returns how many."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.forward = _forward.__get__(bn)  # type: ignore[method-assign]  # bound to this instance only, on purpose
    return len(bns)
