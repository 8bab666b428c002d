"""predict's output flags: --top-k, --format json|jsonl|csv, --json/--csv files, --device, the compare-folder hint."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from actionlab.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from actionlab.data import dataset_from_spec
    from actionlab.methods import get_method
    from actionlab.synth import generate

    root = generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=2, workers=1)
    run = tmp_path_factory.mktemp("cmp") / "frame"
    get_method("frame-cnn").train(
        dataset_from_spec(f"folder:{root}"), run, {"epochs": 1, "frames": 4, "size": 32, "width": 8, "workers": 0}
    )
    return run, sorted(root.rglob("*.mp4"))[:2]


def test_top_k_and_the_old_top_flag(run_dir, capsys):
    run, videos = run_dir
    assert main(["predict", str(run), *map(str, videos), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.count(",") == 1 for line in lines)
    assert main(["predict", str(run), str(videos[0]), "--top", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["predictions"][str(videos[0])]) == 3


def test_jsonl_lists_videos_and_errors(run_dir, tmp_path, capsys):
    run, videos = run_dir
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    assert main(["predict", str(run), str(videos[0]), str(bad), "--format", "jsonl", "--top-k", "4"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["path"] == str(videos[0]) and len(rows[0]["top"]) == 4
    assert rows[0]["top"][0]["score"] >= rows[0]["top"][1]["score"]
    assert rows[1]["path"] == str(bad) and rows[1]["error"]


def test_csv_on_stdout_and_files(run_dir, tmp_path, capsys):
    run, videos = run_dir
    out_json, out_csv = tmp_path / "p.json", tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                str(run),
                *map(str, videos),
                "--format",
                "csv",
                "--top-k",
                "2",
                "--json",
                str(out_json),
                "--csv",
                str(out_csv),
            ]
        )
        == 0
    )
    printed_text = capsys.readouterr().out
    printed = list(csv.DictReader(io.StringIO(printed_text)))
    assert [r["rank"] for r in printed] == ["1", "2", "1", "2"] and printed[0]["path"] == str(videos[0])
    assert out_csv.read_text() == printed_text
    assert set(json.loads(out_json.read_text())["predictions"]) == {str(v) for v in videos}


def test_device_flag(run_dir, capsys):
    import torch

    run, videos = run_dir
    assert main(["predict", str(run), str(videos[0]), "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["predict", str(run), str(videos[0]), "--device", "tpu"]) == 2
    assert "--device must be auto, cpu, cuda or cuda:N" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["predict", str(run), str(videos[0]), "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert "no CUDA device" in err and "Traceback" not in err


def test_compare_folder_lists_its_method_runs(run_dir, tmp_path, capsys):
    run, videos = run_dir
    cmp = tmp_path / "cmp"
    shutil.copytree(run, cmp / "frames")
    assert main(["predict", str(cmp), str(videos[0])]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "holds runs frames" in err and "methods: frames frame-cnn" in err and str(cmp / "frames") in err


def test_json_without_file_conflicts_with_another_format(run_dir, capsys):
    run, videos = run_dir
    assert main(["predict", str(run), str(videos[0]), "--json", "--format", "csv"]) == 2
    assert "--json without a FILE" in capsys.readouterr().err
