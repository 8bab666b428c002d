"""The feature store through extract() and the CLI on real encoded videos: resume after kill -9, locking,
config hashing, train-only fitting, normalisation and skipped videos."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from actionlab.cli import main
from actionlab.data import Dataset, Sample
from actionlab.errors import FeatureError
from actionlab.features import FeatureArray, FeatureStore, create_extractor, extract
from actionlab.features.store import shard_keys
from media import write_video
from test_features import moving_square

ROOT = Path(__file__).resolve().parents[1]


def make_dataset(root: Path, n_train: int = 4, n_test: int = 2, frames: int = 12) -> Dataset:
    vids = [write_video(root / f"c{i % 2}" / f"v{i}.mp4", moving_square(frames, i)) for i in range(n_train + n_test)]
    samples = [Sample(p, i % 2) for i, p in enumerate(vids)]
    return Dataset("tiny", ["a", "b"], samples[:n_train], samples[n_train:])


def test_extract_store_roundtrip_normalised_and_skips(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v")
    (tmp_path / "bad.mp4").write_bytes(b"broken")
    ds.test.append(Sample(tmp_path / "bad.mp4", 1))
    ex = create_extractor("cnn2d:resnet18", num_frames=3, size=32, device="cpu")
    summary = extract(ds, ex, tmp_path / "store", progress=False)
    assert summary.done == 6 and len(summary.skipped) == 1 and "bad.mp4" in summary.skipped[0][0]
    store = FeatureStore.open(tmp_path / "store", "tiny", ex)
    assert sorted(store.keys()) == sorted(str(s.path) for s in ds.train + ds.test[:2])
    assert "bad.mp4" in next(iter(store.skipped))
    raw = store.get(ds.test[0], normalize=False)
    np.testing.assert_array_equal(raw.values, ex.transform(ds.test[0].path).values)
    train = np.concatenate([store.get(s).values for s in ds.train])
    np.testing.assert_allclose(train.mean(0), 0, atol=1e-3)
    item = store.item(ds.train[1].path)
    assert item.label == 1 and item.split == "train"
    with pytest.raises(FeatureError, match="bad.mp4"):
        store.get(ds.test[2])
    again = extract(ds, ex, tmp_path / "store", progress=False)
    assert again.done == 0 and again.already == 6 and len(again.skipped) == 1


def test_streams_give_the_same_features_and_restore_torch_threads(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v", 6, 3)
    (tmp_path / "bad.mp4").write_bytes(b"broken")
    ds.train.insert(3, Sample(tmp_path / "bad.mp4", 1))
    before = torch.get_num_threads()
    features, seen = {}, {}
    for streams in (1, 2):
        ex = create_extractor(
            "cnn2d:resnet18", num_frames=3, size=32, device="cpu", bf16=False, batch_size=4, streams=streams
        )
        forward = ex.forward
        ex.forward = lambda x, f=forward, s=streams: (
            seen.setdefault(s, set()).add((threading.get_ident(), torch.get_num_threads())) or f(x)
        )
        summary = extract(ds, ex, tmp_path / f"s{streams}", progress=False)
        assert summary.done == 9 and [p for p, _ in summary.skipped] == [str(tmp_path / "bad.mp4")]
        assert torch.get_num_threads() == before  # the process-wide setting is given back
        store = FeatureStore(summary.store)
        done = [s for s in ds.train + ds.test if s.path in store]
        features[streams] = {s.path: store.get(s, normalize=False).values for s in done}
    for path, values in features[1].items():
        np.testing.assert_allclose(features[2][path], values, rtol=1e-4, atol=1e-4)
    assert {threads for _, threads in seen[1]} == {before}
    if before >= 2:  # two passes at once, each on half of torch's threads
        assert len({ident for ident, _ in seen[2]}) == 2 and {t for _, t in seen[2]} == {before // 2}


def test_batches_ramp_up_and_share_the_tail_across_streams() -> None:
    from actionlab.features.extract import batch_rows

    assert [batch_rows(32, 1, n, 1000, 8) for n in range(3)] == [32, 32, 32]
    assert [batch_rows(32, 2, n, 1000, 8) for n in range(4)] == [8, 16, 32, 32]
    # the last rows are shared out so both streams finish together
    assert [batch_rows(32, 2, 9, left, 8) for left in (200, 128, 64, 24, 8)] == [32, 32, 16, 6, 2]


def test_shards_hold_several_videos_and_the_newest_shard_wins(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v", 8, 4)
    ex = create_extractor("cnn2d:resnet18", num_frames=3, size=32, device="cpu", bf16=False, batch_size=6)
    store = FeatureStore(extract(ds, ex, tmp_path / "s", progress=False).store)
    shards = list(store.items_dir.glob("[!.]*.npz"))
    assert len(shards) < 12 and sorted(store.keys()) == sorted(str(s.path) for s in ds.train + ds.test)
    store.h5_path.unlink()  # every read below comes from the shards
    fresh = FeatureStore(store.path)
    for s in ds.train + ds.test:
        assert s.path in fresh
        np.testing.assert_allclose(fresh.get(s, normalize=False).values, ex.transform(s.path).values, atol=1e-5)
    # a video stored again, in a shard of its own, is read from that newer shard even within one mtime tick
    old = fresh.get(ds.test[1], normalize=False)
    fresh.put(ds.test[1].path, FeatureArray(old.values + 1, old.indices, old.fps), 1, "test")
    again = FeatureStore(store.path)
    np.testing.assert_array_equal(again.get(ds.test[1], normalize=False).values, old.values + 1)
    assert len(again.keys()) == 12
    again.consolidate()
    np.testing.assert_array_equal(FeatureStore(store.path).get(ds.test[1], normalize=False).values, old.values + 1)


def test_changed_config_is_a_different_store(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v", 2, 1)
    a = extract(ds, create_extractor("flow:dis", num_flows=2, size=32), tmp_path / "s", progress=False)
    b = extract(ds, create_extractor("flow:dis", num_flows=3, size=32), tmp_path / "s", progress=False)
    assert a.store != b.store and b.done == 3
    assert FeatureStore(b.store).get(ds.train[0]).values.shape[0] == 3


def test_sift_codebook_fitted_on_train_only_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = make_dataset(tmp_path / "v", 3, 2)
    ex = create_extractor("sift-bow", k=8, num_frames=3, size=48)
    extract(ds, ex, tmp_path / "s", progress=False)
    assert ex.fitted_on == [s.path for s in ds.train]
    fresh = create_extractor("sift-bow", k=8, num_frames=3, size=48)
    monkeypatch.setattr(fresh, "fit", lambda paths: pytest.fail("refit although the codebook is stored"))
    ds.test.append(Sample(write_video(tmp_path / "new.mp4", moving_square(12, 9)), 0))
    summary = extract(ds, fresh, tmp_path / "s", progress=False)
    assert summary.done == 1
    np.testing.assert_array_equal(fresh.codebook, ex.codebook)


def test_second_writer_refuses_clearly(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v", 1, 1)
    ex = create_extractor("flow:dis", num_flows=2, size=32)
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    store.lock()
    with pytest.raises(FeatureError, match=f"another extract \\(pid {os.getpid()}\\)"):
        extract(ds, ex, tmp_path / "s", progress=False)
    store.unlock()
    assert extract(ds, ex, tmp_path / "s", progress=False).done == 2


def test_resume_after_kill_9(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v", 12, 4, frames=16)
    lines = "\n".join(f"    Sample(Path({str(s.path)!r}), {s.label})," for s in ds.train + ds.test)
    script = (
        textwrap.dedent("""
        import time
        from pathlib import Path
        from actionlab.data import Dataset, Sample
        from actionlab.features import create_extractor, extract
        from actionlab.features.flow import FlowExtractor
        slow = FlowExtractor.transform
        def transform(self, path):
            time.sleep(0.3)  # so the kill lands mid-run
            return slow(self, path)
        FlowExtractor.transform = transform
        s = [
        LINES
        ]
        ds = Dataset("tiny", ["a", "b"], s[:12], s[12:])
        extract(ds, create_extractor("flow:farneback", num_flows=2, size=32), STORE, progress=False, workers=1)
        """)
        .replace("LINES", lines)
        .replace("STORE", repr(str(tmp_path / "s")))
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ex = create_extractor("flow:farneback", num_flows=2, size=32)
    items = FeatureStore.open(tmp_path / "s", "tiny", ex).items_dir

    def stored() -> int:  # videos in finished shards: a shard's name lists its videos' keys
        return sum(len(shard_keys(f)) for f in items.glob("[!.]*.npz"))

    deadline = time.time() + 60
    while stored() < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {f.name: f.stat().st_mtime_ns for f in items.glob("[!.]*.npz")}
    count = stored()
    assert 3 <= count < 16
    summary = extract(ds, ex, tmp_path / "s", progress=False)
    assert summary.already == count and summary.done == 16 - count
    assert all((items / n).stat().st_mtime_ns == t for n, t in before.items())
    store = FeatureStore(summary.store)
    assert store.consolidated() is not None  # the resumed run finished and consolidated every video
    assert len(store.keys()) == 16
    assert all(store.get(s).values.shape == (2, 32, 43, 2) for s in ds.train + ds.test)


def test_cli_extract(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for c in range(2):
        for i in range(3):
            write_video(tmp_path / "data" / f"class{c}" / f"v{i}.mp4", moving_square(12, c * 3 + i))
    (tmp_path / "data" / "class0" / "broken.mp4").write_bytes(b"xx")
    args = [
        "extract",
        "--dataset",
        f"folder:{tmp_path / 'data'}",
        "--features",
        "flow:dis",
        "--store",
        str(tmp_path / "s"),
        "--no-progress",
    ]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "skipped: " in err and "broken.mp4" in err and "Traceback" not in err
    assert "6 extracted" in out and "1 skipped" in out and "videos/s" in out
    assert main(args) == 0
    assert "0 extracted, 6 already" in capsys.readouterr().out
    assert main(["extract", "--dataset", f"folder:{tmp_path / 'data'}", "--features", "nope"]) != 0
    assert "unknown extractor" in capsys.readouterr().err


def test_a_failed_shard_write_stops_the_run_and_the_rest_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = make_dataset(tmp_path / "v", 4, 2)
    ex = create_extractor("flow:dis", num_flows=2, size=32)
    real_put, calls = FeatureStore.put_many, []

    def put_many(self, items):
        calls.append(items)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_put(self, items)

    monkeypatch.setattr(sys.modules["actionlab.features.extract"], "SHARD_VIDEOS", 1)  # a shard per video
    monkeypatch.setattr(FeatureStore, "put_many", put_many)
    with pytest.raises(OSError, match="No space left"):
        extract(ds, ex, tmp_path / "s", progress=False)
    monkeypatch.setattr(FeatureStore, "put_many", real_put)
    again = extract(ds, ex, tmp_path / "s", progress=False)
    assert again.already >= 2 and again.done == 6 - again.already and not again.skipped
    store = FeatureStore(again.store)
    assert store.consolidated() is not None and len(store.keys()) == 6
