"""End to end: sets written by actionlab.synth in each official layout load through the matching adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

import actionlab.synth
from actionlab.cli import main
from actionlab.data import dataset_from_spec, load_dataset
from actionlab.synth import ACTIONS, generate

TINY = {"num_clips_per_class": 2, "size": 32, "workers": 1}


def _check(ds, n_train: int, n_test: int) -> None:
    assert sorted(c.lower().replace("_", "") for c in ds.classes) == sorted(a.replace("_", "") for a in ACTIONS)
    assert (len(ds.train), len(ds.test), ds.problems) == (n_train, n_test, [])
    assert all(s.path.is_file() for s in ds.train + ds.test)


@pytest.mark.parametrize("layout", ["ucf101", "hmdb51"])
def test_synth_official_layouts_load(tmp_path: Path, layout: str) -> None:
    out = generate(tmp_path / layout, layout=layout, **TINY)
    videos = out / ("UCF-101" if layout == "ucf101" else "hmdb51")
    for split in (1, 2, 3):
        ds = dataset_from_spec(f"{layout}:{videos}", split=split)  # annotations found beside the videos
        _check(ds, len(ACTIONS) * 2 - len(ds.test), len(ds.test))
        assert not {s.group for s in ds.train} & {s.group for s in ds.test}
        assert all(ds.classes[s.label].lower() == s.path.parent.name.lower() for s in ds.train + ds.test)


def test_synth_images_and_folder_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _check(load_dataset("images", generate(tmp_path / "img", images=True, **TINY)), 14, 14)
    folder = generate(tmp_path / "folder", **TINY)
    ds = load_dataset("synthetic", folder)
    assert ds.name == "synthetic" and ds.classes == sorted(ACTIONS)
    assert all(s.group is not None for s in ds.train + ds.test)  # from manifest.csv
    monkeypatch.setattr(actionlab.synth, "synthetic_root", lambda: folder)
    assert main(["index", "--dataset", "synthetic"]) == 0
    assert f"dataset synthetic: {len(ACTIONS)} classes, train 14, val 0, test 14" in capsys.readouterr().out
