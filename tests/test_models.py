"""Models: registry, shared interface, inflation, weight loading/adaptation, checkpoints, freezing."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from actionlab.errors import CheckpointError, ConfigError
from actionlab.models import (
    count_parameters,
    create_model,
    freeze,
    inflate_2d_to_3d,
    list_models,
    load_run_model,
    load_weights,
    model_size_mb,
    save_checkpoint,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """2 shared cores: intra-op threads fight the other test processes and run ~50x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CLIP = (2, 3, 4, 32, 32)
INPUTS = {  # name -> (kwargs, input shapes); anything not listed is a 2D image model
    "r2plus1d-small": ({}, [CLIP]),
    "c3d": ({"width": 0.0625}, [CLIP]),
    "i3d-resnet": ({}, [CLIP]),
    "r3d_18": ({}, [CLIP]),
    "mc3_18": ({}, [CLIP]),
    "r2plus1d_18": ({}, [CLIP]),
    "s3d": ({}, [(2, 3, 8, 32, 32)]),
    "mlp-head": ({"in_features": 10}, [(2, 10)]),
    "rnn-head": ({"in_features": 10}, [(2, 5, 10)]),
    "frame-fusion": ({}, [(2, 3, 3, 32, 32)]),
    "lrcn": ({}, [(2, 3, 3, 32, 32)]),
    "two-stream": ({}, [(2, 3, 32, 32), (2, 20, 32, 32)]),
}


@pytest.mark.parametrize("name", list_models())
def test_every_model_answers_the_interface(name: str) -> None:
    torch.manual_seed(0)
    kwargs, shapes = INPUTS.get(name, ({}, [(2, 3, 32, 32)]))
    model = create_model(name, num_classes=5, **kwargs).eval()
    xs = [torch.randn(s) for s in shapes]
    with torch.no_grad():
        logits = model(*xs)
        feats = model.forward_features(*xs)
        assert logits.shape == (2, 5)
        assert feats.shape == (2, model.num_features)
        assert torch.allclose(model.forward_head(feats), logits, atol=1e-5)
        model.reset_classifier(3)
        assert model(*xs).shape == (2, 3)
    assert count_parameters(model) > 0 and model_size_mb(model) > 0


def test_unknown_model_and_bad_kwargs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown model"):
        create_model("nope", num_classes=2)
    with pytest.raises(ConfigError, match="r2plus1d-small"):
        create_model("r2plus1d-small", num_classes=2, bogus=1)


def test_flow_input_channels() -> None:
    model = create_model("r2plus1d-small", num_classes=4, in_channels=2)
    assert model(torch.randn(2, 2, 8, 64, 64)).shape == (2, 4)


def test_inflated_net_on_static_clip_equals_2d_net() -> None:
    torch.manual_seed(0)
    net2d = create_model("resnet-small", num_classes=4, blocks=2)
    with torch.no_grad():  # non-trivial BN statistics so the check covers them
        for m in net2d.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    net2d.eval()
    net3d = inflate_2d_to_3d(net2d).eval()
    image = torch.randn(2, 3, 32, 32)
    clip = image.unsqueeze(2).repeat(1, 1, 5, 1, 1)
    with torch.no_grad():
        assert torch.allclose(net3d(clip), net2d(image), atol=1e-5)
        moving = torch.randn(2, 3, 5, 32, 32)
        assert not torch.allclose(net3d(moving), net2d(moving[:, :, 0]), atol=1e-3)


def test_nonlocal_block_starts_as_identity_and_i3d_uses_it() -> None:
    torch.manual_seed(0)
    plain = create_model("r2plus1d-small", num_classes=3).eval()
    torch.manual_seed(0)
    with_nl = create_model("r2plus1d-small", num_classes=3, nonlocal_stages=(2,)).eval()
    assert count_parameters(with_nl) > count_parameters(plain)
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():  # the non-local output BN is zero-initialised
        assert with_nl(x).shape == (1, 3)
    assert create_model("i3d-resnet", num_classes=3, nonlocal_stages=(1,))(x).shape == (1, 3)


def test_rnn_head_uses_last_valid_step() -> None:
    torch.manual_seed(0)
    model = create_model("rnn-head", num_classes=3, in_features=6, bidirectional=True, num_layers=2, cell="gru").eval()
    x, lengths = torch.randn(3, 7, 6), torch.tensor([7, 2, 4])
    padded = x.clone()
    padded[1, 2:] = 100.0  # garbage in the padding must not matter
    with torch.no_grad():
        out = model(x, lengths)
        assert torch.allclose(out, model(padded, lengths), atol=1e-6)
        assert torch.allclose(out[1:2], model(x[1:2, :2]), atol=1e-6)


