"""features-mlp, features-lstm and `extract --weights RUN` on the generated set (real h264 videos)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from torch import nn

from actionlab.cli import main
from actionlab.data.dataset import Sample
from actionlab.errors import ConfigError
from actionlab.features import FeatureStore
from actionlab.features.cnn2d import StepSampler, split_scores
from actionlab.methods import get_method

MLP = {"k": 16, "frames": 3, "size": 48, "epochs": 3, "batch_size": 8, "val_fraction": 0.5}
LSTM = {
    "cnn_epochs": 2,
    "cnn_width": 8,
    "size": 32,
    "epochs": 4,
    "window": 4,
    "seq_max": 8,
    "seq_step": 4,
    "test_windows": 2,
    "lr": 1e-2,
    "batch_size": 8,
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The synthetic set: 14 classes, 2 training and 1 test video each, 64 px."""
    from actionlab.data import dataset_from_spec
    from actionlab.synth import generate

    root = generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=1)
    return dataset_from_spec(f"folder:{root}")


@pytest.fixture(scope="module")
def small(tiny):
    """Its first 7 classes: half the videos, for the runs that train twice or two stages."""
    keep = lambda samples: [s for s in samples if s.label < 7]
    return dataclasses.replace(tiny, classes=tiny.classes[:7], train=keep(tiny.train), test=keep(tiny.test))


@pytest.fixture(scope="module")
def frame_cnn_run(tiny, tmp_path_factory) -> Path:
    """A frame-cnn run of the new pipeline."""
    run = tmp_path_factory.mktemp("fcnn") / "run"
    get_method("frame-cnn").train(tiny, run, {"epochs": 1, "size": 32, "width": 8, "workers": 0})
    return run


