"""Workflow B from the CLI alone: still images -> frame CNN -> middle-frame finetune on video -> two-stream."""

from __future__ import annotations

import json

import pytest

from actionlab.cli import main

SMALL = ["--epochs", "2", "--size", "32", "--workers", "0", "--batch-size", "8"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from actionlab.synth import generate

    base = tmp_path_factory.mktemp("wfb")
    images = generate(base / "stills", num_clips_per_class=4, size=64, seed=5, images=True)
    videos = generate(base / "videos", num_clips_per_class=3, size=64, seed=6)
    return base, images, videos


def test_images_to_video_to_two_stream(data, capsys):
    base, images, videos = data
    img, ft, flow, fused = (str(base / n) for n in ("img", "ft", "flow", "fused"))
    assert (
        main(
            [
                "train",
                "--dataset",
                f"images:{images}",
                "--method",
                "frame-cnn",
                "--out",
                img,
                *SMALL,
                "--set",
                "width=8",
                "--val-fraction",
                "0.25",
            ]
        )
        == 0
    )
    assert json.loads((base / "img" / "config.json").read_text())["dataset"]["num_val"] > 0
    assert (
        main(
            [
                "train",
                "--dataset",
                f"folder:{videos}",
                "--method",
                "frame-cnn",
                "--out",
                ft,
                *SMALL,
                "--set",
                "width=8",
                "--init",
                img,
                "--freeze",
                "all-but-last:1",
                "--lr",
                "1e-4",
                "--frames",
                "1",
            ]
        )
        == 0
    )
    cfg = json.loads((base / "ft" / "config.json").read_text())
    assert cfg["init"].startswith("init:") and cfg["options"]["freeze"] == "all-but-last:1"
    assert cfg["options"]["frames"] == 1 and cfg["options"]["lr"] == 1e-4
    assert (
        main(
            [
                "train",
                "--dataset",
                f"folder:{videos}",
                "--method",
                "flow2p1d",
                "--out",
                flow,
                *SMALL,
                "--set",
                "num_flows=3",
                "--set",
                "width=8",
            ]
        )
        == 0
    )
    head = ["--epochs", "2", "--workers", "0", "--batch-size", "8"]  # two-stream has no size: its streams decide
    assert (
        main(
            [
                "train",
                "--dataset",
                f"folder:{videos}",
                "--method",
                "two-stream",
                "--out",
                fused,
                *head,
                "--set",
                f"rgb_run={ft}",
                "--set",
                f"flow_run={flow}",
                "--set",
                "fusion=max",
            ]
        )
        == 0
    )
    streams = json.loads((base / "fused" / "config.json").read_text())["extra"]["streams"]
    assert streams["rgb"]["method"] == "frame-cnn" and streams["flow"]["method"] == "flow2p1d"
    assert "two-stream: test top1" in capsys.readouterr().out
