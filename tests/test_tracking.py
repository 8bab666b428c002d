"""Tracking is really on: a run's TensorBoard events hold the per-epoch scalars, the config and the hparams with
final metrics (read back with tensorboard's own reader); --tracker mlflow logs the same; a missing tracker is
one warning line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from actionlab.cli import main

TINY = [
    "--method",
    "clip3d",
    "--epochs",
    "2",
    "--frames",
    "4",
    "--size",
    "32",
    "--batch-size",
    "8",
    "--workers",
    "0",
    "--set",
    "width=8",
    "--set",
    "val_fraction=0.3",
]


@pytest.fixture
def video_root(tiny_root: Path) -> Path:
    return tiny_root


def test_tensorboard_events_hold_scalars_config_and_hparams(video_root: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    run = tmp_path / "run"
    assert main(["train", "--dataset", f"folder:{video_root}", "--out", str(run), *TINY]) == 0
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "train/accuracy", "train/lr", "val/loss", "val/accuracy", "final/test_top1"} <= scalars
    history = json.loads((run / "history.json").read_text())
    assert [e.value for e in events.Scalars("train/loss")] == pytest.approx(
        [e["train_loss"] for e in history["epochs"]], rel=1e-5
    )
    assert [e.step for e in events.Scalars("val/accuracy")] == [1, 2]
    config = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"method": "clip3d"' in config and '"epochs": 2' in config
    content = events.PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = session.session_start_info.hparams
    assert hparams["method"].string_value == "clip3d" and hparams["lr"].number_value == pytest.approx(1e-3)
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    assert {"final/test_top1", "final/best_epoch"} <= {m.name.tag for m in experiment.experiment.metric_infos}


@pytest.mark.slow
def test_mlflow_tracker_logs_the_same(video_root: Path, tmp_path: Path) -> None:
    import mlflow

    from actionlab.training.tracking import mlflow_uri

    run = tmp_path / "run"
    assert main(["train", "--dataset", f"folder:{video_root}", "--out", str(run), "--tracker", "mlflow", *TINY]) == 0
    assert not (run / "tensorboard").exists()
    client = mlflow.MlflowClient(tracking_uri=mlflow_uri(run))
    found = client.search_runs([client.get_experiment_by_name("actionlab").experiment_id])
    assert len(found) == 1 and found[0].info.status == "FINISHED"
    data = found[0].data
    assert data.params["method"] == "clip3d" and data.params["epochs"] == "2"
    assert "final_test_top1" in data.metrics and "final_val_acc" in data.metrics
    assert len(client.get_metric_history(found[0].info.run_id, "train_loss")) == 2


def test_a_missing_tracker_is_one_warning_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from actionlab.training.tracking import Tracker, make_tracker

    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    tracker = make_tracker("mlflow", tmp_path, "run")
    err = capsys.readouterr().err.strip().splitlines()
    assert type(tracker) is Tracker and len(err) == 1 and err[0].startswith("warning: tracker mlflow")
    assert type(make_tracker("none", tmp_path)) is Tracker and not capsys.readouterr().err


def test_an_unknown_tracker_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert (
        main(
            [
                "train",
                "--dataset",
                f"folder:{tmp_path}",
                "--out",
                str(tmp_path / "r"),
                "--method",
                "clip3d",
                "--tracker",
                "wandb",
            ]
        )
        == 2
    )
    assert "tracker" in capsys.readouterr().err
