"""two-stream on generated videos: frozen RGB (3D and 2D) and flow2p1d runs fused late or mid-level."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from actionlab.errors import ConfigError
from actionlab.methods import get_method
from actionlab.methods.evaluation import load_run
from actionlab.methods.preset import RunContext

QUIET = RunContext(progress=False)
TINY = {"size": 32, "batch_size": 8, "workers": 0}
STREAMS = {
    "clip3d": {"epochs": 2, "width": 8, "frames": 4},
    "flow2p1d": {"epochs": 2, "width": 8, "num_flows": 3},
    "frame-cnn": {"epochs": 2, "width": 8, "frames": 3, "frames_per_video": 2},
}
HEAD = {"epochs": 4, "batch_size": 8, "workers": 0, "lr": 1e-2, "head_hidden": 16}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """2 shared cores: intra-op threads fight the other test processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def streams(tiny, tmp_path_factory):
    """Tiny finished clip3d, flow2p1d and frame-cnn runs: {preset: run folder}."""
    out = tmp_path_factory.mktemp("streams")
    for name, opts in STREAMS.items():
        get_method(name).train(tiny, out / name, {**TINY, **opts}, context=QUIET)
    return {name: out / name for name in STREAMS}


def _check_frozen_and_trained(run_dir, sources, seed=0):
    """Stream weights bit-identical to their source runs; the head moved away from its initial weights."""
    state = load_file(str(run_dir / "model.safetensors"))
    for role, source in sources.items():
        prior = load_file(str(source / "model.safetensors"))
        assert all(torch.equal(prior[k], state[f"{role}.net.{k}"]) for k in prior)
    _, _, o, rc = load_run(run_dir)
    torch.manual_seed(seed)
    fresh = get_method("two-stream").build(o, len(rc.classes), rc.extra).state_dict()
    assert not torch.equal(fresh["head.weight"], state["head.weight"])
    assert not torch.equal(fresh["match.weight"], state["match.weight"])


@pytest.mark.parametrize(
    "fusion,level", [("average", "late"), ("max", "late"), ("min", "late"), ("concat", "late"), ("concat", "mid")]
)
def test_fuses_given_clip3d_and_flow_runs(fusion, level, tiny, streams, tmp_path):
    src = tmp_path / "src"  # copies that are deleted after training: predict must not need them
    sources = {"rgb": src / "rgb", "flow": src / "flow"}
    shutil.copytree(streams["clip3d"], sources["rgb"])
    shutil.copytree(streams["flow2p1d"], sources["flow"])
    opts = {**HEAD, "rgb_run": str(sources["rgb"]), "flow_run": str(sources["flow"]), "fusion": fusion, "level": level}
    result = get_method("two-stream").train(tiny, tmp_path / "ts", opts, context=QUIET)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0], losses
    _check_frozen_and_trained(tmp_path / "ts", sources)
    saved = json.loads((tmp_path / "ts" / "config.json").read_text())
    assert saved["method"] == "two-stream" and saved["options"]["fusion"] == fusion
    rec = saved["extra"]["streams"]
    assert rec["rgb"]["method"] == "clip3d" and rec["rgb"]["run"] == str(sources["rgb"])
    assert rec["flow"]["method"] == "flow2p1d" and rec["flow"]["source"] == "flow_run"
    for role in ("rgb", "flow"):
        assert (tmp_path / "ts" / role / "model.safetensors").is_file()
    shutil.rmtree(src)
    moved = shutil.move(str(tmp_path / "ts"), str(tmp_path / "moved"))
    pred = get_method("two-stream").predict(moved, [s.path for s in tiny.test[:3]] + [tmp_path / "no.mp4"])
    assert len(pred.scores) == 3 and list(pred.errors) == [str(tmp_path / "no.mp4")]
    assert all(abs(float(s.sum()) - 1) < 1e-4 for s in pred.scores.values())
    assert 0 <= result.metrics["top1"] <= 1 and result.metrics["num_videos"] == len(tiny.test)


