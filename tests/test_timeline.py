"""predict --timeline on generated multi-action videos: segments, JSON/CSV/PNG, parity with predict, flat memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actionlab.cli import main
from actionlab.timeline import Segment, TimelineOptions, coverage, predict_timeline
from actionlab.timeline.segments import merge_segments, smooth
from media import write_video

CLASSES = ("checker", "hstripes", "vstripes")
SIZE = 32


def pattern_frames(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n frames of a drifting pattern that names its class at a glance (random colours, phase and noise)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    period = int(rng.integers(6, 10))
    hue = np.eye(3)[CLASSES.index(kind)] * 150  # each class has its own colour as well as its own pattern
    a, b = hue + rng.integers(60, 106, 3), rng.integers(0, 60, 3)
    phase = rng.integers(0, period)
    out = []
    for t in range(n):
        if kind == "hstripes":
            on = ((yy + phase + t) // (period // 2)) % 2
        elif kind == "vstripes":
            on = ((xx + phase + t) // (period // 2)) % 2
        else:
            on = (((yy + t) // (period // 2)) + ((xx + phase) // (period // 2))) % 2
        img = np.where(on[..., None] == 1, a, b) + rng.normal(0, 12, (SIZE, SIZE, 3))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


@pytest.fixture(scope="module")
def easy_run(tmp_path_factory):
    """A frame-cnn trained on three easy pattern classes (folder layout, real h264 files)."""
    from actionlab.data import dataset_from_spec
    from actionlab.methods import get_method

    root = tmp_path_factory.mktemp("easy") / "set"
    rng = np.random.default_rng(0)
    for kind in CLASSES:
        for i in range(9):
            write_video(root / kind / f"{kind}_{i}.mp4", pattern_frames(kind, 30, rng))
    ds = dataset_from_spec(f"folder:{root}")
    run = tmp_path_factory.mktemp("run") / "frame"
    result = get_method("frame-cnn").train(
        ds,
        run,
        {
            "epochs": 8,
            "frames": 4,
            "size": SIZE,
            "width": 8,
            "workers": 0,
            "frames_per_video": 4,
            "batch_size": 16,
            "lr": 1e-2,
            "color": False,
            "shift": 0,
        },
    )
    return run, ds, result.metrics


def long_video(path, kinds: list[str], seconds: float, seed: int) -> tuple[object, list[Segment]]:
    """Clips of the given classes one after another (25 fps) and the true segments."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 25)
    frames = np.concatenate([pattern_frames(k, n, rng) for k in kinds])
    truth = [Segment(k, i * seconds, (i + 1) * seconds, 1.0) for i, k in enumerate(kinds)]
    return write_video(path, frames), truth


