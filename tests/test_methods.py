"""Each method trains a few steps on a tiny generated set and its loss falls; runs rebuild from their folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actionlab.errors import ConfigError
from actionlab.methods import get_method, list_methods
from actionlab.methods.clips import decode_many, uniform_indices


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The synthetic set, 3 clips per class at 64 px, indexed by the data package."""
    from actionlab.data import dataset_from_spec
    from actionlab.synth import generate

    root = generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=1)
    return dataset_from_spec(f"folder:{root}")


def test_registry_lists_the_methods():
    names = [m.name for m in list_methods()]
    assert {"frame-cnn", "clip3d", "features-lstm"} <= set(names)
    assert get_method("clip3d").temporal and not get_method("frame-cnn").temporal
    with pytest.raises(ConfigError, match="unknown method"):
        get_method("nope")


def test_uniform_indices_cover_the_video():
    assert uniform_indices(100, 5).tolist() == [0, 25, 50, 74, 99]
    assert uniform_indices(3, 4).tolist() == [0, 1, 1, 2]


def test_decode_many_lists_bad_files(tiny, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    clips, kept, errors = decode_many([tiny.train[0].path, bad], num_frames=4, size=32)
    assert clips.shape == (1, 4, 32, 32, 3) and clips.dtype == np.uint8 and kept == [0]
    assert list(errors) == [str(bad)]


@pytest.mark.parametrize("name", ["frame-cnn", "clip3d", "features-lstm"])
def test_method_loss_falls_and_run_is_self_contained(name, tiny, tmp_path):
    cfg = {"epochs": 8, "num_frames": 6, "size": 32, "batch_size": 8, "width": 8, "progress": False,
           "seq_step": 4, "seq_max": 8}
    result = get_method(name).train(tiny, tmp_path / name, cfg)
    losses = [h["train_loss"] for h in result.history]
    assert np.mean(losses[-2:]) < np.mean(losses[:2])  # augmentation makes single epochs noisy
    saved = json.loads((tmp_path / name / "config.json").read_text())
    assert saved["method"] == name and saved["classes"] == tiny.classes and saved["num_frames"] == 6
    assert (tmp_path / name / "model.safetensors").is_file()
    assert 0.0 <= result.metrics["top1"] <= 1.0 and len(result.metrics["confusion"]) == len(tiny.classes)
    pred = get_method(name).predict(tmp_path / name, [s.path for s in tiny.test[:2]])
    assert len(pred.scores) == 2 and not pred.errors
    for s in pred.scores.values():
        assert s.shape == (len(tiny.classes),) and abs(float(s.sum()) - 1.0) < 1e-4
    if name == "frame-cnn":
        assert "single_frame_top1" in result.metrics


def test_resume_continues_after_last_epoch(tiny, tmp_path):
    cfg = {"epochs": 2, "num_frames": 4, "size": 32, "batch_size": 16, "width": 8}
    method = get_method("frame-cnn")
    method.train(tiny, tmp_path / "run", cfg)
    resumed = method.train(tiny, tmp_path / "run", {**cfg, "epochs": 3, "resume": True})
    # epochs 1-2 come from the saved state (the schedule length changes, the history does not)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]


def test_features_mlp_on_sift_bow(tiny, tmp_path):
    cfg = {"epochs": 8, "workers": 1, "extractor_options": {"k": 16, "num_frames": 3, "size": 64}}
    import dataclasses

    small = dataclasses.replace(tiny, train=[s for s in tiny.train if s.label < 4],
                                test=[s for s in tiny.test if s.label < 4], val=[])
    method = get_method("features-mlp")
    result = method.train(small, tmp_path / "mlp", cfg)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert (tmp_path / "mlp" / "extractor_state.npz").is_file()
    missing = tmp_path / "missing.mp4"
    pred = method.predict(tmp_path / "mlp", [tiny.test[0].path, missing])
    assert list(pred.scores) == [str(tiny.test[0].path)] and str(missing) in pred.errors
