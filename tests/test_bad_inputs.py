"""Every verb on a folder of bad inputs mixed with good ones (issue 15): no traceback, one line per bad file
naming it, the right exit code.

The corpus: zero-byte, random bytes, text named .mp4, truncated, header-then-garbage, audio only, one frame,
a folder named .mp4, a symlink loop, an unreadable file (chmod 000; as root, whom chmod does not stop, the
permission check is made to fail for that path), a non-ASCII name (a good file: it must work) and huge
dimensions (over ACTIONLAB_MAX_PIXELS, set low here so the file stays small).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from actionlab.cli import main
from media import write_video

TINY = ["--epochs", "1", "--frames", "4", "--size", "32", "--workers", "0", "--set", "width=8", "--set", "tracker=none"]
MAX_PIXELS = 200 * 150
# files no verb can read; each must be named on exactly one line wherever it is an input
DEAD = ("zero.mp4", "random.mp4", "text.mp4", "audio.mp4", "unreadable.mp4", "huge.mp4")
# not files: a scan passes over them, so only `index` (and `probe`, given them by name) can name them
NOT_FILES = ("folder.mp4", "loop.mp4")
# damaged or tiny but with a valid header: used from what decodes, or named on one line
DAMAGED = ("truncated.mp4", "garbage.mp4", "one-frame.mp4")
GOOD_NAME = "vidéo-日本.mp4"


def _audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _frames(n: int, seed: int, h: int = 32, w: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (n, h, w, 3), dtype=np.uint8)


def make_corpus(cls_dir: Path) -> Path:
    """Write the bad files into `cls_dir` (a class folder of a good dataset); return `cls_dir`."""
    rng = np.random.default_rng(0)
    good = write_video(cls_dir / GOOD_NAME, _frames(12, 1))
    data = good.read_bytes()
    (cls_dir / "zero.mp4").write_bytes(b"")
    (cls_dir / "random.mp4").write_bytes(rng.bytes(4000))
    (cls_dir / "text.mp4").write_text("this is not a video\n" * 30)
    (cls_dir / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (cls_dir / "garbage.mp4").write_bytes(data[: len(data) // 4] + rng.bytes(len(data)))
    _audio_only(cls_dir / "audio.mp4")
    write_video(cls_dir / "one-frame.mp4", _frames(1, 2))
    (cls_dir / "folder.mp4").mkdir()
    (cls_dir / "loop.mp4").symlink_to("loop.mp4")
    unreadable = write_video(cls_dir / "unreadable.mp4", _frames(8, 3))
    unreadable.chmod(0)
    write_video(cls_dir / "huge.mp4", _frames(4, 4, 160, 240))  # 38400 px > MAX_PIXELS
    return cls_dir


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from actionlab.synth import generate

    root = generate(tmp_path_factory.mktemp("bad") / "set", num_clips_per_class=2, size=32, seed=4)
    make_corpus(sorted((root / "train").iterdir())[0])
    test_dir = sorted((root / "test").iterdir())[0]
    for name in ("test-zero.mp4", "test-random.mp4"):  # bad files in the test split too (evaluate)
        (test_dir / name).write_bytes(b"" if "zero" in name else os.urandom(999))
    return root


@pytest.fixture(autouse=True)
def _limits(monkeypatch) -> None:
    monkeypatch.setenv("ACTIONLAB_MAX_PIXELS", str(MAX_PIXELS))
    if os.geteuid() == 0:  # root reads mode-000 files: make the permission check see what a user would
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode, *a, **k: False if Path(p).name == "unreadable.mp4" else real(p, mode, *a, **k)
        )


def _check(out: str, err: str, names: tuple[str, ...]) -> None:
    """No traceback; each name on exactly one line of stderr."""
    assert "Traceback" not in out + err, err
    for name in names:
        lines = [line for line in err.splitlines() if f"/{name}" in line]
        assert len(lines) == 1, (name, err)


def test_index_names_every_bad_file(corpus, capsys) -> None:
    assert main(["index", "--dataset", f"folder:{corpus}"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    problems = out[out.index("problem(s)") :]
    for name in DEAD + NOT_FILES:  # before: all counted as good or silently dropped
        lines = [line for line in problems.splitlines() if f"/{name}:" in line]
        assert len(lines) == 1, (name, problems)
    assert GOOD_NAME not in problems


def test_probe_names_every_bad_file(corpus, capsys) -> None:
    cls = sorted((corpus / "train").iterdir())[0]
    files = sorted(str(p) for p in cls.iterdir())
    assert main(["probe", *files]) == 0
    out, err = capsys.readouterr()
    _check(out, err, DEAD + NOT_FILES)
    assert GOOD_NAME in out
    for name in DAMAGED:
        assert (f"/{name}" in out) != (f"/{name}" in err)  # probed, or one error line


def test_extract_skips_and_names_every_bad_sample(corpus, tmp_path, capsys) -> None:
    rc = main(
        [
            "extract",
            "--dataset",
            f"folder:{corpus}",
            "--features",
            "flow:dis",
            "--store",
            str(tmp_path / "s"),
            "--no-progress",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    _check(out, err, DEAD)
    assert GOOD_NAME not in err


def test_train_predict_evaluate_name_every_bad_file(corpus, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    rc = main(["train", "--method", "frame-cnn", "--dataset", f"folder:{corpus}", "--out", str(run), *TINY])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in out + err
    for name in DEAD:  # a skipped training video is reported once (stderr or the summary)
        assert len([line for line in (out + err).splitlines() if f"/{name}" in line]) == 1, (name, out, err)
    cls = sorted((corpus / "train").iterdir())[0]
    assert main(["predict", str(run), str(cls)]) == 0
    out, err = capsys.readouterr()
    _check(out, err, DEAD)
    assert GOOD_NAME in out
    assert main(["evaluate", str(run), "--dataset", f"folder:{corpus}"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    for name in ("test-zero.mp4", "test-random.mp4"):
        assert len([line for line in (out + err).splitlines() if f"/{name}" in line]) == 1, (name, out, err)
