"""The CLI's option handling: declared options validated before anything loads, one-line errors (exit 2), the
`methods` listing, compare's option routing, the run-folder lock and the compare-folder hint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from actionlab.cli import main
from actionlab.compare import parse_methods, plan_options
from actionlab.errors import ConfigError


@pytest.fixture
def root(tiny_root):
    return tiny_root


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def test_unknown_set_key_exits_2_naming_the_valid_keys(tmp_path, capsys):
    # the dataset does not exist: the option is rejected before anything is indexed
    code = main(
        [
            "train",
            "--dataset",
            f"folder:{tmp_path / 'none'}",
            "--method",
            "clip3d",
            "--out",
            str(tmp_path / "o"),
            "--set",
            "widht=8",
        ]
    )
    assert code == 2
    err = _one_line_error(capsys)
    assert "unknown option 'widht'" in err and "valid:" in err and "width" in err and "frames" in err
    assert not (tmp_path / "o").exists()


def test_bad_flag_value_and_prefix_are_one_line_errors(tmp_path, capsys):
    base = ["train", "--dataset", f"folder:{tmp_path}", "--method", "clip3d", "--out", str(tmp_path / "o")]
    assert main([*base, "--epochs", "zero"]) == 2
    assert "epochs must be an integer" in _one_line_error(capsys)
    assert main([*base, "--optimizer", "lion"]) == 2
    assert "optimizer must be one of" in _one_line_error(capsys)
    assert main([*base, "--set", "c3d.lr=0.1"]) == 2
    assert "train runs clip3d" in _one_line_error(capsys)


def test_methods_lists_every_preset(capsys):
    from actionlab.methods import list_methods

    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [m.name for m in list_methods()]
    assert any(line.split()[:2] == ["clip3d", "temporal"] for line in lines)
    assert any(line.split()[:2] == ["frame-cnn", "frame"] for line in lines)


def test_methods_name_prints_options_with_defaults(capsys):
    assert main(["methods", "clip3d"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("clip3d (temporal): ")
    rows = {line.split()[0]: line.split() for line in out[2:]}
    assert rows["width"][1:3] == ["int", "16"] and rows["frames"][1:3] == ["int", "8"]
    assert rows["lr"][1:3] == ["float", "0.001"] and "first stage" in " ".join(rows["width"])
    assert rows["early_stopping"][1:5] == ["int", "|", "None", "null"]
    assert main(["methods", "nope"]) == 2 and "unknown method" in _one_line_error(capsys)


def test_compare_routes_unprefixed_options_and_notes_the_others():
    plan = plan_options(
        parse_methods("clip3d,f=frame-cnn"), {"frames_per_video": 1, "width": 8}, {"clip3d": {"lr": 0.01}}
    )
    assert plan.options == {"clip3d": {"width": 8, "lr": 0.01}, "f": {"frames_per_video": 1, "width": 8}}
    assert plan.notes == ["compare: frames_per_video=1 applies to f only"]
    assert [(e.label, e.method) for e in plan.entries] == [("clip3d", "clip3d"), ("f", "frame-cnn")]


@pytest.mark.parametrize(
    "methods, extra, message",
    [
        ("a=clip3d,b=clip3d", ["--set", "frames_per_video=2"], "no method of this compare takes option"),
        ("a=clip3d,b=clip3d", ["--set", "c.lr=0.1"], "'c' is not a label of this compare; labels: a, b"),
        ("a=clip3d,b=frame-cnn", ["--set", "a.frames_per_video=2"], "clip3d has no option 'frames_per_video'"),
        ("a=clip3d,a=frame-cnn", [], "label 'a' is used twice"),
        ("clip3d,clip3d", [], "label 'clip3d' is used twice"),
        ("a=clip3d,b=clip3d", ["--set", "b.seed=1"], "shared train/test split"),
        ("a=clip3d,b=clip3d", ["--set", "b.lr=-1"], "lr must be >="),
        ("a=clip3d,b=bogus", [], "unknown method 'bogus'"),
    ],
)
def test_compare_option_errors_come_before_the_dataset(tmp_path, capsys, methods, extra, message):
    code = main(
        [
            "compare",
            "--dataset",
            f"folder:{tmp_path / 'none'}",
            "--methods",
            methods,
            "--out",
            str(tmp_path / "cmp"),
            *extra,
        ]
    )
    assert code == 2
    assert message in _one_line_error(capsys)


def test_plan_rejects_a_prefixed_unknown_key_in_the_library_too():
    with pytest.raises(ConfigError, match="valid: "):
        plan_options(parse_methods("a=clip3d"), {}, {"a": {"nope": 1}})


HOLD = (
    "import sys, time\nfrom actionlab.methods.runs import run_lock\n"
    "with run_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)\n"
)


def test_second_writer_of_a_run_folder_is_refused(root, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main(
            [
                "train",
                "--dataset",
                f"folder:{root}",
                "--method",
                "clip3d",
                "--out",
                str(out),
                "--epochs",
                "1",
                "--frames",
                "4",
                "--size",
                "32",
                "--workers",
                "0",
                "--set",
                "width=8",
            ]
        )
        assert code != 0
        err = _one_line_error(capsys)
        assert "another run is writing this folder" in err and f"pid {holder.pid}" in err
        assert not (out / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()


def test_predict_on_a_compare_folder_names_its_runs(tmp_path, capsys):
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "config.json").write_text(json.dumps({"method": "clip3d"}))
    assert main(["predict", str(tmp_path), str(tmp_path)]) == 2
    err = _one_line_error(capsys)
    assert "not a run folder" in err and "holds runs a, b" in err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "holds runs a, b" in _one_line_error(capsys)
