"""The consolidated HDF5 file of a feature store: round trip, served reads, never stale, CLI precision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from actionlab.cli import main
from actionlab.data import Sample
from actionlab.features import FeatureArray, FeatureStore, create_extractor, extract
from media import write_video
from test_feature_store import make_dataset
from test_features import moving_square


def test_consolidated_h5_round_trips_and_serves_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = make_dataset(tmp_path / "v", 3, 2)
    (tmp_path / "bad.mp4").write_bytes(b"broken")
    ds.test.append(Sample(tmp_path / "bad.mp4", 1))
    ex = create_extractor("cnn2d:resnet18", num_frames=3, size=32, device="cpu", bf16=False, batch_size=5)
    summary = extract(ds, ex, tmp_path / "s", progress=False)
    store = FeatureStore(summary.store)
    shards = {s.path: store._shard_item(s.path) for s in ds.train + ds.test[:2]}
    with h5py.File(store.h5_path, "r") as h5:
        assert json.loads(h5.attrs["config"]) == json.loads(json.dumps(ex.config)) and h5.attrs["hash"] == store.hash
        assert "bad.mp4" in next(iter(json.loads(h5.attrs["skipped"])))
        np.testing.assert_array_equal(h5["stats/mean"][()], store.stats[0])
        videos = {name: h5[f"videos/{name}"] for name in h5["videos"]}
        paths = [Path(p) for p in videos["path"].asstr()[()]]
        assert sorted(paths) == sorted(shards) and h5["values"].shape == (3 * len(shards), 512)
        for row, path in enumerate(paths):
            item, start, length = shards[path], videos["values_start"][row], videos["values_len"][row]
            # one array holds every video's rows: a user slices it with the start/len columns
            np.testing.assert_array_equal(h5["values"][start : start + length], item.features.values)
            start, length = videos["indices_start"][row], videos["indices_len"][row]
            np.testing.assert_array_equal(h5["indices"][start : start + length], item.features.indices)
            assert (videos["label"][row], videos["split"].asstr()[row], videos["fps"][row]) == (
                item.label,
                item.split,
                item.features.fps,
            )
    # reads come from features.h5 while it is current: the shards are not even opened
    monkeypatch.setattr(FeatureStore, "_load_shard", staticmethod(lambda f: pytest.fail(f"read shard {f}")))
    fresh = FeatureStore(summary.store)
    assert fresh.consolidated() is not None
    assert sorted(fresh.keys()) == sorted(str(p) for p in shards)
    np.testing.assert_array_equal(
        fresh.get(ds.test[0], normalize=False).values, shards[ds.test[0].path].features.values
    )
    assert fresh.item(ds.train[1].path).label == 1


def test_h5_never_stale_after_new_shards_or_other_config(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path / "v", 2, 1)
    ex = create_extractor("flow:dis", num_flows=2, size=32)
    store = FeatureStore(extract(ds, ex, tmp_path / "s", progress=False).store)
    assert store.consolidated() is not None
    # a shard written after consolidation (another tool, an interrupted run) wins over the file
    old = store.get(ds.train[0])
    newer = FeatureArray(old.values + 1, old.indices, old.fps)
    store.put(ds.train[0].path, newer, 0, "train")
    extra = write_video(tmp_path / "extra.mp4", moving_square(12, 7))
    store.put(extra, newer, 1, "test")
    assert store.consolidated() is None
    np.testing.assert_array_equal(store.get(ds.train[0]).values, newer.values)
    assert str(extra) in store.keys()  # noqa: SIM118 - keys() lists paths; `in store` checks identity
    # a features.h5 carried over from another extractor config is never read
    other = FeatureStore(
        extract(ds, create_extractor("flow:dis", num_flows=3, size=32), tmp_path / "s", progress=False).store
    )
    assert other.path != store.path
    shutil.copy(other.h5_path, store.h5_path)
    reopened = FeatureStore(store.path)
    assert reopened.consolidated() is None and reopened.get(ds.test[0]).values.shape[0] == 2
    # the next run re-consolidates and the file is current again
    again = extract(ds, ex, tmp_path / "s", progress=False)
    assert again.done == 0 and FeatureStore(store.path).consolidated() is not None
    with h5py.File(store.h5_path, "r") as h5:
        assert len(h5["videos/key"]) == 4 and h5.attrs["hash"] == store.hash


def test_h5_keeps_videos_of_another_feature_shape_and_rewrites_old_layouts(tmp_path: Path) -> None:
    ex = create_extractor("flow:dis", num_flows=2, size=32)
    store = FeatureStore.open(tmp_path / "s", "ragged", ex)
    rng = np.random.default_rng(0)
    wide, tall = rng.integers(0, 255, (2, 32, 48, 2), np.uint8), rng.integers(0, 255, (2, 48, 32, 2), np.uint8)
    store.put("/v/wide.mp4", FeatureArray(wide, np.arange(3), 25.0), 0, "train")
    store.put("/v/tall.mp4", FeatureArray(tall, np.arange(3), 30.0), 1, "test")
    store.consolidate()
    fresh = FeatureStore(store.path)
    assert fresh.consolidated() is not None
    np.testing.assert_array_equal(fresh.get("/v/wide.mp4").values, wide)
    got = fresh.item("/v/tall.mp4")
    np.testing.assert_array_equal(got.features.values, tall)
    assert (got.label, got.split, got.features.fps) == (1, "test", 30.0)
    with h5py.File(store.h5_path, "r") as h5:
        # the first video (in key order) fixes the shape of the shared array; the other is stored on its own
        alone = list(h5["values_by_video"].values())
        assert len(alone) == 1 and {h5["values"].shape, alone[0].shape} == {wide.shape, tall.shape}
    # a file in the old layout (a group per video) is never read: the shards serve reads until it is rewritten
    old = tmp_path / "old.h5"
    shutil.copy(store.h5_path, old)
    with h5py.File(old, "r+") as h5:
        signature = json.loads(h5.attrs["signature"])
        signature.pop("layout")
        h5.attrs["signature"] = json.dumps(signature)
    old.replace(store.h5_path)
    assert FeatureStore(store.path).consolidated() is None
    np.testing.assert_array_equal(FeatureStore(store.path).get("/v/tall.mp4").values, tall)


def test_cli_extract_cnn2d_precision_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for c in range(2):
        for i in range(2):
            write_video(tmp_path / "data" / f"class{c}" / f"v{i}.mp4", moving_square(10, c * 2 + i))
    (tmp_path / "data" / "class1" / "empty.mp4").write_bytes(b"")
    code = main(
        [
            "extract",
            "--dataset",
            f"folder:{tmp_path / 'data'}",
            "--features",
            "cnn2d:resnet18",
            "--store",
            str(tmp_path / "s"),
            "--precision",
            "fp32",
            "--batch-size",
            "8",
            "--no-progress",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "4 extracted" in out and "1 skipped" in out and "videos/s" in out and "frames/s" in out
    assert "empty.mp4" in err and "Traceback" not in err
    store_dir = Path(next(line for line in out.splitlines() if line.startswith("store: "))[7:])
    store = FeatureStore(store_dir)
    assert store.config["bf16"] is False and store.h5_path.is_file()
    code = main(
        [
            "extract",
            "--dataset",
            f"folder:{tmp_path / 'data'}",
            "--features",
            "cnn2d:resnet18",
            "--store",
            str(tmp_path / "s"),
            "--streams",
            "0",
            "--no-progress",
        ]
    )
    assert code != 0 and "streams must be >= 1" in capsys.readouterr().err
