"""Extractors on small real encoded videos: shapes, determinism, weights from files, bf16 closeness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from actionlab.errors import ActionlabError, CheckpointError, FeatureError
from actionlab.features import create_extractor, dequantize_flow, quantize_flow
from media import write_video


def moving_square(n: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Textured frames with a bright square moving right: real structure for SIFT and flow."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h // 4, w // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    frames = np.repeat(base[None], n, axis=0).copy()
    for i in range(n):
        x = 4 + i % (w - 20)
        frames[i, 16:32, x : x + 16] = 255
    return frames


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("vids")
    return [write_video(root / f"v{i}.mp4", moving_square(20, i)) for i in range(3)]


def test_cnn2d_shapes_and_determinism(videos: list[Path]) -> None:
    a = create_extractor("cnn2d:resnet18", num_frames=4, size=64, device="cpu")
    b = create_extractor("cnn2d:resnet18", num_frames=4, size=64, device="cpu")
    fa = a.transform(videos[0])
    assert fa.values.shape == (4, 512) and fa.values.dtype == np.float32
    assert fa.indices.tolist() == sorted(fa.indices.tolist()) and len(fa.indices) == 4
    assert fa.fps == pytest.approx(25.0)
    np.testing.assert_array_equal(fa.values, b.transform(videos[0]).values)
    assert not np.allclose(fa.values, a.transform(videos[1]).values)


def test_cnn2d_weights_from_state_dict_file(videos: list[Path], tmp_path: Path) -> None:
    torch.manual_seed(123)
    net = torchvision.models.resnet18()
    state = {f"module.{k}": v for k, v in net.state_dict().items()}  # DataParallel-style prefix is stripped
    torch.save(state, tmp_path / "w.pth")
    ex = create_extractor(
        "cnn2d:resnet18", weights=str(tmp_path / "w.pth"), num_frames=2, size=64, device="cpu", bf16=False
    )
    frames, _, _ = ex.decode(videos[0])
    net.fc = torch.nn.Identity()
    with torch.inference_mode():
        want = net.eval()(ex.to_input(frames)).numpy()
    np.testing.assert_allclose(ex.transform(videos[0]).values, want, atol=1e-4)
    assert ex.config["weights"].endswith("w.pth")
    random = create_extractor("cnn2d:resnet18", num_frames=2, size=64, device="cpu", bf16=False)
    assert not np.allclose(random.transform(videos[0]).values, want, atol=1e-3)


def test_weights_with_wrong_keys_name_them(tmp_path: Path) -> None:
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="missing"):
        create_extractor("cnn2d:resnet18", weights=str(tmp_path / "bad.pt"), device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        create_extractor("cnn2d:resnet18", weights=str(tmp_path / "nope.pt"), device="cpu")


def test_imagenet_weights_offline_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(CheckpointError) as info:
        create_extractor("cnn2d:resnet18", weights="imagenet", device="cpu")
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path / "torch") in msg and "--weights" in msg


def test_cnn3d_shapes_and_weights_file(videos: list[Path], tmp_path: Path) -> None:
    torch.manual_seed(7)
    net = torchvision.models.video.r3d_18()
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "r3d.safetensors"))
    ex = create_extractor(
        "cnn3d:r3d_18",
        weights=str(tmp_path / "r3d.safetensors"),
        num_clips=2,
        clip_len=4,
        size=32,
        device="cpu",
        bf16=False,
    )
    fa = ex.transform(videos[0])
    assert fa.values.shape == (2, 512) and fa.indices.shape == (2, 4)
    frames, _, _ = ex.decode(videos[0])
    net.fc = torch.nn.Identity()
    with torch.inference_mode():
        want = net.eval()(ex.to_input(frames).transpose(1, 2)).numpy()
    np.testing.assert_allclose(fa.values, want, atol=1e-4)
    np.testing.assert_array_equal(fa.values, ex.transform(videos[0]).values)


def test_bf16_close_to_fp32_and_default_where_native(videos: list[Path]) -> None:
    """bf16 autocast: resnet18 and r3d_18 features within 2% relative L2 of fp32 (measured ~0.4-1%)."""
    from actionlab.features.torchbase import native_bf16

    for name, opts in (
        ("cnn2d:resnet18", {"num_frames": 4, "size": 64}),
        ("cnn3d:r3d_18", {"num_clips": 1, "clip_len": 4, "size": 32}),
    ):
        fp32 = create_extractor(name, device="cpu", bf16=False, **opts)
        bf16 = create_extractor(name, device="cpu", bf16=True, **opts)
        want, got = fp32.transform(videos[0]).values, bf16.transform(videos[0]).values
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert 0 < rel < 0.02, (name, rel)  # > 0: bf16 really ran
        assert fp32.config["bf16"] is False and bf16.config["bf16"] is True  # different stores
    default = create_extractor("cnn2d:resnet18", num_frames=4, size=64, device="cpu")
    assert default.bf16 == default.config["bf16"] == native_bf16(torch.device("cpu"))


def test_batch_across_videos_equals_one_by_one(videos: list[Path]) -> None:
    ex = create_extractor("cnn2d:resnet18", num_frames=3, size=48, device="cpu", bf16=False)
    decoded = [ex.decode(v) for v in videos]
    together = ex.compute_batch(decoded)
    for d, fa in zip(decoded, together):
        alone = ex.compute(d)
        assert fa.values.shape == (3, 512)
        np.testing.assert_allclose(fa.values, alone.values, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(fa.indices, alone.indices)


def test_flow_extractors_quantised_and_moving_right(videos: list[Path]) -> None:
    for name in ("flow:farneback", "flow:dis"):
        ex = create_extractor(name, num_flows=4, step=1, size=48)
        fa = ex.transform(videos[0])
        assert fa.values.dtype == np.uint8 and fa.values.shape == (4, 48, 64, 2)
        assert len(fa.indices) == 5
        flow = dequantize_flow(fa.values, ex.config["bound"])
        assert flow[:, 16:32, :, 0].max() > 0.5  # the square moves right by 1 px per frame
    f = np.array([-30.0, -1.0, 0.0, 2.5, 30.0], np.float32)
    np.testing.assert_allclose(dequantize_flow(quantize_flow(f, 20), 20), np.clip(f, -20, 20), atol=20 / 255 + 1e-6)


def test_sift_bow_fit_then_transform(videos: list[Path]) -> None:
    ex = create_extractor("sift-bow", k=8, num_frames=4, size=64)
    assert ex.needs_fit
    with pytest.raises(FeatureError, match="not fitted"):
        ex.transform(videos[0])
    ex.fit(videos[:2])
    fa = ex.transform(videos[2])
    assert fa.values.shape == (1, 8) and fa.values.max() <= 1.0 and fa.values.sum() > 0
    np.testing.assert_array_equal(fa.values, ex.transform(videos[2]).values)


def test_bad_names_and_videos(tmp_path: Path) -> None:
    with pytest.raises(FeatureError, match="unknown extractor"):
        create_extractor("hog")
    with pytest.raises(FeatureError, match="bad option"):
        create_extractor("flow:dis", colour=True)
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(ActionlabError, match="junk.mp4"):
        create_extractor("flow:dis").transform(tmp_path / "junk.mp4")