def test_load_weights_from_safetensors_and_pt(tmp_path) -> None:
    torch.manual_seed(0)
    src = create_model("resnet-small", num_classes=10)
    state = src.state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "w.safetensors")
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "w.pt")  # DataParallel-style keys
    for fname in ("w.safetensors", "w.pt"):
        dst = create_model("resnet-small", num_classes=10, weights=str(tmp_path / fname))
        assert torch.equal(dst.stem[0].weight, src.stem[0].weight)
        assert torch.equal(dst.head.weight, src.head.weight)
    again = load_weights(create_model("resnet-small", num_classes=10), tmp_path / "w.pt")
    assert torch.equal(again.stages[2][0].conv1.weight, src.stages[2][0].conv1.weight)


def test_load_weights_adapts_class_count_and_flow_channels(tmp_path) -> None:
    torch.manual_seed(0)
    src = create_model("r2plus1d-small", num_classes=10)
    path = tmp_path / "rgb.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, path)
    dst = create_model("r2plus1d-small", num_classes=4, in_channels=2, weights=str(path))
    w_rgb, w_flow = src.stem[0].weight, dst.stem[0].weight
    assert w_flow.shape[1] == 2 and dst.head.out_features == 4
    # the averaged RGB filter, repeated and rescaled so the summed response is unchanged
    assert torch.allclose(w_flow[:, 0], w_rgb.mean(1) * 1.5, atol=1e-6)
    assert torch.allclose(w_flow.sum(1), w_rgb.sum(1), atol=1e-5)
    assert torch.equal(dst.stages[1][0].conv1[0][0].weight, src.stages[1][0].conv1[0][0].weight)


def test_incompatible_or_broken_weight_files_raise_checkpoint_error(tmp_path) -> None:
    other = create_model("resnet-small", num_classes=3)
    path = tmp_path / "other.safetensors"
    save_file(other.state_dict(), path)
    with pytest.raises(CheckpointError, match="incompatible with model r2plus1d-small"):
        create_model("r2plus1d-small", num_classes=3, weights=str(path))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt: not a readable state dict"):
        create_model("resnet-small", num_classes=3, weights=str(bad))
    with pytest.raises(CheckpointError, match="not found"):
        create_model("resnet-small", num_classes=3, weights=str(tmp_path / "missing.pt"))


def test_imagenet_weights_offline_give_one_line_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # make sure nothing is fetched even if online
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with pytest.raises(CheckpointError) as err:
        create_model("mobilenet_v3_small", num_classes=3, weights="imagenet")
    assert "\n" not in str(err.value) and "TORCH_HOME" in str(err.value)
    with pytest.raises(CheckpointError, match="no imagenet weights"):
        create_model("resnet-small", num_classes=3, weights="imagenet")


def test_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model("r2plus1d-small", num_classes=3, in_channels=2, nonlocal_stages=(3,)).eval()
    save_checkpoint(tmp_path / "run", model, {"classes": ["a", "b", "c"]})
    loaded, config = load_run_model(tmp_path / "run")
    assert config["classes"] == ["a", "b", "c"] and config["model"]["name"] == "r2plus1d-small"
    x = torch.randn(1, 2, 4, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert not any(p.name.startswith(".") for p in (tmp_path / "run").iterdir())  # no temp files left
    with pytest.raises(CheckpointError, match="config.json"):
        load_run_model(tmp_path / "nowhere")


def test_freeze_head_only_and_last_stages() -> None:
    model = freeze(create_model("resnet-small", num_classes=3))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias"}
    freeze(model, last_stages=1)
    trainable = {n.split(".")[0] + "." + n.split(".")[1] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias", "stages.3"}


def test_two_stream_trains_only_its_head_mid_level() -> None:
    model = create_model(
        "two-stream",
        num_classes=3,
        level="mid",
        mode="concat",
        rgb_model="r2plus1d-small",
        flow_model="r2plus1d-small",
        flow_channels=2,
    )
    model.train()
    assert not model.rgb.training and not model.flow.training  # frozen streams keep their BN stats
    loss = model(torch.randn(2, 3, 4, 32, 32), torch.randn(2, 2, 4, 32, 32)).sum()
    loss.backward()
    assert all(p.grad is None for p in model.rgb.parameters())
    assert model.match.weight.grad is not None and model.head.weight.grad is not None
    with pytest.raises(ConfigError):
        create_model("two-stream", num_classes=3, mode="median")


def test_frame_fusion_averages_per_frame_scores(tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model("frame-fusion", num_classes=4, backbone="resnet-small", backbone_kwargs={"width": 8}).eval()
    frames = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        per_frame = model.forward_head(model.body.forward_features(frames.flatten(0, 1))).view(2, 5, 4)
        assert torch.allclose(model(frames), per_frame.mean(1), atol=1e-5)
    save_checkpoint(tmp_path / "ff", model, {})
    loaded, config = load_run_model(tmp_path / "ff")
    assert config["model"]["kwargs"]["backbone_kwargs"] == {"width": 8}
    with torch.no_grad():
        assert torch.equal(loaded(frames), model(frames))
