"""The one training pipeline: every preset trains on generated videos, options are declared, runs reproduce."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from actionlab.errors import ConfigError
from actionlab.methods import get_method, list_methods
from actionlab.methods.evaluation import load_run
from actionlab.methods.preset import RunContext
from actionlab.methods.runs import run_lock

TINY = {"epochs": 3, "size": 32, "batch_size": 8, "workers": 0, "lr": 3e-3}
QUIET = RunContext(progress=False)


@pytest.fixture(scope="module")
def frame_run(tiny, tmp_path_factory):
    """A trained frame-cnn run (the 2D starting point of the transfer tests)."""
    out = tmp_path_factory.mktemp("runs") / "frame"
    get_method("frame-cnn").train(tiny, out, {**TINY, "width": 8, "epochs": 2}, context=QUIET)
    return out


def test_the_whole_zoo_is_listed():
    names = {m.name for m in list_methods()}
    assert {"frame-cnn", "late-fusion", "lrcn", "c3d", "clip3d", "i3d", "nonlocal", "flow2p1d"} <= names


PLAIN = {"flip": False, "color": False, "shift": 0}  # no augmentation: the loss of a tiny set must fall
PRESETS = [
    ("late-fusion", {"width": 8, "frames": 3, **PLAIN}),
    ("lrcn", {"width": 8, "frames": 3, "hidden": 16, **PLAIN}),
    ("clip3d", {"width": 8, "frames": 4, **PLAIN}),
    ("c3d", {"frames": 4, "width": 0.0625, "dropout": 0.0, **PLAIN}),
    ("i3d", {"width": 8, "frames": 4, **PLAIN}),
    ("nonlocal", {"width": 8, "frames": 4, "nonlocal_stages": [2], **PLAIN}),
    ("flow2p1d", {"num_flows": 3, "width": 8, "flip": False, "shift": 0}),
]


@pytest.mark.parametrize("name,opts", PRESETS, ids=[p[0] for p in PRESETS])
def test_preset_trains_with_falling_loss_and_predicts(name, opts, tiny, tmp_path):
    result = get_method(name).train(tiny, tmp_path / name, {**TINY, "epochs": 6, **opts}, context=QUIET)
    losses = [h["train_loss"] for h in result.history]
    assert np.mean(losses[-2:]) < np.mean(losses[:2]), losses
    saved = json.loads((tmp_path / name / "config.json").read_text())
    assert saved["method"] == name and saved["options"]["size"] == 32 and saved["options"]["epochs"] == 6
    assert 0 <= result.metrics["top1"] <= 1 and len(result.metrics["confusion"]) == len(tiny.classes)
    pred = get_method(name).predict(tmp_path / name, [tiny.test[0].path, tmp_path / "missing.mp4"])
    assert list(pred.scores) == [str(tiny.test[0].path)] and str(tmp_path / "missing.mp4") in pred.errors
    assert abs(float(pred.scores[str(tiny.test[0].path)].sum()) - 1) < 1e-4


def test_frame_cnn_reports_single_frame_views(frame_run):
    results = json.loads((frame_run / "results.json").read_text())
    assert {"single_frame_top1", "single_frame_top5", "single_frame_top10", "single_frame_confusion"} <= set(results)


def test_unknown_or_unused_option_is_one_line_naming_valid_keys(tiny, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown option 'nonlocal_stages'.*valid: .*width"):
        get_method("clip3d").train(tiny, tmp_path / "x", {"nonlocal_stages": [2, 3]})
    with pytest.raises(ConfigError, match="width applies to backbone=resnet-small only"):
        get_method("frame-cnn").train(tiny, tmp_path / "x", {"backbone": "resnet18", "width": 8})
    with pytest.raises(ConfigError, match="gamma applies to schedule"):
        get_method("clip3d").train(tiny, tmp_path / "x", {"gamma": 0.5})
    assert not (tmp_path / "x" / "config.json").exists()


def test_same_seed_twice_gives_identical_results(tiny, tmp_path):
    opts = {**TINY, "width": 8, "frames": 3, "epochs": 2, "seed": 5, "val_fraction": 0.3}
    for run in ("a", "b"):
        get_method("clip3d").train(tiny, tmp_path / run, opts, context=QUIET)
    a, b = ((tmp_path / r / "results.json").read_text() for r in ("a", "b"))
    assert a == b
    ha, hb = (json.loads((tmp_path / r / "history.json").read_text())["epochs"] for r in ("a", "b"))
    assert [e["val_loss"] for e in ha] == [e["val_loss"] for e in hb] and ha[0]["val_loss"] is not None


def test_constant_schedule_has_no_warmup(tiny, tmp_path):
    result = get_method("clip3d").train(
        tiny, tmp_path / "c", {**TINY, "width": 8, "frames": 3, "schedule": "constant", "lr": 1e-3}, context=QUIET
    )
    assert [h["lr"] for h in result.history] == [1e-3] * 3


def test_early_stopping_without_validation_holds_out_a_stated_split(tmp_path, capsys):
    from actionlab.data import dataset_from_spec
    from actionlab.synth import generate

    full = dataset_from_spec(f"folder:{generate(tmp_path / 'set', num_clips_per_class=12, size=32, seed=3)}")
    three = dataclasses.replace(
        full,
        classes=full.classes[:3],
        train=[s for s in full.train if s.label < 3],
        test=[s for s in full.test if s.label < 3],
    )
    get_method("clip3d").train(
        three, tmp_path / "e", {**TINY, "width": 8, "frames": 3, "early_stopping": 1}, context=QUIET
    )
    assert "holding out 10% of train" in capsys.readouterr().err
    saved = json.loads((tmp_path / "e" / "config.json").read_text())["dataset"]
    assert saved["val_source"] == "early_stopping" and saved["num_val"] > 0 and saved["val_fraction"] == 0.1


def test_init_from_run_with_frozen_backbone_keeps_it_bit_identical(tiny, frame_run, tmp_path):
    out = tmp_path / "lf"
    get_method("late-fusion").train(
        tiny,
        out,
        {**TINY, "width": 8, "frames": 2, "init": str(frame_run), "freeze": "backbone", "epochs": 2},
        context=QUIET,
    )
    before, after = load_file(str(frame_run / "model.safetensors")), load_file(str(out / "model.safetensors"))
    body = [k for k in before if not k.startswith("head.")]
    assert body and all(torch.equal(before[k], after[f"body.{k}"]) for k in body)
    assert not torch.equal(before["head.weight"], after["head.weight"])  # head trained (same classes: loaded first)
    assert "init:" in json.loads((out / "config.json").read_text())["init"]


def test_i3d_inflated_from_a_2d_run_gives_its_features_on_a_static_clip(tiny, frame_run, tmp_path):
    out = tmp_path / "i3d"
    get_method("i3d").train(
        tiny,
        out,
        {**TINY, "width": 8, "frames": 4, "init": str(frame_run), "epochs": 1, "freeze": "backbone"},
        context=QUIET,
    )  # frozen: BatchNorm stats stay
    _, model3d, _, _ = load_run(out)
    _, model2d, _, _ = load_run(frame_run)
    frame = torch.randn(1, 3, 32, 32)
    clip = frame[:, :, None].repeat(1, 1, 4, 1, 1)
    with torch.no_grad():
        assert torch.allclose(model3d.forward_features(clip), model2d.forward_features(frame), atol=1e-3)


@pytest.mark.parametrize("name", ["frame-cnn", "clip3d"])
def test_frames_1_reads_the_middle_frame(name, tmp_path):
    from actionlab.data.dataset import Sample
    from media import frame_number, numbered_frames, write_video

    video = write_video(tmp_path / "n.mp4", numbered_frames(10, 64, 160))
    preset = get_method(name)
    o = preset.options({"frames": 1, "size": 160})
    x, _ = preset.reader(o, ["a"], False, tmp_path, {})(Sample(video, 0), None)
    frame = x.reshape(-1, 3, 160, 160)[0].permute(1, 2, 0).numpy()
    assert frame_number(((frame - frame.min()) / np.ptp(frame) * 255).astype(np.uint8)) == 4  # (10 - 1) // 2


def test_a_second_writer_into_a_locked_run_is_refused(tiny, tmp_path):
    with run_lock(tmp_path / "locked"), pytest.raises(ConfigError, match="another run is writing this folder"):
        get_method("clip3d").train(tiny, tmp_path / "locked", {**TINY, "width": 8}, context=QUIET)


def test_joint_training_keeps_each_datasets_labels_and_head(tiny, tmp_path):
    from actionlab.data.dataset import joint_dataset

    a = dataclasses.replace(tiny, name="setA", parts=[], dataset_names=[])
    keep = tiny.classes[:5]
    b = dataclasses.replace(
        tiny,
        name="setB",
        classes=keep,
        train=[s for s in tiny.train if s.label < 5],
        test=[s for s in tiny.test if s.label < 5],
        val=[],
        parts=[],
        dataset_names=[],
    )
    joint = joint_dataset([a, b])
    result = get_method("clip3d").train(
        joint, tmp_path / "j", {**TINY, "width": 8, "frames": 3, "epochs": 2}, context=QUIET
    )
    per = result.metrics["per_dataset"]
    assert set(per) == {"setA", "setB"} and len(per["setB"]["confusion"]) == 5
    rows = (tmp_path / "j" / "predictions.csv").read_text().splitlines()[1:]
    for row in rows:  # every prediction stays in the sample's own dataset
        cells = row.split(",")
        assert cells[1].split(":")[0] == cells[3].split(":")[0], row
    _, model, _, rc = load_run(tmp_path / "j")
    assert [len(h.weight) for h in model.heads] == [len(tiny.classes), 5] and len(rc.datasets) == 2
    pred = get_method("clip3d").predict(tmp_path / "j", [tiny.test[0].path])
    scores = pred.scores[str(tiny.test[0].path)]
    assert len(scores) == len(tiny.classes) + 5 and abs(scores.sum() - 1) < 1e-4


def test_a_broken_training_video_is_skipped_and_listed(tiny, tmp_path):
    from actionlab.data.dataset import Sample

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    ds = dataclasses.replace(tiny, train=[*tiny.train, Sample(broken, 0)])
    result = get_method("clip3d").train(
        ds, tmp_path / "b", {**TINY, "width": 8, "frames": 3, "epochs": 1}, context=QUIET
    )
    assert str(broken) in result.metrics["skipped"]
    assert json.loads((tmp_path / "b" / "config.json").read_text())["dataset"]["num_train"] == len(tiny.train)


def test_augmentation_options_change_the_training_input(tiny, tmp_path):
    preset = get_method("clip3d")
    sample = tiny.train[0]
    plain = preset.options({"frames": 2, "size": 32, "flip": False, "color": False, "shift": 0})
    rotated = preset.options({"frames": 2, "size": 32, "flip": False, "color": False, "shift": 0, "rotation": 30})
    read = [
        preset.reader(o, tiny.classes, True, tmp_path, {})(sample, np.random.default_rng(0))[0]
        for o in (plain, rotated)
    ]
    assert read[0].shape == read[1].shape and not torch.allclose(read[0], read[1])
    flip_map = preset.reader(preset.options({}), tiny.classes, True, tmp_path, {}).augment.label_flip
    left, right = tiny.classes.index("walk_left"), tiny.classes.index("walk_right")
    assert flip_map[left] == right and flip_map[right] == left


def test_uint8_normalisation_matches_the_float_formula():
    from actionlab.methods.inputs import KINETICS
    from actionlab.transforms.augment import to_normalised

    x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in KINETICS)
    assert torch.allclose(to_normalised(x, KINETICS), (x.float() / 255 - mean) / std, atol=1e-5)
    coloured = to_normalised(x, KINETICS, np.random.default_rng(3))
    assert coloured.shape == x.shape and not torch.allclose(coloured, to_normalised(x, KINETICS))


def test_min_steps_raises_the_default_epochs_on_a_small_set_and_records_them(tiny, tmp_path, capsys):
    """Epochs not given: a small training set gets more epochs (the line says why, config.json records them and
    min_steps 0, so --config reproduces the run); given epochs are kept; min_steps with epochs is an error."""
    from actionlab.methods.runs import RunConfig

    opts = {"size": 32, "batch_size": 8, "workers": 0, "frames": 3, "width": 8, "tracker": "none", "min_steps": 70}
    steps = len(tiny.train) // 8
    result = get_method("clip3d").train(tiny, tmp_path / "a", opts, context=QUIET)
    epochs = -(-70 // steps)
    assert 20 < epochs <= 60 and len(result.history) == epochs
    assert f"{epochs} epochs instead of 20: {len(tiny.train)} training samples" in capsys.readouterr().err
    recorded = RunConfig.read(tmp_path / "a").options
    assert (recorded["epochs"], recorded["min_steps"]) == (epochs, 0)
    o = get_method("clip3d").Options.restore(recorded)
    assert o.for_training_set(len(tiny.train))[0].to_dict() == recorded
    kept, why = get_method("clip3d").Options.build({"epochs": 2}).for_training_set(3)
    assert kept.epochs == 2 and why is None
    with pytest.raises(ConfigError, match="min_steps applies only when epochs is not given"):
        get_method("clip3d").Options.build({"epochs": 2, "min_steps": 10})
