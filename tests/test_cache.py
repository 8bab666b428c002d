"""`actionlab cache` and `actionlab cache clean`: where, how big per part, what goes and what stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from actionlab.cache import cache_dir, cache_root, cached_array
from actionlab.cli import main


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This file cleans caches: each test gets its own, so the session's shared one (conftest) is never touched."""
    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path / "cache"))


def _fill(days_old: float) -> None:
    """A flow entry and a synthetic-set folder, both `days_old` days old, and a fresh probe log."""
    old = time.time() - days_old * 86400
    flow = cache_dir("flow") / "a.npy"
    np.save(flow, np.zeros(1000, np.float32))
    os.utime(flow, (old, old))
    clip = cache_dir("synthetic", "v1-x", "train") / "c.mp4"
    clip.write_bytes(b"0" * 2048)
    os.utime(clip, (old, old))
    (cache_dir("probe") / "log.jsonl").write_text("{}\n")


def test_cache_shows_root_and_parts(capsys) -> None:
    """The root (from $ACTIONLAB_CACHE) and one line per part with its size and what it holds."""
    _fill(1)
    assert main(["cache"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"cache: {cache_root()} (")
    flow = next(line for line in out if line.split()[0] == "flow")
    assert "4.0 KB" in flow and "1 files" in flow and "optical flow" in flow
    assert {line.split()[0] for line in out[1:]} == {"flow", "probe", "synthetic"}


def test_clean_older_than_keeps_recent_entries_whole(capsys) -> None:
    """--older-than removes whole old entries only; --dry-run removes nothing; a part name limits it."""
    _fill(10)
    assert main(["cache", "clean", "--older-than", "5", "--dry-run"]) == 0
    assert "would remove 2 entries" in capsys.readouterr().out
    assert (cache_root() / "flow" / "a.npy").is_file()
    assert main(["cache", "clean", "flow", "--older-than", "5"]) == 0
    assert not (cache_root() / "flow" / "a.npy").exists() and (cache_root() / "synthetic" / "v1-x").is_dir()
    assert main(["cache", "clean", "--older-than", "5"]) == 0
    assert "removed 1 entries, 2.0 KB" in capsys.readouterr().out.splitlines()[-1]
    assert (cache_root() / "probe" / "log.jsonl").is_file()  # written now: kept
    assert main(["cache", "clean"]) == 0
    assert not any((cache_root() / "probe").iterdir())


def test_clean_rejects_unknown_parts_and_negative_days(capsys) -> None:
    """An unknown part or a negative age is a usage error (exit 2) naming the reason; a known empty part is fine."""
    _fill(0)
    assert main(["cache", "clean", "nope"]) == 2
    assert "no cache part nope" in capsys.readouterr().err
    assert main(["cache", "clean", "--older-than", "-1"]) == 2
    assert main(["cache", "clean", "export"]) == 0  # known, not made yet: nothing to do


def test_cached_array_is_reused_and_cleaned(tmp_path: Path) -> None:
    """cached_array computes once per file; after `cache clean flow` it computes again."""
    video = tmp_path / "v.bin"
    video.write_bytes(b"x")
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(3.0)

    for _ in range(2):
        assert cached_array(video, "flow", "k", compute).tolist() == [0.0, 1.0, 2.0]
    assert len(calls) == 1
    assert main(["cache", "clean", "flow"]) == 0
    cached_array(video, "flow", "k", compute)
    assert len(calls) == 2


def test_growth_line_says_what_was_added() -> None:
    """The demo's summary line: bytes added per part since a snapshot, and the total."""
    from actionlab.cache import growth_line, usage_by_part

    _fill(0)
    before = usage_by_part()
    (cache_dir("flow") / "b.npy").write_bytes(b"0" * 3072)
    line = growth_line(before)
    assert line.startswith("cache: +3.0 KB (flow +3.0 KB), ") and str(cache_root()) in line


def test_cached_array_part_is_bounded(tmp_path: Path, monkeypatch, capsys) -> None:
    """Under ACTIONLAB_CACHE_MAX_GB, entries that do not fit are computed and returned, not stored, said once;
    a bad bound is one error line."""
    monkeypatch.setenv("ACTIONLAB_CACHE_MAX_GB", str(2.5 * (800 + 128) / 1e9))  # room for two 800-byte arrays
    videos = []
    for i in range(4):
        videos.append(tmp_path / f"v{i}.bin")
        videos[-1].write_bytes(bytes([i]))
    for i, video in enumerate(videos):
        assert cached_array(video, "flow", "k", lambda i=i: np.full(100, float(i))).tolist() == [float(i)] * 100
    assert len(list(cache_dir("flow").glob("*.npy"))) == 2
    err = capsys.readouterr().err
    assert err.count("its bound is") == 1 and "ACTIONLAB_CACHE_MAX_GB" in err
    assert cached_array(videos[3], "flow", "k", lambda: np.zeros(100)).tolist() == [0.0] * 100  # recomputed
    monkeypatch.setenv("ACTIONLAB_CACHE_MAX_GB", "lots")
    assert main(["cache"]) == 2
    assert "ACTIONLAB_CACHE_MAX_GB must be a number" in capsys.readouterr().err
