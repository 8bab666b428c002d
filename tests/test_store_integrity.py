"""The feature store never serves stale data and survives crashes (issue 15, data integrity):
entries keyed by file identity, an OS writer lock, stale temporaries cleaned, sift-bow fitting past bad videos,
.npz files read without pickle."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from actionlab.cli import main
from actionlab.data import Dataset, Sample
from actionlab.errors import FeatureError
from actionlab.features import FeatureStore, create_extractor, extract
from media import write_video
from test_features import moving_square

FLOW = {"num_flows": 2, "size": 32}


def _dataset(root: Path, n: int = 3) -> Dataset:
    vids = [write_video(root / f"c{i % 2}" / f"v{i}.mp4", moving_square(10, i)) for i in range(n)]
    samples = [Sample(p, i % 2) for i, p in enumerate(vids)]
    return Dataset("tiny", ["a", "b"], samples[:-1], samples[-1:])


def _replace(path: Path, seed: int) -> None:
    """Write a different video at `path` with a later mtime (a copy over the old file)."""
    stamp = path.stat().st_mtime_ns
    write_video(path, moving_square(14, seed))
    os.utime(path, ns=(stamp + 2_000_000_000, stamp + 2_000_000_000))


def test_a_file_replaced_in_place_is_extracted_again(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v")
    ex = create_extractor("flow:dis", **FLOW)
    assert extract(ds, ex, tmp_path / "s", progress=False).done == 3
    target = ds.train[0].path
    _replace(target, seed=7)
    again = extract(ds, ex, tmp_path / "s", progress=False)
    assert (again.done, again.already) == (1, 2)  # before: (0, 3), "3 already in store"
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    np.testing.assert_array_equal(store.get(target, normalize=False).values, ex.transform(target).values)
    assert sorted(store.keys()) == sorted(str(s.path) for s in ds.train + ds.test)  # one entry per file


def test_a_changed_file_is_not_served_stale_features(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v", 2)
    ex = create_extractor("flow:dis", **FLOW)
    extract(ds, ex, tmp_path / "s", progress=False)
    _replace(ds.train[0].path, seed=9)
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    with pytest.raises(FeatureError, match="changed .* since its features were extracted"):
        store.get(ds.train[0].path)


def test_a_skip_is_tried_again_once_the_file_is_fixed(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v", 2)
    bad = tmp_path / "v" / "c0" / "bad.mp4"
    bad.write_bytes(b"broken")
    ds.train.append(Sample(bad, 0))
    ex = create_extractor("flow:dis", **FLOW)
    assert [p for p, _ in extract(ds, ex, tmp_path / "s", progress=False).skipped] == [str(bad)]
    same = extract(ds, ex, tmp_path / "s", progress=False)
    assert same.done == 0 and len(same.skipped) == 1  # unchanged file: not retried
    write_video(bad, moving_square(10, 5))
    fixed = extract(ds, ex, tmp_path / "s", progress=False)
    assert fixed.done == 1 and not fixed.skipped  # before: done 0, skipped forever
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    assert str(bad) not in store.skipped and bad in store


def test_a_legacy_store_stays_readable_and_is_recomputed_once(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v", 2)
    ex = create_extractor("flow:dis", **FLOW)
    extract(ds, ex, tmp_path / "s", progress=False)
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    for shard in store.items_dir.glob("*.npz"):  # rename to the path-only keys of stores before identity keys
        names, _, stamp = shard.stem.partition("@")
        legacy = "+".join(
            hashlib.sha1(str(Path(p).resolve()).encode()).hexdigest()[:20] for p in _shard_paths(shard, names)
        )
        shard.rename(shard.with_name(f"{legacy}@{stamp}.npz"))
    (store.path / "features.h5").unlink()
    old = FeatureStore(store.path)
    assert old.get(ds.train[0].path, normalize=False).values.shape[0] == 2  # readable
    assert extract(ds, ex, tmp_path / "s", progress=False).done == 2  # no identity recorded: computed again


def _shard_paths(shard: Path, names: str) -> list[str]:
    import json

    with np.load(shard) as z:
        return [m["path"] for m in json.loads(str(z["meta"]))]


LOCKER = textwrap.dedent("""
    import sys, time
    from actionlab.features.store import FeatureStore
    FeatureStore(sys.argv[1]).lock()
    print("locked", flush=True)
    time.sleep(60)
