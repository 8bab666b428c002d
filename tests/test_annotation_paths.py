"""Annotation lines never escape the dataset root or alias one file; HMDB51 classes and groups follow the files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actionlab.cli import main
from actionlab.data import dataset_from_spec
from media import numbered_frames, write_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.avi", numbered_frames(4, 32, 40), codec="mpeg4")


def _ucf(root: Path, clip: Path, train: list[str], test: list[str]) -> tuple[Path, Path]:
    videos, ann = root / "UCF-101", root / "ucfTrainTestlist"
    ann.mkdir(parents=True)
    (ann / "classInd.txt").write_text("1 Archery\n2 Bowling\n")
    for cls in ("Archery", "Bowling"):
        (videos / cls).mkdir(parents=True)
        for g in (1, 2):
            shutil.copy(clip, videos / cls / f"v_{cls}_g0{g}_c01.avi")
    (ann / "trainlist01.txt").write_text("".join(line + "\n" for line in train))
    (ann / "testlist01.txt").write_text("".join(line + "\n" for line in test))
    return videos, ann


def _paths(ds) -> list[Path]:
    return [s.path for s in ds.train + ds.test]


def test_ucf101_dotdot_and_absolute_lines_are_refused_with_file_and_line(tmp_path: Path, clip: Path) -> None:
    outside = tmp_path / "secret" / "v_Archery_g09_c01.avi"
    outside.parent.mkdir()
    shutil.copy(clip, outside)
    videos, ann = _ucf(
        tmp_path,
        clip,
        ["Archery/v_Archery_g01_c01.avi 1", "Archery/../../secret/v_Archery_g09_c01.avi 1", f"Archery/../{outside} 1"],
        ["Bowling/v_Bowling_g02_c01.avi", "Archery/../../secret/v_Archery_g09_c01.avi"],
    )
    ds = dataset_from_spec(f"ucf101:{videos}", annotations=ann)
    assert all(p.resolve().is_relative_to(videos.resolve()) for p in _paths(ds))
    text = [str(p) for p in ds.problems]
    assert any(t.startswith(f"{ann / 'trainlist01.txt'}:2: ") and "outside the dataset root" in t for t in text)
    assert any(t.startswith(f"{ann / 'testlist01.txt'}:2: ") and "outside the dataset root" in t for t in text)
    assert len(ds.train) == 1 and len(ds.test) == 1


def test_ucf101_alias_in_train_and_test_is_one_file(tmp_path: Path, clip: Path) -> None:
    videos, ann = _ucf(
        tmp_path,
        clip,
        ["Archery/v_Archery_g01_c01.avi 1", "Bowling/v_Bowling_g01_c01.avi 2"],
        [
            "Archery/./v_Archery_g01_c01.avi",
            "Bowling/../Bowling//v_Bowling_g01_c01.avi",
            "Bowling/v_Bowling_g02_c01.avi",
        ],
    )
    ds = dataset_from_spec(f"ucf101:{videos}", annotations=ann)
    train = {p.resolve() for p in (s.path for s in ds.train)}
    assert not train & {s.path.resolve() for s in ds.test}, "one file in train and test"
    overlap = [p for p in ds.problems if "in train and test" in p.reason]
    assert [p.line for p in overlap] == [1, 2] and "trainlist01.txt:1" in overlap[0].reason


def test_ucf101_symlink_alias_with_two_labels_drops_both(tmp_path: Path, clip: Path) -> None:
    videos, ann = _ucf(
        tmp_path,
        clip,
        ["Archery/v_Archery_g01_c01.avi 1", "Bowling/alias_g05_c01.avi 2", "Bowling/v_Bowling_g01_c01.avi 2"],
        ["Bowling/v_Bowling_g02_c01.avi"],
    )
    (videos / "Bowling" / "alias_g05_c01.avi").symlink_to(videos / "Archery" / "v_Archery_g01_c01.avi")
    ds = dataset_from_spec(f"ucf101:{videos}", annotations=ann)
    assert [s.path.name for s in ds.train] == ["v_Bowling_g01_c01.avi"]
    assert any(p.line == 2 and "two labels" in p.reason and "Archery" in p.reason for p in ds.problems)


def _hmdb(root: Path, clip: Path, lines: dict[str, list[str]], folders: tuple[str, ...]) -> tuple[Path, Path]:
    videos, ann = root / "hmdb51", root / "splits"
    ann.mkdir(parents=True)
    for cls in folders:
        (videos / cls).mkdir(parents=True)
    for cls, rows in lines.items():
        for row in rows:
            name = row.split()[0]
            if cls in folders and "/" not in name and not name.startswith("missing"):
                shutil.copy(clip, videos / cls / name)
        (ann / f"{cls}_test_split1.txt").write_text("".join(r + "\n" for r in rows))
    return videos, ann


def test_hmdb51_escaping_and_absolute_lines_are_refused(tmp_path: Path, clip: Path) -> None:
    outside = tmp_path / "elsewhere.avi"
    shutil.copy(clip, outside)
    videos, ann = _hmdb(
        tmp_path,
        clip,
        {
            "pour": [
                "a_pour_u_cm_np1_fr_med_0.avi 1",
                "../../elsewhere.avi 1",
                f"{outside} 2",
                "b_pour_u_cm_np1_fr_med_0.avi 2",
            ]
        },
        ("pour",),
    )
    ds = dataset_from_spec(f"hmdb51:{videos}", annotations=ann)
    assert all(p.resolve().is_relative_to(videos.resolve()) for p in _paths(ds))
    bad = sorted(p.line for p in ds.problems if "outside the dataset root" in p.reason or "absolute" in p.reason)
    assert bad == [2, 3] and (len(ds.train), len(ds.test)) == (1, 1)


def test_hmdb51_class_without_folder_adds_no_empty_class(tmp_path: Path, clip: Path) -> None:
    videos, ann = _hmdb(
        tmp_path,
        clip,
        {
            "pour": ["a_pour_u_cm_np1_fr_med_0.avi 1", "b_pour_u_cm_np1_fr_med_0.avi 2"],
            "wave": ["c_wave_u_cm_np1_fr_med_0.avi 1", "d_wave_u_cm_np1_fr_med_0.avi 2"],
            "ghost": ["e_ghost_u_cm_np1_fr_med_0.avi 1"],
        },
        ("pour", "wave"),
    )
    ds = dataset_from_spec(f"hmdb51:{videos}", annotations=ann)
    assert ds.classes == ["pour", "wave"]
    assert all(ds.classes[s.label] == s.path.parent.name for s in ds.train + ds.test)
    assert any("ghost" in str(p) and "no folder" in p.reason for p in ds.problems)


def test_hmdb51_group_is_the_text_before_the_last_class_occurrence(tmp_path: Path, clip: Path) -> None:
    names = ["How_to_pour_beer_pour_u_cm_np1_fr_med_0.avi", "How_to_pour_wine_pour_u_cm_np1_fr_med_0.avi"]
    videos, ann = _hmdb(tmp_path, clip, {"pour": [f"{names[0]} 1", f"{names[1]} 2"]}, ("pour",))
    ds = dataset_from_spec(f"hmdb51:{videos}", annotations=ann)
    assert [s.group for s in ds.train + ds.test] == ["How_to_pour_beer", "How_to_pour_wine"]


def test_hmdb51_alias_across_classes_is_reported_by_the_cli(tmp_path: Path, clip: Path, capsys) -> None:
    videos, ann = _hmdb(
        tmp_path,
        clip,
        {
            "pour": ["a_pour_u_cm_np1_fr_med_0.avi 1", "b_pour_u_cm_np1_fr_med_0.avi 2"],
            "wave": ["../pour/a_pour_u_cm_np1_fr_med_0.avi 2", "c_wave_u_cm_np1_fr_med_0.avi 1"],
        },
        ("pour", "wave"),
    )
    rc = main(["index", "--dataset", f"hmdb51:{videos}", "--annotations", str(ann)])
    out = capsys.readouterr()
    assert rc == 0 and "Traceback" not in out.err
    assert "wave_test_split1.txt:1: duplicate entry" in out.out + out.err and "two labels" in out.out + out.err


def test_list_file_naming_one_clip_twice_with_two_labels_drops_it(tmp_path: Path, clip: Path) -> None:
    for name in ("a.avi", "b.avi", "c.avi", "d.avi"):
        shutil.copy(clip, tmp_path / name)
    (tmp_path / "list.csv").write_text(
        "path,label,split\na.avi,run,train\nb.avi,walk,train\n./a.avi,walk,train\n"
        "c.avi,run,test\nd.avi,walk,test\nb.avi,walk,test\n"
    )
    ds = dataset_from_spec(f"list:{tmp_path / 'list.csv'}")
    assert sorted(s.path.name for s in ds.train) == ["b.avi"] and sorted(s.path.name for s in ds.test) == [
        "c.avi",
        "d.avi",
    ]
    reasons = {p.line: p.reason for p in ds.problems}
    assert "two labels" in reasons[4] and "in train and test" in reasons[7]
