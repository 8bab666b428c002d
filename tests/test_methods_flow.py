"""flow2p1d and two-stream on tiny real encoded videos of a moving blob (left/right/up/down, random start)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from actionlab.data.dataset import Dataset, Sample
from actionlab.errors import ConfigError
from actionlab.methods import get_method
from media import write_video

CLASSES = ["left", "right", "up", "down"]
VELOCITY = {"left": (0, -1.5), "right": (0, 1.5), "up": (-1.5, 0), "down": (1.5, 0)}
SIZE, FRAMES = 32, 20
# small and fast: 8 flow fields at 32 px, width-8 networks
CFG = {"size": SIZE, "num_frames": 6, "num_flows": 8, "width": 8, "batch_size": 8, "epochs": 10, "lr": 5e-3}


def blob_clip(label: str, rng: np.random.Generator) -> np.ndarray:
    """A bright disc on a random flat background, moving one way; a single frame does not show which."""
    bg = rng.integers(30, 120, 3)
    y0, x0 = rng.uniform(10, SIZE - 10, 2)
    vy, vx = VELOCITY[label]
    y0, x0 = y0 - vy * FRAMES / 2, x0 - vx * FRAMES / 2  # centred path: the middle frame is anywhere
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    frames = np.empty((FRAMES, SIZE, SIZE, 3), np.uint8)
    for t in range(FRAMES):
        disc = (yy - (y0 + vy * t)) ** 2 + (xx - (x0 + vx * t)) ** 2 <= 16
        frames[t] = bg
        frames[t][disc] = (230, 220, 60)
    return frames


@pytest.fixture(scope="module")
def blobs(tmp_path_factory) -> Dataset:
    """4 classes x (6 train + 3 test) encoded H.264 clips."""
    root = tmp_path_factory.mktemp("blobs")
    rng = np.random.default_rng(0)
    train, test = [], []
    for label, name in enumerate(CLASSES):
        for i in range(9):
            path = write_video(root / name / f"{name}_{i}.mp4", blob_clip(name, rng))
            (train if i < 6 else test).append(Sample(path, label))
    return Dataset("blobs", CLASSES, train, test)


@pytest.fixture(scope="module")
def streams(blobs, tmp_path_factory) -> dict[str, str]:
    """clip3d and flow2p1d runs, as a compare would have trained them before two-stream."""
    out = tmp_path_factory.mktemp("streams")
    # clip3d's accuracy is not under test here: two epochs make a valid prior run
    epochs = {"clip3d": 2, "flow2p1d": CFG["epochs"]}
    return {name: str(get_method(name).train(blobs, out / name, {**CFG, "epochs": n}).run_dir)
            for name, n in epochs.items()}


def test_flow2p1d_loss_falls_and_tells_left_from_right(blobs, streams):
    run = streams["flow2p1d"]
    run_dir = Path(run)
    history = json.loads((run_dir / "history.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["top1"] > 0.5  # chance is 0.25
    lr = [s for s in blobs.test if CLASSES[s.label] in ("left", "right")]
    pred = get_method("flow2p1d").predict(run, [s.path for s in lr])
    hits = [int(pred.scores[str(s.path)].argmax() == s.label) for s in lr]
    assert sum(hits) / len(hits) > 0.5  # the same frames in the other order: only motion tells them apart
    assert json.loads((run_dir / "config.json").read_text())["num_flows"] == 8


def test_flow2p1d_lists_a_broken_video_and_goes_on(blobs, streams, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    paths = [bad, blobs.test[0].path]
    pred = get_method("flow2p1d").predict(streams["flow2p1d"], paths)
    assert list(pred.errors) == [str(bad)] and list(pred.scores) == [str(blobs.test[0].path)]
    with_bad = Dataset("blobs", CLASSES, blobs.train[:8] + [Sample(bad, 0)], blobs.test[:4])
    result = get_method("flow2p1d").train(with_bad, tmp_path / "run", {**CFG, "epochs": 1})
    assert str(bad) in result.metrics["skipped"]


@pytest.mark.parametrize("fusion,level", [("average", "late"), ("max", "late"), ("min", "late"),
                                          ("concat", "late"), ("concat", "mid")])
def test_two_stream_reuses_prior_streams(fusion, level, blobs, streams, tmp_path):
    method = get_method("two-stream")
    cfg = {**CFG, "fusion": fusion, "fusion_level": level, "head_epochs": 8, "prior_runs": streams}
    result = method.train(blobs, tmp_path / "ts", cfg)
    assert {h["stage"] for h in result.history} == {"head"}  # nothing retrained
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    model, saved = method.load(tmp_path / "ts")
    assert "prior_runs" not in saved and saved["fusion"] == fusion
    for role, name in (("rgb", "clip3d"), ("flow", "flow2p1d")):
        prior = load_file(f"{streams[name]}/model.safetensors")
        mine = getattr(model, role).state_dict()
        assert all(np.array_equal(prior[k].numpy(), mine[k].numpy()) for k in prior)
        assert (tmp_path / "ts" / role / "model.safetensors").is_file()
    # the run dir alone predicts: move it away from everything it was built from
    moved = shutil.move(str(tmp_path / "ts"), str(tmp_path / "moved"))
    pred = method.predict(moved, [s.path for s in blobs.test[:3]])
    assert len(pred.scores) == 3 and not pred.errors
    assert all(abs(float(s.sum()) - 1) < 1e-4 for s in pred.scores.values())


def test_two_stream_trains_its_own_streams_with_frame_cnn(blobs, tmp_path):
    cfg = {**CFG, "epochs": 2, "head_epochs": 3, "rgb": "frame-cnn", "fusion": "max"}
    result = get_method("two-stream").train(blobs, tmp_path / "ts", cfg)
    assert [h["stage"] for h in result.history] == ["rgb"] * 2 + ["flow"] * 2 + ["head"] * 3
    for role, name in (("rgb", "frame-cnn"), ("flow", "flow2p1d")):
        assert json.loads((tmp_path / "ts" / role / "config.json").read_text())["method"] == name
    assert 0.0 <= result.metrics["top1"] <= 1.0 and result.metrics["params"] > 0


def test_two_stream_rejects_bad_config_before_training(blobs, tmp_path):
    method = get_method("two-stream")
    with pytest.raises(ConfigError, match="fusion must be"):
        method.train(blobs, tmp_path / "a", {**CFG, "fusion": "sum"})
    with pytest.raises(ConfigError, match="needs rgb=clip3d"):
        method.train(blobs, tmp_path / "b", {**CFG, "fusion_level": "mid", "rgb": "frame-cnn"})
    assert not (tmp_path / "a" / "rgb").exists()
