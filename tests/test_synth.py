"""The embedded synthetic action set: real files in every layout, determinism, reversal pairs, preview, CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import actionlab.synth.dataset as synth_dataset
from actionlab.cli import main
from actionlab.synth import ACTIONS, REVERSALS, Timing, generate, pose_trajectory, preview, synthetic_root


def decode_all(path: Path) -> np.ndarray:
    """Every frame of a full sequential decode, RGB."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def folder_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "set", num_clips_per_class=2, size=64, seed=3, workers=2)


def test_at_least_twelve_actions_with_three_reversal_pairs() -> None:
    assert len(ACTIONS) >= 12 and len(set(ACTIONS)) == len(ACTIONS)
    assert all(a == a.lower() and " " not in a for a in ACTIONS)
    assert {"sit_down", "stand_up", "raise_arms", "lower_arms", "walk_left", "walk_right"} <= set(ACTIONS)
    assert len(REVERSALS) == 3


def test_folder_layout_files_decode_to_announced_frame_count(folder_set: Path) -> None:
    from actionlab.video import probe

    rows = manifest(folder_set)
    assert len(rows) == 2 * len(ACTIONS)
    assert {r["split"] for r in rows} == {"train", "test"}
    for row in rows:
        path = folder_set / row["path"]
        assert path.suffix == ".mp4" and path.parent.name == row["class"]
        assert path.parts[-3] == row["split"]
        assert ACTIONS[int(row["label"])] == row["class"]
        frames = decode_all(path)
        assert len(frames) == int(row["num_frames"]) == probe(path).num_frames
        assert 50 <= len(frames) <= 100 and frames.shape[1:] == (64, 64, 3)
        assert (int(row["group"][1:]) <= 7) == (row["split"] == "test")  # unseen actors in test


