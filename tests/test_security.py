"""No code runs from untrusted weight files: every load path meets a pickle payload that would create a marker."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
import torchvision

import actionlab.models.cnn2d  # fill the registry
import actionlab.models.cnn3d  # noqa: F401
from actionlab.cli import main
from actionlab.errors import CheckpointError
from actionlab.features import create_extractor
from actionlab.methods import get_method, transfer
from actionlab.models import weights as model_weights
from actionlab.models.registry import create_model


class _Payload:
    """Unpickling this creates the marker file: the proof that a loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload_file(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"conv1.weight": _Payload(marker)}, path)
    return path


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$TORCH_HOME in tmp_path with no network: its hub/checkpoints folder is where torchvision looks."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def _published(arch: str) -> str:
    return Path(torchvision.models.get_model_weights(arch).DEFAULT.url).name


def _one_line_refusal(call, marker: Path) -> str:
    with pytest.raises(CheckpointError) as err:
        call()
    assert not marker.exists(), "the payload ran: a loader unpickled the file"
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.parametrize(
    "load",
    [
        lambda: create_extractor("cnn2d:resnet18", weights="imagenet", device="cpu"),  # extract --weights imagenet
        lambda: create_model("resnet18", num_classes=3, weights="imagenet"),  # models.create_model(weights=)
        lambda: transfer.init_weights(create_model("resnet18", num_classes=3), "imagenet"),  # train --init imagenet
    ],
    ids=["extractor", "create_model", "init"],
)
def test_crafted_cache_file_with_torchvision_name_never_runs(hub: Path, tmp_path: Path, load) -> None:
    marker = tmp_path / "marker"
    _payload_file(hub / _published("resnet18"), marker)
    message = _one_line_refusal(load, marker)
    assert "sha256" in message and str(hub) in message