def test_segments_recover_the_true_labels(easy_run, tmp_path, capsys):
    run, _, metrics = easy_run
    assert metrics["top1"] >= 0.9  # the premise: the run labels single clips well
    video, truth = long_video(tmp_path / "long.mp4", ["hstripes", "checker", "vstripes", "hstripes"], 6.0, 7)
    out_json, out_csv, out_png = tmp_path / "tl.json", tmp_path / "tl.csv", tmp_path / "tl.png"
    assert (
        main(
            [
                "predict",
                str(run),
                str(video),
                "--timeline",
                "--json",
                str(out_json),
                "--csv",
                str(out_csv),
                "--plot",
                str(out_png),
                "--top-k",
                "2",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    data = json.loads(out_json.read_text())
    segments = [Segment(**s) for s in data["segments"]]
    assert coverage(segments, truth) >= 0.8
    assert segments[0].start == 0.0 and segments[-1].end == pytest.approx(24.0, abs=0.05)
    assert all(len(w["top"]) == 2 for w in data["windows"])
    assert data["window"] == 2.0 and data["stride"] == 1.0  # frame-cnn spreads over the window: 2 s default
    rows = out_csv.read_text().splitlines()
    assert rows[0].split(",") == ["start", "end", "segment", *CLASSES]
    assert len(rows) == 1 + len(data["windows"])
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    assert imread(out_png).shape[1] > 600
    assert "hstripes" in captured.out and "Traceback" not in captured.err


def test_one_window_over_a_clip_scores_what_predict_scores(easy_run, tmp_path):
    from actionlab.predict import predict_paths

    run, ds, _ = easy_run
    clip = ds.test[0].path
    tl = predict_timeline(run, clip, TimelineOptions.build({"window": 60.0}), progress=False)
    assert len(tl.starts) == 1 and "shorter than one window" in tl.notes[0]
    scores = predict_paths(run, [clip]).scores[str(clip)]
    np.testing.assert_allclose(tl.scores[0], scores, atol=1e-6)


def test_memory_is_one_window_and_the_file_is_decoded_once(easy_run, tmp_path, monkeypatch):
    import actionlab.timeline.stream as stream

    run, _, _ = easy_run
    opened = []
    real_open = stream.open_video

    def counting_open(path):
        opened.append(path)
        return real_open(path)

    monkeypatch.setattr(stream, "open_video", counting_open)
    peaks = []
    for seconds in (6.0, 18.0):
        video, _ = long_video(tmp_path / f"v{seconds:g}.mp4", ["checker", "vstripes"], seconds / 2, 1)
        tl = predict_timeline(run, video, TimelineOptions.build({"stride": 0.4}), progress=False)
        peaks.append(tl.peak_frames)
        assert len(tl.starts) == round((seconds - 2.0) / 0.4) + 1
    assert len(opened) == 2  # one sequential decode per video
    assert peaks[0] == peaks[1] <= 50  # the same for 6 s and 18 s: at most one 2-s window of frames is held


def test_smoothing_and_threshold_make_segments():
    classes = ["a", "b"]
    scores = np.array([[0.9, 0.1]] * 4 + [[0.2, 0.8]] + [[0.9, 0.1]] * 3 + [[0.45, 0.55]] * 4, np.float32)
    starts = np.arange(len(scores), dtype=float)
    raw = merge_segments(scores, starts, starts + 2, 13.0, classes, 0.5)
    assert [s.label for s in raw] == ["a", "b", "a", "b"]
    smoothed = merge_segments(smooth(scores, 3), starts, starts + 2, 13.0, classes, 0.6)
    assert [s.label for s in smoothed] == ["a", "background"]  # the blip is gone, the unsure tail is background
    assert smoothed[0].start == 0.0 and smoothed[-1].end == 13.0
    assert smoothed[0].end == smoothed[1].start


def test_timeline_flags_need_timeline_and_one_video(easy_run, tmp_path, capsys):
    run, ds, _ = easy_run
    clip = str(ds.test[0].path)
    assert main(["predict", str(run), clip, "--window", "2"]) == 2
    assert "--window apply to --timeline only" in capsys.readouterr().err
    assert main(["predict", str(run), clip, clip, "--timeline"]) == 2
    assert "one video file" in capsys.readouterr().err
    assert main(["predict", str(run), clip, "--timeline", "--threshold", "1.5"]) == 2
    assert "threshold" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(
    "method,options",
    [
        ("late-fusion", {"frames": 4, "size": 32, "width": 8}),
        ("lrcn", {"frames": 4, "size": 32, "width": 8, "hidden": 8}),
        ("clip3d", {"frames": 4, "size": 32, "width": 8, "sampling": "dense", "stride": 2}),
        ("flow2p1d", {"num_flows": 4, "size": 32, "width": 4}),
        ("features-mlp", {"family": "sift-bow", "k": 8, "frames": 4, "size": 32}),
        ("features-lstm", {"source": "cnn2d:resnet18", "size": 32, "seq_max": 8, "window": 4, "hidden": 8}),
    ],
)
def test_every_preset_matches_predict_on_one_window(easy_run, tmp_path, method, options):
    from actionlab.methods import get_method
    from actionlab.predict import predict_paths

    _, ds, _ = easy_run
    run = tmp_path / method
    get_method(method).train(ds, run, {"epochs": 1, "workers": 0, **options})
    video, _ = long_video(tmp_path / "new.mp4", ["hstripes"], 2.4, 3)  # a video no store holds
    tl = predict_timeline(run, video, TimelineOptions.build({"window": 60.0}), progress=False)
    np.testing.assert_allclose(tl.scores[0], predict_paths(run, [video]).scores[str(video)], atol=1e-5)
    long, _ = long_video(tmp_path / "long.mp4", ["hstripes", "checker"], 3.0, 4)
    assert len(predict_timeline(run, long, TimelineOptions.build({}), progress=False).segments) >= 1


@pytest.mark.slow
def test_two_stream_computes_flow_per_window(easy_run, tmp_path):
    from actionlab.methods import get_method
    from actionlab.predict import predict_paths

    rgb, ds, _ = easy_run
    flow = tmp_path / "flow"
    get_method("flow2p1d").train(ds, flow, {"epochs": 1, "workers": 0, "num_flows": 4, "size": 32, "width": 4})
    run = tmp_path / "two"
    get_method("two-stream").train(
        ds, run, {"epochs": 1, "workers": 0, "rgb_run": str(rgb), "flow_run": str(flow), "head_hidden": 8}
    )
    video, _ = long_video(tmp_path / "new.mp4", ["vstripes"], 2.4, 5)
    tl = predict_timeline(run, video, TimelineOptions.build({"window": 60.0}), progress=False)
    np.testing.assert_allclose(tl.scores[0], predict_paths(run, [video]).scores[str(video)], atol=1e-5)


def test_progress_prints_plain_lines_when_not_a_terminal(easy_run, tmp_path, monkeypatch, capsys):
    import actionlab.training.progress as progress

    run, _, _ = easy_run
    monkeypatch.setattr(progress, "PLAIN_INTERVAL", 0.0)
    video, _ = long_video(tmp_path / "v.mp4", ["checker"], 4.0, 2)
    predict_timeline(run, video, TimelineOptions.build({}), progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 2 and all("\r" not in line for line in lines)
    assert any(line.startswith("timeline v.mp4: 100/100 frames (4.0/4.0 s of video, ") for line in lines)
    assert lines[-1].startswith("timeline v.mp4: 4.0/4.0 s of video, ") and lines[-1].endswith("x real time")
