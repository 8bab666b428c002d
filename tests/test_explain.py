"""Grad-CAM finds the evidence: a net that detects a bright square looks at the square."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from actionlab.errors import ConfigError
from actionlab.explain import find_target_layer, grad_cam, guided_backprop, overlay
from actionlab.video import read_frames
from media import write_video


class SquareNet(nn.Module):
    """Class 1 = 'bright square present' (mean brightness evidence), class 0 its opposite."""

    def __init__(self, conv: type[nn.Module], kernel: int = 3) -> None:
        super().__init__()
        self.stem = conv(3, 2, kernel, padding=kernel // 2)
        with torch.no_grad():
            self.stem.weight.zero_()
            self.stem.weight[0].fill_(1.0 / self.stem.weight[0].numel())  # channel 0: local brightness
            self.stem.bias.copy_(torch.tensor([-0.2, 1.0]))  # channel 1: a constant, no spatial evidence
        self.relu = nn.ReLU(inplace=True)
        self.head = nn.Linear(2, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))  # channel 1 is a distractor
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.relu(self.stem(x)).flatten(2).mean(dim=2)
        return self.head(feats)


def _square_images(corners: list[tuple[int, int]], size: int = 48) -> torch.Tensor:
    x = torch.full((len(corners), 3, size, size), 0.1)
    for i, (r, c) in enumerate(corners):
        x[i, :, r : r + 8, c : c + 8] = 1.0
    return x


def test_2d_cam_peaks_on_the_square() -> None:
    net = SquareNet(nn.Conv2d)
    corners = [(4, 4), (30, 10), (20, 36)]
    cams = grad_cam(net, _square_images(corners))
    assert cams.shape == (3, 48, 48) and cams.dtype == np.float32
    assert cams.min() >= 0 and cams.max() == pytest.approx(1.0)
    for cam, (r, c) in zip(cams, corners):
        peak_r, peak_c = np.unravel_index(cam.argmax(), cam.shape)
        assert r <= peak_r < r + 8 and c <= peak_c < c + 8
        assert cam[r : r + 8, c : c + 8].mean() > 3 * cam.mean()
    # class 0 is evidence *against* brightness: no positive Grad-CAM anywhere
    assert grad_cam(net, _square_images(corners), class_idx=0).max() == 0.0
    assert net.training  # the mode is restored


def test_3d_cam_finds_the_frames_and_place() -> None:
    net = SquareNet(nn.Conv3d)
    clip = torch.full((1, 3, 8, 32, 32), 0.1)
    clip[0, :, 5:7, 16:24, 4:12] = 1.0  # the square shows only in frames 5 and 6
    cams = grad_cam(net, clip, class_idx=[1])
    assert cams.shape == (1, 8, 32, 32)
    t, r, c = np.unravel_index(cams[0].argmax(), cams[0].shape)
    assert t in (5, 6) and 16 <= r < 24 and 4 <= c < 12
    assert cams[0, 0].max() < 0.5 * cams[0, 5].max()


def test_torchvision_model_and_frozen_weights() -> None:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = resnet18(weights=None, num_classes=5)
    for p in model.parameters():
        p.requires_grad_(False)
    assert find_target_layer(model) is model.layer4[1].conv2
    cams = grad_cam(model, torch.rand(2, 3, 64, 64), class_idx=3)
    assert cams.shape == (2, 64, 64) and np.isfinite(cams).all() and cams.max() <= 1.0
    guided = guided_backprop(model, torch.rand(1, 3, 64, 64))  # in-place ReLUs reused twice per block
    assert guided.shape == (1, 3, 64, 64) and np.isfinite(guided).all() and np.abs(guided).sum() > 0
    with pytest.raises(ConfigError, match="class_idx"):
        grad_cam(model, torch.rand(1, 3, 64, 64), class_idx=9)
    with pytest.raises(ConfigError, match="no Conv2d"):
        grad_cam(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), torch.rand(1, 3, 2, 2))


def test_overlay_on_decoded_video_frames(tmp_path) -> None:
    frames = np.full((6, 48, 64, 3), 30, np.uint8)
    for i in range(6):
        frames[i, 10:26, 8 + 6 * i : 24 + 6 * i] = 230  # a bright square moving right
    path = write_video(tmp_path / "square.mp4", frames)
    decoded = read_frames(path, range(6))
    x = torch.from_numpy(decoded).permute(0, 3, 1, 2).float() / 255
    cams = grad_cam(SquareNet(nn.Conv2d), x, class_idx=1)
    images = overlay(decoded, cams[:, ::2, ::2])  # maps at another size are resized
    assert images.shape == decoded.shape and images.dtype == np.uint8
    # the hot (red) end of the colormap lands on the square, the cold (blue) end on the background
    assert images[3, 18, 8 + 18 + 8, 0] > decoded[3, 18, 8 + 18 + 8, 0] - 40
    assert images[3, 40, 60, 2] > images[3, 40, 60, 0]
    with pytest.raises(ConfigError, match="uint8"):
        overlay(decoded.astype(np.float32), cams)


def _coloured_squares(rng: np.random.Generator, n: int, size: int = 24) -> tuple[torch.Tensor, torch.Tensor, list]:
    """Grey images with an 8x8 square at a random place: red = class 0, green = class 1."""
    x = torch.full((n, 3, size, size), 0.4)
    y = torch.as_tensor(rng.integers(0, 2, n))
    corners = []
    for i in range(n):
        r, c = (int(v) for v in rng.integers(0, size - 8, 2))
        x[i, :, r : r + 8, c : c + 8] = 0.0
        x[i, int(y[i]), r : r + 8, c : c + 8] = 1.0
        corners.append((r, c))
    return x + 0.05 * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32)), y, corners


def test_trained_net_looks_at_the_coloured_square() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: threads only add contention on the shared CPU
    try:
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8, 2),
        )
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(40):
            x, y, _ = _coloured_squares(rng, 16)
            loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        x, y, corners = _coloured_squares(rng, 20)
        assert (net(x).argmax(1) == y).float().mean() >= 0.9
        cams = grad_cam(net, x, class_idx=y.tolist())
    finally:
        torch.set_num_threads(threads)
    hits = 0
    for cam, (r, c) in zip(cams, corners):
        peak_r, peak_c = np.unravel_index(cam.argmax(), cam.shape)
        hits += r - 2 <= peak_r < r + 10 and c - 2 <= peak_c < c + 10
    assert hits >= 18


def test_target_layer_skips_a_trailing_1x1_shortcut() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv3d(3, 4, 3, padding=1)
            self.shortcut = nn.Conv3d(3, 4, 1)  # registered last, as residual blocks do

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (self.conv(x) + self.shortcut(x)).mean(dim=(2, 3, 4))

    block = Block()
    assert find_target_layer(block) is block.conv
    assert find_target_layer(nn.Sequential(nn.Conv2d(3, 2, 1))).kernel_size == (1, 1)  # only 1x1: use it
    with pytest.raises(ConfigError, match="no part"):
        grad_cam(block, torch.rand(1, 3, 4, 8, 8), target_layer=nn.Conv3d(3, 4, 3))


def test_guided_backprop_highlights_the_square_and_restores_inplace_relu() -> None:
    net = SquareNet(nn.Conv2d)
    x = _square_images([(10, 20)])
    grads = guided_backprop(net, x, class_idx=1)
    assert grads.shape == (1, 3, 48, 48) and grads.min() >= 0
    mass = np.abs(grads[0]).sum(axis=0)
    assert mass[8:20, 18:30].sum() > 0.99 * mass.sum() > 0  # the square grown by two 3x3 receptive fields
    assert net.relu.inplace and net.training