def test_crafted_kinetics_cache_file_never_runs(hub: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    _payload_file(hub / _published("r3d_18"), marker)
    _one_line_refusal(lambda: create_extractor("cnn3d:r3d_18", weights="kinetics400", device="cpu"), marker)


def test_payload_whose_hash_matches_its_name_is_still_refused(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: even a file that passes the hash check is read with weights_only=True."""
    marker = tmp_path / "marker"
    tmp = _payload_file(hub / "tmp.pth", marker)
    name = f"resnet18-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth"
    tmp.rename(hub / name)
    monkeypatch.setattr(model_weights, "published_url", lambda arch, kind: f"https://example.invalid/{name}")
    monkeypatch.setattr(transfer, "pretrained_url", lambda arch, kind: f"https://example.invalid/{name}")
    for load in (
        lambda: create_extractor("cnn2d:resnet18", weights="imagenet", device="cpu"),
        lambda: create_model("resnet18", num_classes=3, weights="imagenet"),
        lambda: transfer.init_weights(create_model("resnet18", num_classes=3), "imagenet"),
    ):
        message = _one_line_refusal(load, marker)
        assert "pickled objects" in message


def test_missing_cache_file_says_where_to_put_it(hub: Path) -> None:
    with pytest.raises(CheckpointError) as err:
        create_extractor("cnn2d:resnet18", weights="imagenet", device="cpu")
    assert "\n" not in str(err.value) and str(hub) in str(err.value) and _published("resnet18") in str(err.value)


def test_verified_cache_file_loads(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    state = torchvision.models.resnet18(weights=None).state_dict()
    tmp = hub / "tmp.pth"
    torch.save(state, tmp)
    name = f"resnet18-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth"
    tmp.rename(hub / name)
    monkeypatch.setattr(model_weights, "published_url", lambda arch, kind: f"https://example.invalid/{name}")
    ex = create_extractor("cnn2d:resnet18", weights="imagenet", device="cpu")
    assert ex.config["weights"] == "imagenet"
    model = create_model("resnet18", num_classes=3, weights="imagenet")
    assert torch.equal(model.state_dict()["body.conv1.weight"], state["conv1.weight"])


@pytest.mark.parametrize(
    "load",
    [
        lambda p: create_extractor("cnn2d:resnet18", weights=str(p), device="cpu"),  # extract --weights FILE
        lambda p: create_extractor("cnn3d:r3d_18", weights=str(p), device="cpu"),
        lambda p: create_model("resnet-small", num_classes=3, weights=str(p)),
        lambda p: transfer.init_weights(create_model("resnet-small", num_classes=3, width=8), p),  # --init FILE
    ],
    ids=["cnn2d", "cnn3d", "create_model", "init"],
)
def test_weight_file_payload_never_runs(tmp_path: Path, load) -> None:
    marker = tmp_path / "marker"
    path = _payload_file(tmp_path / "evil.pth", marker)
    assert "pickled objects" in _one_line_refusal(lambda: load(path), marker)


def test_run_config_saying_imagenet_takes_the_verified_path(tiny, hub: Path, tmp_path: Path, capsys) -> None:
    """A features-mlp run whose config.json is edited to imagenet weights: predict refuses the crafted cache."""
    run = tmp_path / "run"
    get_method("features-mlp").train(
        tiny, run, {"family": "cnn2d:resnet18", "frames": 2, "size": 32, "epochs": 1, "batch_size": 8}
    )
    config = json.loads((run / "config.json").read_text())
    config["extra"]["weights"] = "imagenet"
    config["options"]["extractor_weights"] = "imagenet"
    (run / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "marker"
    _payload_file(hub / _published("resnet18"), marker)
    new = tmp_path / "new.mp4"  # not in the run's store: predict extracts it with the run's extractor
    shutil.copy(tiny.test[0].path, new)
    capsys.readouterr()
    rc = main(["predict", str(run), str(new)])
    err = capsys.readouterr().err
    assert not marker.exists()
    assert rc != 0 and "Traceback" not in err and "sha256" in err


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit greyscale PNG of width x height: tens of KB on disk, width*height*3 bytes once decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor, parts = zlib.compressobj(6), []
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


_RSS_PROBE = """
import resource, sys
from actionlab.errors import VideoError
from actionlab.video import probe, read_frames
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for call in (lambda: probe(sys.argv[1]), lambda: read_frames(sys.argv[1], [0])):
    try:
        call()
        print("accepted")
    except VideoError as err:
        print(err)
print("rss_rise_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def test_png_claiming_20000x20000_is_refused_from_its_header(tmp_path: Path) -> None:
    import subprocess
    import sys

    bomb = _png_claiming(tmp_path / "bomb.png", 20000, 20000)
    assert bomb.stat().st_size < 2_000_000
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(bomb)], capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    assert out[0] == out[1] and "20000x20000 exceeds the limit" in out[0] and "ACTIONLAB_MAX_PIXELS" in out[0]
    assert float(out[2].split()[1]) < 100, f"decoded before refusing: {out[2]}"


def test_image_pixel_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from actionlab.errors import VideoError
    from actionlab.video import probe

    small = _png_claiming(tmp_path / "small.png", 64, 48)
    assert probe(small).width == 64
    monkeypatch.setenv("ACTIONLAB_MAX_PIXELS", "1000")
    with pytest.raises(VideoError, match="64x48 exceeds the limit of 1000 pixels"):
        probe(small)


def test_video_frames_larger_than_the_header_says_are_not_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MPEG-TS whose stream switches from 80x64 to 640x480: the header passes the limit, the big frames must not."""
    from actionlab.errors import VideoError
    from actionlab.video import probe, read_frames
    from media import numbered_frames, write_video

    small = write_video(tmp_path / "small.ts", numbered_frames(20, 64, 80), gop=10, bframes=0)
    large = write_video(tmp_path / "large.ts", numbered_frames(20, 480, 640), gop=10, bframes=0)
    both = tmp_path / "both.ts"
    both.write_bytes(small.read_bytes() + large.read_bytes())  # transport streams concatenate
    monkeypatch.setenv("ACTIONLAB_MAX_PIXELS", "10000")
    assert probe(both).num_frames == 20
    assert read_frames(both, [19]).shape == (1, 64, 80, 3)
    with pytest.raises(VideoError, match="out of range.*do not decode"):
        read_frames(both, [25])