def test_same_seed_same_frames_other_seed_different(folder_set: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", num_clips_per_class=2, size=64, seed=3, workers=1)
    other = generate(tmp_path / "other", num_clips_per_class=2, size=64, seed=4, workers=1)
    rel = manifest(folder_set)[5]["path"]
    assert manifest(again) == manifest(folder_set)
    np.testing.assert_array_equal(decode_all(again / rel), decode_all(folder_set / rel))
    row = next(r for r in manifest(other) if r["class"] == manifest(folder_set)[5]["class"])
    a, b = decode_all(folder_set / rel), decode_all(other / row["path"])
    n = min(len(a), len(b))
    assert np.abs(a[:n].astype(int) - b[:n]).mean() > 10


def test_figure_moves_in_every_clip(folder_set: Path) -> None:
    for row in manifest(folder_set)[::2]:
        frames = decode_all(folder_set / row["path"]).astype(np.int16)
        swept = (frames.max(axis=0) - frames.min(axis=0)).max(axis=-1)
        assert (swept > 60).mean() > 0.005, row["path"]  # limbs sweep pixels; sensor noise alone does not


def test_reversal_pairs_are_exact_time_reversals() -> None:
    timing = Timing(num_frames=80, fps=25.0, speed=1.1, phase=0.3, hold_start=0.1, hold_end=0.2)
    for backward, forward in REVERSALS.items():
        fwd = pose_trajectory(forward, timing.swapped())
        np.testing.assert_allclose(pose_trajectory(backward, timing), fwd[::-1])
        # the motion completes inside the clip: still at both ends, and the two ends differ
        np.testing.assert_allclose(fwd[0], fwd[2])
        np.testing.assert_allclose(fwd[-1], fwd[-3])
        assert np.abs(fwd[0] - fwd[-1]).max() > 0.5


def test_ucf101_layout_and_its_three_splits(tmp_path: Path) -> None:
    root = generate(tmp_path / "ucf", layout="ucf101", num_clips_per_class=3, size=64, workers=2)
    ann = root / "ucfTrainTestlist"
    raw = (ann / "classInd.txt").read_bytes().decode()
    assert raw.endswith("\r\n")  # CRLF, as the official files
    class_ind = raw.splitlines()
    assert class_ind[:2] == ["1 Wave", "2 Clap"] and len(class_ind) == len(ACTIONS)
    assert "10 StandUp" in class_ind
    videos = sorted(p.relative_to(root / "UCF-101").as_posix() for p in (root / "UCF-101").rglob("*.avi"))
    assert len(videos) == 3 * len(ACTIONS)
    assert "WalkLeft/v_WalkLeft_g01_c01.avi" in videos
    for k, test_groups in ((1, range(1, 8)), (2, range(8, 15)), (3, range(15, 22))):
        train = [line.split(" ") for line in (ann / f"trainlist0{k}.txt").read_text().splitlines()]
        test = (ann / f"testlist0{k}.txt").read_text().splitlines()
        assert sorted([t[0] for t in train] + test) == videos
        assert all(int(p.split("_g")[1][:2]) in test_groups for p in test)
        for path, label in train:
            assert class_ind[int(label) - 1].split(" ")[1] == path.split("/")[0]
    for row in manifest(root):
        assert len(decode_all(root / row["path"])) == int(row["num_frames"])


def test_hmdb51_layout_split_files(tmp_path: Path) -> None:
    root = generate(tmp_path / "hmdb", layout="hmdb51", num_clips_per_class=4, size=64, workers=2)
    videos = sorted((root / "hmdb51").rglob("*.avi"))
    assert len(videos) == 4 * len(ACTIONS)
    for k in (1, 2, 3):
        for action in ACTIONS:
            text = (root / "testTrainMulti_7030_splits" / f"{action}_test_split{k}.txt").read_text()
            lines = text.splitlines()
            assert all(line.endswith(" ") for line in lines)  # trailing space, as the real files
            names = {line.split()[0]: int(line.split()[1]) for line in lines}
            assert sorted(names) == sorted(p.name for p in (root / "hmdb51" / action).iterdir())
            assert set(names.values()) <= {0, 1, 2} and 1 in names.values()
    sample = videos[0]
    row = next(r for r in manifest(root) if r["path"].endswith(sample.name))
    assert len(decode_all(sample)) == int(row["num_frames"])


def test_images_stanford40_layout(tmp_path: Path) -> None:
    root = generate(tmp_path / "img", images=True, num_clips_per_class=3, size=64, workers=1)
    jpgs = sorted(p.name for p in (root / "JPEGImages").iterdir())
    assert len(jpgs) == 3 * len(ACTIONS) and "sit_down_001.jpg" in jpgs
    splits = root / "ImageSplits"
    actions = (splits / "actions.txt").read_text().splitlines()
    assert actions[0].split("\t") == ["action_name", "number_of_images"] and actions[1] == f"{ACTIONS[0]}\t3"
    train, test = ((splits / f"{s}.txt").read_text().split() for s in ("train", "test"))
    assert sorted(train + test) == jpgs and train and test
    assert (splits / "wave_test.txt").read_text().split() == ["wave_001.jpg"]  # clip 0 is actor g01
    assert cv2.imread(str(root / "JPEGImages" / "wave_001.jpg")).shape == (64, 64, 3)


def test_preview_sheet_has_one_row_per_class(folder_set: Path, tmp_path: Path) -> None:
    sheet = cv2.imread(str(preview(folder_set, tmp_path / "sheet.png")))
    assert sheet.shape[0] == 64 * len(ACTIONS) and sheet.shape[1] > 8 * 64
    assert main(["synth", "--preview", str(tmp_path / "alone.png"), "--size", "48"]) == 0
    assert cv2.imread(str(tmp_path / "alone.png")).shape[0] == 48 * len(ACTIONS)


def test_cli_round_trip_resume_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    args = ["synth", str(out), "--clips-per-class", "1", "--size", "64", "--container", "avi", "--workers", "2"]
    assert main(args) == 0
    rows = manifest(out)
    assert len(rows) == len(ACTIONS) and all(r["path"].endswith(".avi") for r in rows)
    victim = out / rows[3]["path"]
    kept = out / rows[4]["path"]
    before = kept.stat().st_mtime_ns
    victim.unlink()
    (out / synth_dataset.MARKER).unlink()  # as if killed before finishing
    assert main(args) == 0
    assert victim.is_file() and kept.stat().st_mtime_ns == before  # only the missing clip was redone
    assert len(decode_all(victim)) == int(rows[3]["num_frames"])
    capsys.readouterr()
    assert main(["synth", str(tmp_path / "bad"), "--size", "63"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "size" in err
    assert main([*args, "--seed", "9"]) == 2  # never mixes clips of two parameter sets in one folder
    assert "other parameters" in capsys.readouterr().err


def test_synthetic_root_generates_once_then_reuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth_dataset, "default_params", lambda: {"num_clips_per_class": 1, "size": 64, "seed": 0})
    root = synthetic_root()
    assert (root / synth_dataset.MARKER).is_file() and len(manifest(root)) == len(ACTIONS)
    stamp = (root / "manifest.csv").stat().st_mtime_ns
    assert synthetic_root() == root and (root / "manifest.csv").stat().st_mtime_ns == stamp


def test_every_action_moves_a_joint_by_a_quarter_of_the_figure() -> None:
    from actionlab.synth.figure import actor_appearance, joints

    timing = Timing(num_frames=75, fps=25.0, speed=0.7, phase=0.0, hold_start=0.25, hold_end=0.25)
    look = actor_appearance(0, 1)
    for action in ACTIONS:
        path = np.array([list(joints(pose, look).values()) for pose in pose_trajectory(action, timing)])
        reach = np.linalg.norm(path.max(axis=0) - path.min(axis=0), axis=-1).max()
        assert reach > 0.25, (action, reach)  # figure heights: ~9 px of motion even at 48 px
