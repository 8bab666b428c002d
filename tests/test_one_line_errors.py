"""One line, never a traceback, nothing half-written (issue 15): a full disk in train, damaged or foreign
model.safetensors / best_state.pt / last_state.pt, object-array .npz, a closed stdout pipe; model.safetensors
gets the umask's mode like every other output."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from actionlab.cli import main

TINY = ["--epochs", "1", "--frames", "4", "--size", "32", "--workers", "0", "--set", "width=8", "--set", "tracker=none"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    from actionlab.synth import generate

    return generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=2, size=32, seed=2)


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run") / "frame"
    assert main(["train", "--method", "frame-cnn", "--dataset", f"folder:{data_root}", "--out", str(run), *TINY]) == 0
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out


def _one_line(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if "error" in line]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_model_safetensors_gets_the_umask_mode_like_the_other_outputs(trained) -> None:
    mode = (trained / "model.safetensors").stat().st_mode & 0o777
    assert mode == (trained / "results.json").stat().st_mode & 0o777  # before: 0600 against 0644
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("content", [b"", b"not safetensors at all" * 50, b"\x08\x00\x00\x00\x00\x00\x00\x00{}"])
def test_a_damaged_model_safetensors_is_one_line_in_predict_and_evaluate(
    trained, data_root, tmp_path, capsys, content
) -> None:
    run = _copy(trained, tmp_path)
    (run / "model.safetensors").write_bytes(content)
    video = next(data_root.rglob("*.mp4"))
    assert main(["predict", str(run), str(video)]) == 1  # before: SafetensorError traceback
    _one_line(capsys.readouterr().err, "model.safetensors")
    assert main(["evaluate", str(run), "--dataset", f"folder:{data_root}"]) == 1
    _one_line(capsys.readouterr().err, "model.safetensors")


class Payload:
    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(os.environ["H2_MARKER"]),))


@pytest.mark.parametrize("name", ["best_state.pt", "last_state.pt"])
@pytest.mark.parametrize("kind", ["pickle", "garbage", "not-a-dict"])
def test_a_foreign_state_file_on_resume_is_one_line(
    trained, data_root, tmp_path, capsys, monkeypatch, name, kind
) -> None:
    run = _copy(trained, tmp_path)
    marker = tmp_path / "ran"
    monkeypatch.setenv("H2_MARKER", str(marker))
    if kind == "pickle":
        torch.save({"w": Payload()}, run / name)
    elif kind == "garbage":
        (run / name).write_bytes(os.urandom(300))
    else:
        torch.save([torch.zeros(2)], run / name)
    rc = main(
        ["train", "--method", "frame-cnn", "--dataset", f"folder:{data_root}", "--out", str(run), "--resume", *TINY]
    )
    assert rc == 1  # before (best_state.pt): UnpicklingError traceback
    _one_line(capsys.readouterr().err, name)
    assert not marker.exists()


def test_disk_full_during_train_is_one_line_and_leaves_no_temp_file(data_root, tmp_path, capsys, monkeypatch) -> None:
    real = pathlib.Path.write_bytes

    def full(self, data):
        real(self, data[: len(data) // 2])  # half written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    run = tmp_path / "run"
    rc = main(["train", "--method", "frame-cnn", "--dataset", f"folder:{data_root}", "--out", str(run), *TINY])
    assert rc == 1  # before: OSError traceback
    _one_line(capsys.readouterr().err, "No space left on device")
    left = sorted(p.name for p in run.iterdir() if p.name != ".lock")  # the run's lock file stays
    assert not [n for n in left if n.startswith(".") or "tmp" in n], left
    assert "model.safetensors" not in left and "last_state.pt" not in left


def test_an_object_array_stats_file_in_a_run_is_one_line(tmp_path) -> None:
    import numpy as np

    from actionlab.errors import FeatureError
    from actionlab.features.store import load_npz

    np.savez(tmp_path / "stats.npz", mean=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FeatureError, match="stats.npz: .*object arrays"):
        load_npz(tmp_path / "stats.npz")


def test_probe_into_a_closed_pipe_exits_quietly(tmp_path) -> None:
    from media import numbered_frames, write_video

    video = write_video(tmp_path / "v.mp4", numbered_frames(3, 32, 32))
    proc = subprocess.Popen(
        [sys.executable, "-m", "actionlab", "probe", *[str(video)] * 400],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(60)
    assert first.startswith(str(video).encode())
    assert "Traceback" not in err and "BrokenPipe" not in err, err  # before: a BrokenPipeError traceback
    assert proc.returncode == 141


def test_disk_full_at_the_end_of_train_is_one_line_too(data_root, tmp_path, capsys, monkeypatch) -> None:
    import numpy as np

    real = np.savez

    def full(file, *args, **kwargs):  # embeddings.npz, written after the test videos are scored
        real(file, *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    run = tmp_path / "run"
    rc = main(["train", "--method", "frame-cnn", "--dataset", f"folder:{data_root}", "--out", str(run), *TINY])
    assert rc == 1  # before: OSError traceback, .embeddings.tmp.npz left behind
    _one_line(capsys.readouterr().err, "embeddings.npz", "No space left on device")
    assert not [p.name for p in run.iterdir() if "tmp" in p.name]