""")


def test_the_writer_lock_is_an_os_lock_that_dies_with_its_process(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v", 2)
    ex = create_extractor("flow:dis", **FLOW)
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, str(store.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        (store.path / "writer.lock").write_text("")  # the window after create, before the pid is written
        with pytest.raises(FeatureError, match="another extract"):  # before: an empty pid counted as stale
            store.lock()
    finally:
        holder.kill()
        holder.wait()
    (store.path / "writer.lock").write_text(str(holder.pid))  # the lock file a kill -9 leaves: no matter
    assert extract(ds, ex, tmp_path / "s", progress=False).done == 2


def test_only_one_of_many_racing_writers_gets_the_lock(tmp_path: Path) -> None:
    ex = create_extractor("flow:dis", **FLOW)
    path = FeatureStore.open(tmp_path / "s", "tiny", ex).path
    doubled = 0
    for _ in range(30):
        (path / "writer.lock").write_text("999999999")  # left by a killed run
        stores = [FeatureStore(path) for _ in range(6)]
        barrier, won = threading.Barrier(len(stores)), []

        def take(store: FeatureStore, barrier: threading.Barrier = barrier, won: list = won) -> None:
            barrier.wait()
            try:
                store.lock()
                won.append(store)
            except FeatureError:
                pass

        threads = [threading.Thread(target=take, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        doubled += len(won) > 1
        assert won
        for s in won:
            s.unlock()
    assert doubled == 0


def test_taking_the_lock_removes_temporaries_of_a_killed_writer(tmp_path: Path) -> None:
    ex = create_extractor("flow:dis", **FLOW)
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    h5_tmp = store.path / ".features.h5.k2j3h4.tmp.h5"
    h5_tmp.write_bytes(b"\0" * 1000)
    old_shard, new_shard = store.items_dir / ".ab.npz.x1.tmp.npz", store.items_dir / ".cd.npz.x2.tmp.npz"
    old_shard.write_bytes(b"x")
    new_shard.write_bytes(b"x")
    long_ago = time.time() - 3600
    os.utime(old_shard, (long_ago, long_ago))
    store.lock()
    store.unlock()
    assert not h5_tmp.exists() and not old_shard.exists()  # before: kept forever
    assert new_shard.exists()  # may be a Ray worker's shard being written right now


KILL_IN_H5_WRITE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from actionlab.data import Dataset, Sample
    from actionlab.features import create_extractor, extract
    from actionlab.features import consolidated
    real = consolidated._Ragged.flush
    def flush(self):
        real(self)
        os.kill(os.getpid(), 9)  # kill -9 while features.h5's temp file is being written
    consolidated._Ragged.flush = flush
    paths = [Path(p) for p in sys.argv[2:]]
    ds = Dataset("tiny", ["a", "b"], [Sample(p, i % 2) for i, p in enumerate(paths)], [])
    extract(ds, create_extractor("flow:dis", num_flows=2, size=32), sys.argv[1], progress=False)
""")


def test_kill_9_during_the_h5_write_leaves_nothing_after_the_next_run(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v", 2)
    paths = [str(s.path) for s in ds.train + ds.test]
    proc = subprocess.run([sys.executable, "-c", KILL_IN_H5_WRITE, str(tmp_path / "s"), *paths])
    assert proc.returncode == -9
    left = list((tmp_path / "s").rglob(".features.h5.*.tmp.h5"))
    assert left  # the killed writer's temp file
    ds = Dataset("tiny", ["a", "b"], [Sample(Path(p), i % 2) for i, p in enumerate(paths)], [])
    again = extract(ds, create_extractor("flow:dis", **FLOW), tmp_path / "s", progress=False)
    assert again.already == 2 and not any(p.exists() for p in left)


def test_sift_bow_fit_skips_an_unreadable_training_video(tmp_path: Path, capsys) -> None:
    ds = _dataset(tmp_path / "v", 4)
    bad = tmp_path / "v" / "c0" / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    ds.train.insert(0, Sample(bad, 0))
    ex = create_extractor("sift-bow", k=4, num_frames=3, size=48)
    summary = extract(ds, ex, tmp_path / "s", progress=False)  # before: FeatureError, nothing extracted
    assert summary.done == 4 and [p for p, _ in summary.skipped] == [str(bad)]
    assert ex.fitted_on[0] == bad and [p for p, _ in ex.fit_skipped] == [str(bad)]


def test_an_object_array_npz_in_a_store_is_one_line(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path / "v", 2)
    ex = create_extractor("flow:dis", **FLOW)
    extract(root, ex, tmp_path / "s", progress=False)
    store = FeatureStore.open(tmp_path / "s", "tiny", ex)
    np.savez(store.path / "stats.npz", mean=np.array([object()], dtype=object), std=np.ones(1))
    with pytest.raises(FeatureError, match="stats.npz: .*object arrays"):
        store.get(root.train[0].path)
    shard = next(store.items_dir.glob("*.npz"))
    with open(shard, "wb") as fh:
        np.savez(fh, meta=np.array([{"path": "x"}], dtype=object))
    with pytest.raises(FeatureError, match="object arrays"):
        store.consolidate()


def test_disk_full_during_extract_is_one_line_and_leaves_no_temp_file(tmp_path: Path, monkeypatch, capsys) -> None:
    from actionlab.synth import generate

    root = generate(tmp_path / "set", num_clips_per_class=2, size=32, seed=1)
    real = np.savez

    def full(file, *args, **kwargs):
        real(file, *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    rc = main(
        [
            "extract",
            "--dataset",
            f"folder:{root}",
            "--features",
            "flow:dis",
            "--store",
            str(tmp_path / "st"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "No space left on device" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not [p for p in (tmp_path / "st").rglob("*") if ".tmp" in p.name]


def test_a_symlink_loop_listed_as_a_sample_is_skipped_not_a_crash(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "v", 2)
    loop = tmp_path / "v" / "loop.mp4"
    loop.symlink_to("loop.mp4")
    ds.test.append(Sample(loop, 1))
    summary = extract(ds, create_extractor("flow:dis", **FLOW), tmp_path / "s", progress=False)
    assert summary.done == 2 and [p for p, _ in summary.skipped] == [str(loop)]  # before: RuntimeError
