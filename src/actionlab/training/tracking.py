"""Experiment tracking of a run: per-epoch scalars, the resolved config as text, hparams with the final metrics.

`--tracker tensorboard` (default) writes event files to RUN/tensorboard (`tensorboard --logdir RUN`);
`--tracker mlflow` logs the same to a local MLflow store in RUN/mlruns: a SQLite file (mlflow.db; MLflow 3 keeps
its plain-file store in maintenance mode and refuses it by default) and artifacts beside it (`mlflow ui
--backend-store-uri sqlite:///RUN/mlruns/mlflow.db`); `none` logs nothing. A tracker whose package is missing
is one warning line, and the run goes on.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

TRACKERS = ("tensorboard", "mlflow", "none")
# per-epoch scalars: EpochStats field -> tag (the same names in TensorBoard and MLflow)
SCALARS = {
    "train_loss": "train/loss",
    "train_acc": "train/accuracy",
    "val_loss": "val/loss",
    "val_acc": "val/accuracy",
    "lr": "train/lr",
    "seconds": "train/epoch_seconds",
}


class Tracker:
    """Logs nothing: the interface, used for `none`, a missing package, and every rank but 0."""

    kind = "none"

    def log_config(self, config: dict[str, Any]) -> None:
        """The run's resolved configuration (config.json's content)."""

    def log_epoch(self, epoch: int, scalars: dict[str, float | None]) -> None:
        """One epoch's numbers (EpochStats fields; None = not measured)."""

    def log_final(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        """Hyper-parameters with the run's final metrics (test top-1, best epoch's train/val numbers...)."""

    def close(self) -> None:
        """Flush and release the files."""


def _hparam(value: Any) -> Any:
    """TensorBoard/MLflow take numbers, text and booleans; anything else becomes its JSON text."""
    return value if isinstance(value, (int, float, str, bool)) else json.dumps(value)


class TensorBoardTracker(Tracker):
    """Event files under RUN/tensorboard, one writer for scalars, text and hparams."""

    kind = "tensorboard"

    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def log_config(self, config: dict[str, Any]) -> None:
        # markdown code block: TensorBoard's text plugin renders it verbatim
        text = "```\n" + json.dumps(config, indent=2, default=str) + "\n```"
        self.writer.add_text("config", text.replace("\n", "\n    "), 0)

    def log_epoch(self, epoch: int, scalars: dict[str, float | None]) -> None:
        for key, tag in SCALARS.items():
            if scalars.get(key) is not None:
                self.writer.add_scalar(tag, scalars[key], epoch + 1)
        self.writer.flush()

    def log_final(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        # the writer's own add_hparams would put them in a second run (a timestamped subfolder): same file here
        exp, ssi, sei = hparams_summary(
            {k: _hparam(v) for k, v in hparams.items()}, {f"final/{k}": float(v) for k, v in metrics.items()}
        )
        file_writer = self.writer.file_writer
        assert file_writer is not None, "SummaryWriter opens its file writer in __init__"
        for summary in (exp, ssi, sei):
            file_writer.add_summary(summary)
        for k, v in metrics.items():
            self.writer.add_scalar(f"final/{k}", float(v), 0)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class MLflowTracker(Tracker):
    """One MLflow run in the local store RUN/mlruns (experiment "actionlab")."""

    kind = "mlflow"

    def __init__(self, run_dir: Path, name: str) -> None:
        import mlflow

        for logger in ("mlflow.store.db.utils", "alembic"):  # "creating tables" lines at every new store
            logging.getLogger(logger).setLevel(logging.WARNING)
        root = (run_dir / "mlruns").resolve()
        root.mkdir(parents=True, exist_ok=True)
        self.client = mlflow.MlflowClient(tracking_uri=mlflow_uri(run_dir))
        found = self.client.get_experiment_by_name("actionlab")
        exp = (
            found.experiment_id
            if found
            else self.client.create_experiment("actionlab", artifact_location=(root / "artifacts").as_uri())
        )
        self.run_id = self.client.create_run(exp, run_name=name).info.run_id

    def log_config(self, config: dict[str, Any]) -> None:
        self.client.log_text(self.run_id, json.dumps(config, indent=2, default=str), "config.json")

    def log_epoch(self, epoch: int, scalars: dict[str, float | None]) -> None:
        for key, tag in SCALARS.items():
            value = scalars.get(key)
            if value is not None:
                self.client.log_metric(self.run_id, tag.replace("/", "_"), float(value), step=epoch + 1)

    def log_final(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        for k, v in hparams.items():
            self.client.log_param(self.run_id, k, str(_hparam(v))[:500])  # MLflow caps a param's length
        for k, v in metrics.items():
            self.client.log_metric(self.run_id, f"final_{k}", float(v))

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def mlflow_uri(run_dir: str | Path) -> str:
    """The tracking URI of a run's MLflow store (for MlflowClient or `mlflow ui --backend-store-uri`)."""
    return f"sqlite:///{(Path(run_dir) / 'mlruns' / 'mlflow.db').resolve()}"


def make_tracker(kind: str, run_dir: str | Path, name: str = "run", *, write: bool = True) -> Tracker:
    """The tracker asked for; a plain Tracker (and one warning line) when its package is missing.

    `write=False` (ranks other than 0) gives the do-nothing tracker without a word."""
    if kind not in TRACKERS:
        from actionlab.errors import ConfigError

        raise ConfigError(None, f"tracker must be one of {', '.join(TRACKERS)}, not {kind!r}")
    if kind == "none" or not write:
        return Tracker()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return TensorBoardTracker(run_dir) if kind == "tensorboard" else MLflowTracker(run_dir, name)
    except ImportError as err:
        print(
            f"warning: tracker {kind} is not installed ({err.name or err}); this run logs no {kind} data "
            "(pip install 'actionlab[track]')",
            file=sys.stderr,
        )
        return Tracker()
