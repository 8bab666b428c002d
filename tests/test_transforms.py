"""Transforms on frames decoded from real encoded videos: layouts, normalisation, shared augmentation, flips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actionlab.errors import ConfigError
from actionlab.transforms import IMAGENET_MEAN, IMAGENET_STD, ClipTransform, flip_label_map, to_tensor
from actionlab.video import read_frames
from media import numbered_frames, write_video


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> np.ndarray:
    path = write_video(tmp_path_factory.mktemp("tf") / "n.mp4", numbered_frames(6, 48, 64))
    return read_frames(path, range(6))


def test_layouts_and_shapes(frames) -> None:
    assert ClipTransform(32)(frames)[0].shape == (3, 6, 32, 32)
    assert ClipTransform((24, 40), layout="2d")(frames)[0].shape == (6, 3, 24, 40)
    assert ClipTransform(32, train=True)(frames[0])[0].shape == (3, 32, 32)
    assert to_tensor(frames).shape == (3, 6, 48, 64) and to_tensor(frames, "2d").shape == (6, 3, 48, 64)
    with pytest.raises(ConfigError):
        ClipTransform(32, layout="4d")


def test_normalisation_constants() -> None:
    grey = np.full((2, 8, 8, 3), 128, np.uint8)
    out = to_tensor(grey, "2d", IMAGENET_MEAN, IMAGENET_STD)
    expected = (128 / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    assert np.allclose(out[0, :, 0, 0].numpy(), expected, atol=1e-5)
    assert torch.allclose(ClipTransform(8, layout="2d", mean=IMAGENET_MEAN, std=IMAGENET_STD)(grey)[0], out, atol=1e-4)


def test_eval_is_deterministic_and_training_augments(frames) -> None:
    assert torch.equal(ClipTransform(32)(frames)[0], ClipTransform(32)(frames)[0])
    torch.manual_seed(0)
    a = ClipTransform(32, train=True, rotation=10)(frames)[0]
    b = ClipTransform(32, train=True, rotation=10)(frames)[0]
    assert not torch.equal(a, b)


def test_augmentation_is_identical_for_every_frame(frames) -> None:
    static = np.repeat(frames[:1], 5, axis=0)
    for seed in range(4):
        torch.manual_seed(seed)
        clip, _ = ClipTransform(32, train=True, rotation=15)(static)
        assert all(torch.equal(clip[:, 0], clip[:, t]) for t in range(5))


def test_flip_swaps_mirror_labels_or_is_disabled(frames) -> None:
    classes = ["walk_left", "walk_right", "jump"]
    swap = flip_label_map(classes)
    assert swap == {0: 1, 1: 0}
    tf = ClipTransform(32, train=True, label_flip=swap, scale=(1.0, 1.0))
    labels = set()
    for seed in range(12):
        torch.manual_seed(seed)
        labels.add(tf(frames, 0)[1])
        torch.manual_seed(seed)
        assert tf(frames, 2)[1] == 2
    assert labels == {0, 1}
    no_flip = ClipTransform(32, train=True, flip=False, label_flip=swap)
    assert {no_flip(frames, 0)[1] for _ in range(8)} == {0}


def test_flipping_flow_negates_dx_and_resizing_scales_it() -> None:
    flow = np.zeros((3, 16, 16, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, 1.0
    seen = set()
    for seed in range(10):
        torch.manual_seed(seed)
        out, _ = ClipTransform(32, train=True, flow=True, scale=(1.0, 1.0))(flow)
        assert out.shape == (2, 3, 32, 32)
        dx, dy = float(out[0].mean()), float(out[1].mean())
        seen.add(round(np.sign(dx)))
        assert abs(dx) > 2.0 and dy > 1.0  # upsampled crops stretch the vectors
    assert seen == {-1, 1}
    with pytest.raises(ConfigError):
        ClipTransform(32, flow=True, rotation=5)


@pytest.mark.parametrize("name", ["vtest.avi", "cup.mp4"])
def test_real_clip_through_transform_and_clip_model(real_clips, name) -> None:
    from actionlab.models import create_model

    raw = read_frames(real_clips / name, range(16))
    clip, _ = ClipTransform(64, train=True)(raw)
    assert clip.shape == (3, 16, 64, 64) and torch.isfinite(clip).all()
    assert -3 < float(clip.mean()) < 3 and float(clip.std()) > 0.05  # normalised, not blank
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: avoid thread contention with other test processes
    try:
        torch.manual_seed(0)
        model = create_model("r2plus1d-small", num_classes=3).eval()
        with torch.no_grad():
            logits = model(torch.stack([clip, ClipTransform(64)(raw)[0]]))
    finally:
        torch.set_num_threads(before)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()


def test_shift_and_normalisation_match_their_definitions() -> None:
    """The one-pass shift + normalisation + colour draw equals its definition: the frames gathered at
    [clamp(i + dy), clamp(j + dx)], then (x[perm] / 255 - mean) / std times the colour draw, in float arithmetic."""
    from actionlab.transforms.augment import to_normalised

    x = torch.randint(0, 256, (5, 3, 20, 24), dtype=torch.uint8)
    norm = ((0.4, 0.5, 0.6), (0.2, 0.25, 0.3))
    mean, std = torch.tensor(norm[0]).view(1, 3, 1, 1), torch.tensor(norm[1]).view(1, 3, 1, 1)
    for seed in range(40):
        dy, dx = (int(v) for v in np.random.default_rng(seed).integers(-5, 6, 2))
        moved = x[:, :, torch.arange(20).add(dy).clamp(0, 19)][..., torch.arange(24).add(dx).clamp(0, 23)]
        plain = to_normalised(x, norm, None, (dy, dx))
        assert torch.allclose(plain, (moved.float() / 255 - mean) / std, atol=1e-5), (dy, dx)
        got = to_normalised(x, norm, np.random.default_rng(seed), (dy, dx))
        rng = np.random.default_rng(seed)
        perm = rng.permutation(3)
        grey = rng.random() < 0.3
        gain, offset = rng.uniform(0.6, 1.4), rng.uniform(-0.5, 0.5)
        sign = -1.0 if rng.random() < 0.5 else 1.0
        want = sign * (gain * ((moved[:, perm].float() / 255 - mean[:, perm]) / std[:, perm]) + offset)
        want = want.mean(1, keepdim=True).expand_as(want) if grey else want
        assert torch.allclose(got, want, atol=1e-5), (seed, dy, dx)
        major = to_normalised(x, norm, np.random.default_rng(seed), (dy, dx), channel_major=True)
        assert torch.equal(major, got) and major.transpose(0, 1).is_contiguous(), seed


def test_clip_reader_output_is_the_transposed_frames_without_a_copy(frames) -> None:
    """A 3D preset's clip (3, T, S, S) comes out of the channel-major pass contiguous and equal to the frames'
    (T, 3, S, S) result transposed, with and without augmentation."""
    from actionlab.methods.inputs import KINETICS, FrameReader
    from actionlab.transforms.augment import Augment

    raw = np.ascontiguousarray(frames[:, :32, :32])
    idx = np.arange(len(raw))
    for augment in (None, Augment(label_flip={0: 1})):
        clip, _ = FrameReader(None, 32, "3d", KINETICS, augment).transform(raw, idx, 0, np.random.default_rng(3))
        flat, _ = FrameReader(None, 32, "2d", KINETICS, augment).transform(raw, idx, 0, np.random.default_rng(3))
        assert clip.is_contiguous() and clip.shape == (1, 3, len(raw), 32, 32)
        assert torch.equal(clip, flat.transpose(1, 2))
