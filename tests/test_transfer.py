"""Transfer learning: init from runs, files and (offline) torchvision weights; inflation, adaptation, freezing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

import actionlab.models.cnn2d
import actionlab.models.cnn3d
import actionlab.models.fusion
import actionlab.models.heads
import actionlab.models.inflate  # noqa: F401
from actionlab.errors import CheckpointError, ConfigError
from actionlab.methods import transfer
from actionlab.methods.transfer import freeze, init_weights, param_groups, pretrained_url, unfreeze
from actionlab.models.registry import create_model

CLASSES = ["a", "b", "c"]
W = 8


def _source_net(seed: int = 0, **kw) -> nn.Module:
    """A resnet-small with non-trivial BatchNorm statistics, as a trained frame-cnn would have."""
    torch.manual_seed(seed)
    net = create_model("resnet-small", num_classes=len(CLASSES), width=W, **kw)
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.1, 0.1)
    return net.eval()


def _run_dir(tmp_path: Path, net: nn.Module, classes: list[str] = CLASSES) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"method": "frame-cnn", "classes": classes}))
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(run / "model.safetensors"))
    return run


def _assert_body_equal(model: nn.Module, src: dict[str, torch.Tensor], prefix: str = "body.") -> None:
    own = model.state_dict()
    for key, value in src.items():
        if not key.startswith("head."):
            assert torch.equal(own[prefix + key], value), key


def test_run_folder_into_frame_fusion_head_by_classes(tmp_path: Path) -> None:
    src = _source_net()
    run = _run_dir(tmp_path, src)
    fused = create_model("frame-fusion", num_classes=3, backbone="resnet-small", backbone_kwargs={"width": W})
    rep = init_weights(fused, run, classes=["x", "y", "z"])
    _assert_body_equal(fused, src.state_dict())
    assert rep.head == "fresh" and not rep.new and not torch.equal(fused.head.weight, src.head.weight)
    fused2 = create_model("frame-fusion", num_classes=3, backbone="resnet-small", backbone_kwargs={"width": W})
    rep2 = init_weights(fused2, run, classes=CLASSES)
    assert rep2.head == "loaded" and torch.equal(fused2.head.weight, src.head.weight)
    assert "head fresh" in rep.line() and str(run) in rep.line()


def test_lrcn_reports_new_rnn(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, _source_net())
    model = create_model("lrcn", num_classes=3, backbone="resnet-small", backbone_kwargs={"width": W}, hidden=16)
    rep = init_weights(model, run, classes=CLASSES)
    assert rep.head == "fresh"  # the head sits on the LSTM, a different shape
    assert rep.new and all(k.startswith("rnn.") for k in rep.new)
    assert "new (rnn.*)" in rep.line()


def test_inflated_i3d_matches_2d_on_static_clip(tmp_path: Path) -> None:
    src = _source_net()
    run = _run_dir(tmp_path, src)
    i3d = create_model("i3d-resnet", num_classes=3, base="resnet-small", base_kwargs={"width": W})
    rep = init_weights(i3d, run, classes=CLASSES)
    assert rep.inflated > 0 and rep.head == "loaded" and not rep.new
    i3d.eval()
    frame = torch.randn(1, 3, 32, 32)
    clip = frame.unsqueeze(2).repeat(1, 1, 4, 1, 1)
    with torch.no_grad():
        assert torch.allclose(i3d.forward_features(clip), src.forward_features(frame), atol=1e-4)


def test_channel_adaptation_rgb_to_flow(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rgb = create_model("r2plus1d-small", num_classes=3, in_channels=3, width=W)
    path = tmp_path / "rgb.safetensors"
    save_file({k: v.contiguous() for k, v in rgb.state_dict().items()}, str(path))
    flow = create_model("r2plus1d-small", num_classes=3, in_channels=2, width=W)
    rep = init_weights(flow, path)
    assert rep.adapted >= 1 and rep.head == "loaded" and "channel-adapted" in rep.line()
    stem = flow.stem[0].weight
    expected = rgb.stem[0].weight.mean(1, keepdim=True).repeat(1, 2, 1, 1, 1) * 1.5
    assert stem.shape[1] == 2 and torch.allclose(stem, expected)


def test_freeze_backbone_keeps_weights_and_bn_stats_bit_identical(tmp_path: Path) -> None:
    src = _source_net()
    run = _run_dir(tmp_path, src)
    model = create_model("frame-fusion", num_classes=2, backbone="resnet-small", backbone_kwargs={"width": W})
    rep = init_weights(model, run, classes=["p", "q"])
    frozen = freeze(model, "backbone", rep.loaded)
    assert frozen and model.body.frozen and not getattr(model.head, "frozen", False)
    head_before = model.head.weight.detach().clone()
    opt = torch.optim.AdamW(param_groups(model, frozen, 0.1), lr=1e-2, weight_decay=0.1)
    model.train()
    for mod in model.modules():  # what the trainer does
        if getattr(mod, "frozen", False):
            mod.eval()
    for _ in range(3):
        loss = nn.functional.cross_entropy(model(torch.randn(2, 2, 3, 32, 32)), torch.tensor([0, 1]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    _assert_body_equal(model, src.state_dict())
    assert not torch.equal(model.head.weight, head_before)


def test_param_groups_and_unfreeze(tmp_path: Path) -> None:
    model = create_model("resnet-small", num_classes=3, width=W)
    frozen = freeze(model, "backbone")
    groups = param_groups(model, frozen, 0.1)
    assert [g["lr_mult"] for g in groups] == [1.0, 0.1]
    assert {id(p) for p in groups[0]["params"]} == {id(model.head.weight), id(model.head.bias)}
    unfreeze(model, frozen)
    assert all(p.requires_grad for p in model.parameters())
    assert not any(getattr(m, "frozen", False) for m in model.modules())
    assert param_groups(model, [], 0.1) == [{"params": list(model.parameters()), "lr_mult": 1.0}]
    assert freeze(model, "none") == []


def test_all_but_last_one_freezes_stem_and_first_three_stages() -> None:
    model = create_model("resnet-small", num_classes=3, width=W)
    frozen = {id(p) for p in freeze(model, "all-but-last:1")}
    for name, p in model.named_parameters():
        should = name.startswith(("stem.", "stages.0.", "stages.1.", "stages.2."))
        assert (id(p) in frozen) == should and p.requires_grad != should, name
    assert model.stem.frozen and model.stages[2].frozen and not getattr(model.stages[3], "frozen", False)


def test_freeze_errors() -> None:
    c3d = create_model("c3d", num_classes=3, width=0.0625, fc=16)
    with pytest.raises(ConfigError, match="no stages"):
        freeze(c3d, "all-but-last:1")
    model = create_model("resnet-small", num_classes=3, width=W)
    for bad in ("all-but-last:9", "all-but-last:x", "half"):
        with pytest.raises(ConfigError):
            freeze(model, bad)


def test_shape_mismatch_and_no_match_are_one_line(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, _source_net())
    wide = create_model("resnet-small", num_classes=3, width=16)
    with pytest.raises(CheckpointError, match=r"stem\.0\.weight.*\(8, 3, 3, 3\).*\(16, 3, 3, 3\)") as err:
        init_weights(wide, run, classes=CLASSES)
    assert "\n" not in str(err.value)
    other = tmp_path / "other.safetensors"
    save_file({"encoder.w": torch.zeros(2)}, str(other))
    with pytest.raises(CheckpointError, match="no tensor of") as err:
        init_weights(wide, other)
    assert "\n" not in str(err.value)


def test_pickle_payload_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"stem.0.weight": Payload()}, path)
    with pytest.raises(CheckpointError):
        init_weights(create_model("resnet-small", num_classes=3, width=W), path)
    assert not marker.exists()


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private torch hub folder; downloads always fail, so nothing touches the network."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    return tmp_path / "hub" / "checkpoints"


def test_imagenet_from_local_verified_file(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    state = torchvision.models.resnet18(weights=None).state_dict()
    tmp = hub / "tmp.pth"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    tmp.rename(hub / f"resnet18-{digest}.pth")
    monkeypatch.setattr(transfer, "pretrained_url", lambda tv, kind: f"https://example.invalid/resnet18-{digest}.pth")
    model = create_model("resnet18", num_classes=5)
    rep = init_weights(model, "imagenet", classes=list("abcde"))
    own = model.state_dict()
    assert all(torch.equal(own["body." + k], v) for k, v in state.items() if not k.startswith("fc."))
    assert rep.head == "fresh" and not rep.new and rep.source == "imagenet"


def test_imagenet_hash_mismatch_and_missing_file(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.save({"conv1.weight": torch.zeros(1)}, hub / "resnet18-deadbeef.pth")
    monkeypatch.setattr(transfer, "pretrained_url", lambda tv, kind: "https://example.invalid/resnet18-deadbeef.pth")
    model = create_model("resnet18", num_classes=5)
    with pytest.raises(CheckpointError, match="does not match the hash in its name"):
        init_weights(model, "imagenet")
    monkeypatch.setattr(transfer, "pretrained_url", lambda tv, kind: "https://example.invalid/resnet18-0123abcd.pth")
    with pytest.raises(CheckpointError, match="not on this machine") as err:
        init_weights(model, "imagenet")
    assert str(hub) in str(err.value) and "\n" not in str(err.value)
    assert not list(hub.glob("*.partial"))


def test_pretrained_config_errors() -> None:
    assert pretrained_url("resnet18", "imagenet").endswith(".pth")
    assert "r2plus1d_18" in pretrained_url("r2plus1d_18", "kinetics400")
    with pytest.raises(ConfigError, match="no imagenet weights"):
        pretrained_url("r3d_18", "imagenet")
    with pytest.raises(ConfigError, match="no kinetics400 weights"):
        pretrained_url("resnet18", "kinetics400")
    with pytest.raises(ConfigError, match="no pretrained weights.*resnet18"):
        init_weights(create_model("resnet-small", num_classes=3, width=W), "imagenet")
