"""Dataset adapters on the official layouts, built in tmp dirs with tiny real encoded videos and images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from actionlab.cli import main
from actionlab.data import Sample, dataset_from_spec, joint_dataset, load_dataset
from actionlab.errors import ConfigError, DatasetError
from media import numbered_frames, write_image, write_video

UCF_CLASSES = ["ApplyEyeMakeup", "Basketball", "HandstandPushups"]
HMDB_CLASSES = ["wave", "brush_hair", "clap"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.avi", numbered_frames(4, 32, 40), codec="mpeg4")


def _ucf_layout(root: Path, clip: Path) -> tuple[Path, Path]:
    videos, ann = root / "UCF-101", root / "ucfTrainTestlist"
    ann.mkdir(parents=True)
    (ann / "classInd.txt").write_bytes("".join(f"{i} {c}\r\n" for i, c in enumerate(UCF_CLASSES, 1)).encode())
    for k in (1, 2, 3):
        test_groups = {2 * k - 1, 2 * k}
        train, test = [], []
        for label, c in enumerate(UCF_CLASSES, 1):
            for g in range(1, 8):
                rel = f"{c}/v_{c}_g{g:02d}_c01.avi"
                (test if g in test_groups else train).append(rel if g in test_groups else f"{rel} {label}")
        (ann / f"trainlist0{k}.txt").write_bytes(("\r\n".join(train) + "\r\n").encode())
        (ann / f"testlist0{k}.txt").write_bytes(("\r\n".join(test) + "\r\n").encode())
    for c in UCF_CLASSES:
        (videos / c).mkdir(parents=True)
        for g in range(1, 8):
            shutil.copy(clip, videos / c / f"v_{c}_g{g:02d}_c01.avi")
    return videos, ann


@pytest.mark.parametrize("split", [1, 2, 3])
def test_ucf101_all_splits(tmp_path: Path, clip: Path, split: int) -> None:
    videos, ann = _ucf_layout(tmp_path, clip)
    ds = load_dataset("ucf101", videos, annotations=ann, split=split)
    assert ds.classes == UCF_CLASSES
    assert (len(ds.train), len(ds.test)) == (15, 6)
    assert {s.group for s in ds.test} == {f"g{2 * split - 1:02d}", f"g{2 * split:02d}"}
    assert not {s.group for s in ds.train} & {s.group for s in ds.test}
    for s in ds.train + ds.test:
        assert s.path.is_file() and UCF_CLASSES[s.label] == s.path.parent.name
    assert ds.problems == []


def test_ucf101_problems_are_listed_not_fatal(tmp_path: Path, clip: Path) -> None:
    videos, ann = _ucf_layout(tmp_path, clip)
    (videos / "Basketball" / "v_Basketball_g03_c01.avi").unlink()
    with (ann / "trainlist01.txt").open("a", newline="") as f:
        f.write("Archery/v_Archery_g03_c01.avi 4\r\n")  # unknown class
        f.write("ApplyEyeMakeup/v_ApplyEyeMakeup_g03_c01.avi 1\r\n")  # duplicate
        f.write("garbage\r\n")  # malformed
    ds = dataset_from_spec(f"ucf101:{videos}", annotations=ann, split=1)
    reasons = {(p.line, p.reason.split()[0]) for p in ds.problems}
    assert (16, "unknown") in reasons and (17, "duplicate") in reasons and (18, "malformed") in reasons
    assert any("listed file missing" in p.reason and "Basketball_g03" in p.reason for p in ds.problems)
    assert len(ds.train) == 14 and all(p.file.endswith("trainlist01.txt") for p in ds.problems)


def test_ucf101_nothing_left_is_a_dataset_error(tmp_path: Path, clip: Path) -> None:
    videos, ann = _ucf_layout(tmp_path, clip)
    shutil.rmtree(videos)
    videos.mkdir()
    with pytest.raises(DatasetError, match="no usable samples"):
        load_dataset("ucf101", videos, annotations=ann)


def _hmdb_layout(root: Path, clip: Path) -> tuple[Path, Path]:
    videos, ann = root / "hmdb51", root / "splits"
    ann.mkdir(parents=True)
    for c in HMDB_CLASSES:
        (videos / c).mkdir(parents=True)
        names = [f"film{f}_{c}_u_cm_np1_fr_med_{i}.avi" for f in range(3) for i in range(2)]
        for n in names:
            shutil.copy(clip, videos / c / n)
        for k in (1, 2, 3):
            ids = [2 if f == k - 1 else (0 if i == 1 and f != k - 1 else 1) for f in range(3) for i in range(2)]
            (ann / f"{c}_test_split{k}.txt").write_text("".join(f"{n} {d} \n" for n, d in zip(names, ids)))
    return videos, ann


@pytest.mark.parametrize("split", [1, 2, 3])
def test_hmdb51_all_splits(tmp_path: Path, clip: Path, split: int) -> None:
    videos, ann = _hmdb_layout(tmp_path, clip)
    ds = dataset_from_spec(f"hmdb51:{videos}", annotations=ann, split=split)
    assert ds.classes == sorted(HMDB_CLASSES)
    assert (len(ds.train), len(ds.test)) == (6, 6)  # per class: 2 train (one unused each), 2 test
    assert {s.group for s in ds.test} == {f"film{split - 1}"}
    assert all(ds.classes[s.label] == s.path.parent.name for s in ds.train + ds.test)
    assert ds.problems == []


def test_hmdb51_problems(tmp_path: Path, clip: Path) -> None:
    videos, ann = _hmdb_layout(tmp_path, clip)
    with (ann / "wave_test_split1.txt").open("a") as f:
        f.write("gone_wave_u_cm_np1_fr_med_9.avi 1 \nbad line here\n")
    (ann / "jump_test_split1.txt").write_text("x_jump_1.avi 1\n")
    ds = load_dataset("hmdb51", videos, annotations=ann, split=1)
    assert "jump" not in ds.classes and len(ds.train) == 6  # a split file without a class folder adds no class
    text = [str(p) for p in ds.problems]
    assert any("wave_test_split1.txt:7: listed file missing" in t for t in text)
    assert any("wave_test_split1.txt:8: malformed" in t for t in text)
    assert any("jump_test_split1.txt: unknown class" in t for t in text)


def test_folder_with_and_without_train_test(tmp_path: Path, clip: Path) -> None:
    for sub in ("train", "test"):
        for c, suffix in (("a", ".avi"), ("b", ".mkv")):
            for i in range(2):
                (tmp_path / "tt" / sub / c).mkdir(parents=True, exist_ok=True)
                shutil.copy(clip, tmp_path / "tt" / sub / c / f"{i}{suffix}")
    (tmp_path / "tt" / "train" / "a" / "notes.txt").write_text("not a video")
    ds = load_dataset("folder", tmp_path / "tt")
    assert ds.classes == ["a", "b"] and (len(ds.train), len(ds.test)) == (4, 4)
    flat = tmp_path / "flat"
    for c in ("x", "y", "z"):
        for i in range(8):
            write_image(flat / c / f"{i}.png", np.full((8, 8, 3), 30 * i, np.uint8))
    one = dataset_from_spec(f"folder:{flat}", seed=3)
    assert one == dataset_from_spec(f"folder:{flat}", seed=3)
    assert (len(one.train), len(one.test)) == (18, 6)
    assert sorted(s.label for s in one.test) == [0, 0, 1, 1, 2, 2]
    shutil.move(flat, tmp_path / "only" / "train")
    two = load_dataset("folder", tmp_path / "only", test_fraction=0.5, seed=3)
    assert two.classes == ["x", "y", "z"] and (len(two.train), len(two.test)) == (12, 12)


def test_list_text_and_csv(tmp_path: Path, clip: Path) -> None:
    for name in ("a.avi", "b.avi", "c.avi", "d.avi"):
        shutil.copy(clip, tmp_path / name)
    (tmp_path / "l.txt").write_text("a.avi run\nb.avi walk\nmissing.avi run\nc.avi run\nd.avi walk\n")
    ds = load_dataset("list", tmp_path / "l.txt", test_fraction=0.5)
    assert ds.classes == ["run", "walk"] and len(ds.train) == 2 and len(ds.test) == 2
    assert [p.line for p in ds.problems] == [3]
    (tmp_path / "l.csv").write_text("path,label,split\na.avi,1,train\nb.avi,0,test\nc.avi,1,test\nd.avi,0,train\n")
    ds = dataset_from_spec(f"list:{tmp_path / 'l.csv'}")
    assert ds.classes == ["0", "1"] and [s.label for s in ds.train] == [1, 0]
    assert ds.train[0] == Sample((tmp_path / "a.avi").resolve(), 1)


def test_images_stanford40(tmp_path: Path) -> None:
    for c in ("applauding", "riding_a_bike"):
        for i in range(1, 5):
            write_image(tmp_path / "JPEGImages" / f"{c}_{i:03d}.jpg", np.zeros((8, 8, 3), np.uint8))
        (tmp_path / "ImageSplits").mkdir(exist_ok=True)
        (tmp_path / "ImageSplits" / f"{c}_train.txt").write_text(f"{c}_001.jpg\n{c}_002.jpg\n{c}_003.jpg\n")
        (tmp_path / "ImageSplits" / f"{c}_test.txt").write_text(f"{c}_004.jpg\n{c}_009.jpg\n")
    ds = dataset_from_spec(f"images:{tmp_path}", val_fraction=0.34)
    assert ds.classes == ["applauding", "riding_a_bike"]
    assert (len(ds.train), len(ds.val), len(ds.test)) == (4, 2, 2)
    assert sorted(s.label for s in ds.val) == [0, 1]
    assert sum("missing" in p.reason for p in ds.problems) == 2


def test_joint_dataset_keeps_label_spaces(tmp_path: Path, clip: Path) -> None:
    u = load_dataset("ucf101", _ucf_layout(tmp_path / "u", clip)[0])
    h = load_dataset("hmdb51", _hmdb_layout(tmp_path / "h", clip)[0], annotations=tmp_path / "h" / "splits")
    j = joint_dataset([u, h])
    assert j.dataset_names == ["ucf101", "hmdb51"] and j.parts == [u, h]
    assert len(j.train) == len(u.train) + len(h.train) and len(j.classes) == 6
    last = j.train[-1]
    assert last.dataset == 1 and j.parts[1].classes[last.label] == last.path.parent.name
    assert j.classes[j.global_label(last)] == f"hmdb51:{last.path.parent.name}"


def test_cli_index_text_json_and_errors(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture) -> None:
    videos, ann = _ucf_layout(tmp_path, clip)
    with (ann / "testlist02.txt").open("a") as f:
        f.write("Nope/v_Nope_g01_c01.avi\n")
    assert (
        main(
            [
                "index",
                "--dataset",
                f"ucf101:{videos}",
                "--annotations",
                str(ann),
                "--split",
                "2",
                "--val-fraction",
                "0.3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "dataset ucf101: 3 classes" in out and "test 6" in out
    assert "HandstandPushups" in out and "testlist02.txt:7: unknown class 'Nope'" in out
    assert main(["index", "--dataset", f"ucf101:{videos}", "--annotations", str(ann), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"] == {"train": 15, "val": 0, "test": 6}
    assert info["per_class"]["test"]["Basketball"] == 2
    assert main(["index", "--dataset", f"hmdb51:{tmp_path / 'nowhere'}", "--annotations", str(ann)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0] and "not found" in err[0]
    assert main(["index", "--dataset", "kinetics:/x"]) == 2
    assert "kind must be one of" in capsys.readouterr().err


def test_bad_kind_and_option_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown dataset kind"):
        load_dataset("kinetics", tmp_path)
    with pytest.raises(ConfigError, match="takes no option"):
        load_dataset("images", tmp_path, split=2)
    with pytest.raises(ConfigError, match="fraction"):
        load_dataset("folder", tmp_path, test_fraction=1.5)


def test_ucf101_file_name_case_is_tolerated(tmp_path: Path, clip: Path) -> None:
    videos, ann = _ucf_layout(tmp_path, clip)
    for p in (videos / "HandstandPushups").iterdir():
        p.rename(p.with_name(p.name.replace("Handstand", "HandStand")))
    ds = load_dataset("ucf101", videos, annotations=ann)
    assert ds.problems == [] and (len(ds.train), len(ds.test)) == (15, 6)
    assert any("HandStand" in s.path.name for s in ds.train)


def test_cli_joint_dataset_from_repeated_specs(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture) -> None:
    videos, ucf_ann = _ucf_layout(tmp_path / "u", clip)
    hmdb, ann = _hmdb_layout(tmp_path / "h", clip)
    specs = ["--dataset", f"ucf101:{videos}", "--dataset", f"hmdb51:{hmdb}"]
    assert main(["index", *specs, "--annotations", str(ann)]) == 2
    assert "once per ucf101/hmdb51 dataset" in capsys.readouterr().err
    assert main(["index", *specs, "--annotations", str(ucf_ann), "--annotations", str(ann), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["datasets"] == ["ucf101", "hmdb51"] and len(info["classes"]) == 6
    assert info["counts"]["train"] == 15 + 6 and info["per_class"]["test"]["hmdb51:wave"] == 2


def test_list_of_real_clips_with_absolute_paths(tmp_path: Path, real_clips: Path) -> None:
    rows = [
        f"{real_clips / 'vtest.avi'},street,train",
        f"{real_clips / 'cup.mp4'},handheld,test",
        f"{real_clips / 'Megamind.avi'},street,test",
        f"{real_clips / 'absent.avi'},street,train",
    ]
    (tmp_path / "clips.csv").write_text("path,label,split\n" + "\n".join(rows) + "\n")
    ds = load_dataset("list", tmp_path / "clips.csv")
    assert ds.classes == ["handheld", "street"]
    assert [(s.path.name, s.label) for s in ds.train] == [("vtest.avi", 1)]
    assert [(s.path.name, s.label) for s in ds.test] == [("cup.mp4", 0), ("Megamind.avi", 1)]
    assert [(p.line, "absent.avi" in p.reason) for p in ds.problems] == [(5, True)]
