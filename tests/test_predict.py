"""predict over a folder with broken files: one stderr line per bad file, the rest are predicted."""

from __future__ import annotations

import numpy as np
import pytest

from actionlab.cli import main
from actionlab.methods import get_method
from media import write_video


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from actionlab.data import dataset_from_spec
    from actionlab.synth import generate

    root = generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=3)
    run = tmp_path_factory.mktemp("run") / "frame"
    get_method("frame-cnn").train(
        dataset_from_spec(f"folder:{root}"), run, {"epochs": 1, "frames": 4, "size": 32, "width": 8, "workers": 0}
    )
    return run


def test_predict_folder_with_broken_files(run_dir, tmp_path, capsys):
    folder = tmp_path / "videos"
    rng = np.random.default_rng(0)
    good = write_video(folder / "good.mp4", rng.integers(0, 255, (12, 48, 64, 3), dtype=np.uint8))
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("this is not a video\n" * 20)
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    assert main(["predict", str(run_dir), str(folder)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.out.strip().splitlines()
    assert any(line.startswith(str(good)) for line in lines)
    bad_lines = [line for line in captured.err.splitlines() if "empty.mp4" in line or "text.mp4" in line]
    assert len(bad_lines) == 2
    assert "truncated.mp4" in captured.out + captured.err  # predicted from what decodes, or listed


def test_predict_exits_nonzero_when_nothing_predicted(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"\x00" * 100)
    assert main(["predict", str(run_dir), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.avi" in err and "Traceback" not in err


def test_predict_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["predict", str(tmp_path), str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