def test_features_mlp_sift_bow_validation_predict(tiny, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    method = get_method("features-mlp")
    result = method.train(dataclasses.replace(tiny, test=[*tiny.test, Sample(bad, 0)]), tmp_path / "a", MLP)
    assert all(h["val_loss"] is not None for h in result.history)
    assert list(result.metrics["skipped"]) == [str(bad)] and result.metrics["skipped"][str(bad)]  # with a reason
    assert result.metrics["num_videos"] == len(tiny.test)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["extra"]["in_features"] == 16 and config["dataset"]["num_val"] > 0
    store = FeatureStore(tmp_path / "a" / config["extra"]["store"])
    splits = {store.item(s.path).split for s in tiny.train}
    assert splits == {"train", "val"}  # the pipeline's held-out videos are stored as val: no stats from them
    missing = tmp_path / "missing.mp4"
    new = tmp_path / "new.mp4"
    new.write_bytes(Path(tiny.test[0].path).read_bytes())  # not in the store: extracted with the run's codebook
    pred = method.predict(tmp_path / "a", [new, missing])
    assert list(pred.scores) == [str(new)] and str(missing) in pred.errors
    assert abs(float(pred.scores[str(new)].sum()) - 1) < 1e-4
    stored = method.predict(tmp_path / "a", [tiny.test[0].path]).scores[str(tiny.test[0].path)]
    np.testing.assert_allclose(pred.scores[str(new)], stored, atol=1e-5)  # same features either way


def test_features_mlp_same_seed_same_results(small, tmp_path):
    method = get_method("features-mlp")
    cfg = {**MLP, "val_fraction": 0.0, "seed": 3}
    method.train(small, tmp_path / "a", cfg)
    method.train(small, tmp_path / "b", cfg)
    assert (tmp_path / "a" / "results.json").read_text() == (tmp_path / "b" / "results.json").read_text()


def test_features_mlp_options(tiny):
    preset = get_method("features-mlp")
    model = preset.build(preset.options({"activation": "relu"}), 5, {"in_features": 16})
    assert any(isinstance(m, nn.ReLU) for m in model.modules())
    assert not any(isinstance(m, nn.GELU) for m in model.modules())
    with pytest.raises(ConfigError, match="unknown option 'widht'; valid: .*activation"):
        preset.options({"widht": 3})
    with pytest.raises(ConfigError, match="unknown option 'init'"):
        preset.options({"init": "imagenet"})
    for bad, match in (
        ({"extractor_weights": "imagenet"}, "extractor_weights applies to cnn2d/cnn3d"),
        ({"family": "cnn2d:resnet18", "k": 8}, "k applies to sift-bow"),
        ({"family": "cnn3d:r3d_18", "extractor_weights": "imagenet"}, "cnn3d takes kinetics400"),
        ({"family": "cnn2d:nope"}, "not a torchvision image classifier"),
        ({"family": "cnn2d:resnet-small"}, "give extractor_weights=RUN"),
    ):
        with pytest.raises(ConfigError, match=match):
            preset.options(bad)


def test_step_sampler_holds_the_middle_frame_at_the_middle():
    for n in range(1, 60):
        for step in (1, 2, 3, 4):
            for count in (1, 2, 5, 8, 48):
                idx = StepSampler(step, count).sample(n)
                assert 1 <= len(idx) <= count and idx.min() >= 0 and idx.max() < n
                assert np.all(np.diff(idx) == step) and idx[(len(idx) - 1) // 2] == (n - 1) // 2


def test_features_lstm_chain(small, tmp_path):
    tiny = small
    method = get_method("features-lstm")
    result = method.train(tiny, tmp_path / "run", {**LSTM, "epochs": 6})
    losses = [h["train_loss"] for h in result.history]
    assert np.mean(losses[-2:]) < np.mean(losses[:2])
    assert "single_frame_top1" in result.metrics
    # the single-frame view is the frame CNN's own middle-frame prediction: same confusion as its run
    cnn = json.loads((tmp_path / "run" / "frame-cnn" / "results.json").read_text())
    assert result.metrics["single_frame_confusion"] == cnn["single_frame_confusion"]
    extra = json.loads((tmp_path / "run" / "config.json").read_text())["extra"]
    assert extra["frame_cnn"]["from"] == "trained" and extra["single_frame"]
    new = tmp_path / "new.mp4"
    new.write_bytes(Path(tiny.test[1].path).read_bytes())  # not in the store: the run's frame CNN extracts it
    moved = shutil.copytree(tmp_path / "run", tmp_path / "moved")  # everything predict needs is in the folder
    pred = method.predict(moved, [new, tiny.test[1].path, tmp_path / "missing.mp4"])
    assert set(pred.scores) == {str(new), str(tiny.test[1].path)} and list(pred.errors) == [
        str(tmp_path / "missing.mp4")
    ]
    np.testing.assert_allclose(pred.scores[str(new)], pred.scores[str(tiny.test[1].path)], atol=1e-4)


def test_features_lstm_reuses_a_prior_frame_cnn(tiny, tmp_path, frame_cnn_run):
    from actionlab.methods.preset import RunContext

    context = RunContext(progress=False, prior_runs={"frame-cnn": frame_cnn_run})
    cfg = {**{k: v for k, v in LSTM.items() if k != "cnn_epochs"}, "epochs": 1}  # cnn_epochs=2 would not match
    get_method("features-lstm").train(tiny, tmp_path / "run", cfg, context=context)
    extra = json.loads((tmp_path / "run" / "config.json").read_text())["extra"]
    assert extra["frame_cnn"]["from"] == "compare run frame-cnn"
    assert (tmp_path / "run" / "frame-cnn" / "model.safetensors").read_bytes() == (
        frame_cnn_run / "model.safetensors"
    ).read_bytes()
    with pytest.raises(ConfigError, match="frame_cnn_run reuses one"):
        get_method("features-lstm").options({"frame_cnn_run": str(frame_cnn_run), "cnn_epochs": 3})


def test_features_lstm_on_frozen_cnn2d(tiny, tmp_path):
    cfg = {
        "source": "cnn2d:resnet18",
        "size": 32,
        "epochs": 2,
        "window": 4,
        "seq_max": 6,
        "seq_step": 6,
        "cell": "gru",
        "end_weight": 1.0,
    }
    result = get_method("features-lstm").train(tiny, tmp_path / "run", cfg)
    assert len(result.history) == 2 and "single_frame_top1" not in result.metrics
    assert json.loads((tmp_path / "run" / "config.json").read_text())["extra"]["in_features"] == 512
    with pytest.raises(ConfigError, match="cnn_epochs applies to source=frame-cnn"):
        get_method("features-lstm").options({"source": "cnn2d:resnet18", "cnn_epochs": 2})


def test_extract_weights_run_with_scores(tiny, frame_cnn_run, tmp_path, capsys):
    base = [
        "extract",
        "--dataset",
        f"folder:{Path(tiny.train[0].path).parents[2]}",
        "--features",
        "cnn2d:resnet-small",
        "--weights",
        str(frame_cnn_run),
        "--store",
        str(tmp_path),
        "--no-progress",
        "--limit",
        "4",
    ]
    assert main(base) == 0
    assert main([*base, "--scores", "--precision", "bf16"]) == 0
    stores = [
        Path(line.split(": ", 1)[1]) for line in capsys.readouterr().out.splitlines() if line.startswith("store: ")
    ]
    plain, scored = (FeatureStore(p) for p in stores)
    assert plain.config["size"] == 32 and "score_dim" not in plain.config
    assert scored.config["score_dim"] == len(tiny.classes) and scored.config["classes"] == tiny.classes
    with h5py.File(scored.h5_path) as h5:
        values = h5["values"][()]
    feats, scores = split_scores(values, scored.config)
    assert feats.shape[1] == 64 and np.allclose(scores.sum(1), 1, atol=1e-5) and (scores >= 0).all()
    first = plain.item(tiny.train[0].path).features.values
    assert first.shape == (8, 64)
    assert main([*base[:4], "cnn2d:resnet18", *base[5:]]) == 1  # the run's backbone is resnet-small
    assert "backbone is resnet-small" in capsys.readouterr().err