@pytest.mark.parametrize("level", ["late", "mid"])
def test_frame_cnn_rgb_stream(level, tiny, streams, tmp_path):
    opts = {
        **HEAD,
        "rgb_run": str(streams["frame-cnn"]),
        "flow_run": str(streams["flow2p1d"]),
        "level": level,
        "fusion": "max",
    }
    if level == "mid":
        opts["fusion_stage"] = 2
    result = get_method("two-stream").train(tiny, tmp_path / "ts", opts, context=QUIET)
    _check_frozen_and_trained(tmp_path / "ts", {"rgb": streams["frame-cnn"], "flow": streams["flow2p1d"]})
    assert result.metrics["num_videos"] == len(tiny.test)
    pred = get_method("two-stream").predict(tmp_path / "ts", [tiny.test[0].path])
    assert abs(float(pred.scores[str(tiny.test[0].path)].sum()) - 1) < 1e-4
    # frame-cnn's views (2 random frames in training, middle + 3 at test) stay inside the pair's one view
    preset, _, o, rc = load_run(tmp_path / "ts")
    for train, rng, views in ((False, None, 1 + 3), (True, np.random.default_rng(0), 2)):
        (rgb, flow), _ = preset.reader(o, tiny.classes, train, tmp_path / "ts", rc.extra)(tiny.test[0], rng)
        assert rgb.shape == (1, views, 3, 32, 32) and flow.shape == (1, 1, 2, 3, 32, 32)


def test_streams_from_prior_runs_or_trained_here(tiny, streams, tmp_path, capsys):
    method = get_method("two-stream")
    prior = RunContext(
        progress=False, prior_runs={"f": streams["frame-cnn"], "c": streams["clip3d"], "fl": streams["flow2p1d"]}
    )
    method.train(tiny, tmp_path / "a", HEAD, context=prior)
    rec = json.loads((tmp_path / "a" / "config.json").read_text())["extra"]["streams"]
    assert rec["rgb"]["source"] == "compare run 'c'" and rec["flow"]["source"] == "compare run 'fl'"
    # a stream with its own options is trained here (no prior run has exactly them) ...
    own = {**HEAD, "epochs": 2, "rgb_set": "epochs=1,width=8,frames=2,size=32,batch_size=8"}
    method.train(tiny, tmp_path / "b", own, context=prior)
    rec = json.loads((tmp_path / "b" / "config.json").read_text())["extra"]["streams"]
    assert rec["rgb"]["source"] == "trained here" and rec["rgb"]["options"]["frames"] == 2
    assert json.loads((tmp_path / "b" / "rgb" / "results.json").read_text())["num_videos"] == len(tiny.test)
    # ... and reused from that two-stream run by the next one of the same compare
    capsys.readouterr()
    again = RunContext(progress=False, prior_runs={"b": tmp_path / "b", "fl": streams["flow2p1d"]})
    method.train(tiny, tmp_path / "c", {**own, "fusion": "concat"}, context=again)
    rec = json.loads((tmp_path / "c" / "config.json").read_text())["extra"]["streams"]
    assert rec["rgb"]["source"] == "compare run 'b/rgb'"
    assert "training the rgb stream" not in capsys.readouterr().err


def test_bad_options_are_one_line_config_errors_before_training(tiny, streams, tmp_path):
    method = get_method("two-stream")
    runs = {"rgb_run": str(streams["clip3d"]), "flow_run": str(streams["flow2p1d"])}
    with pytest.raises(ConfigError, match="fusion_stage applies to level=mid only"):
        method.train(tiny, tmp_path / "a", {**runs, "fusion_stage": 2})
    with pytest.raises(ConfigError, match="fusion must be one of average, max, min, concat, not 'sum'"):
        method.train(tiny, tmp_path / "a", {**runs, "fusion": "sum"})
    with pytest.raises(ConfigError, match="rgb_run must be a run of frame-cnn, .*not of flow2p1d"):
        method.train(tiny, tmp_path / "a", {**runs, "rgb_run": str(streams["flow2p1d"])})
    with pytest.raises(ConfigError, match="rgb_set.*unknown option 'bogus'"):
        method.train(tiny, tmp_path / "a", {"flow_run": runs["flow_run"], "rgb_set": "bogus=1"})
    with pytest.raises(ConfigError, match="rgb_set applies to a stream trained here"):
        method.train(tiny, tmp_path / "a", {**runs, "rgb_set": "epochs=1"})
    with pytest.raises(ConfigError, match="level=mid needs convolution stages in the rgb stream"):
        method.train(tiny, tmp_path / "a", {"flow_run": runs["flow_run"], "rgb": "c3d", "level": "mid"}, context=QUIET)
    assert not (tmp_path / "a" / "rgb").exists() and not (tmp_path / "a" / "config.json").exists()


def test_set_items_and_short_video_views():
    from actionlab.methods.two_stream import fit_views, parse_items

    assert parse_items(("epochs=3", "nonlocal_stages=2", "3"), "rgb_set") == {"epochs": "3", "nonlocal_stages": "2,3"}
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        parse_items(("epochs",), "rgb_set")
    assert fit_views(torch.arange(2), 4).tolist() == [0, 1, 0, 1]  # a 2-frame video where 4 frames are drawn
