"""A preset: a method described as data — its options, its reader (sampler -> decode -> transform), its network.

Every preset trains, evaluates and predicts through the one pipeline in `methods.pipeline`; a subclass only
says what differs:

    class Clip3D(Preset):
        name, description, temporal = "clip3d", "residual (2+1)D CNN on clips", True
        Options = Clip3DOptions
        def build(self, o, num_classes, extra): return create_model("r2plus1d-small", ...)
        def reader(self, o, classes, train): return FrameReader(...)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import numpy as np
from torch import nn

from actionlab.methods.base import Method, Predictions, RunResult
from actionlab.methods.inputs import Reader
from actionlab.methods.options import TrainOptions
from actionlab.options import Options as OptionsBase

# a preset's own option class: every preset trains, so it extends TrainOptions
OptionsT = TypeVar("OptionsT", bound=TrainOptions)


@dataclass
class RunContext:
    """What a run gets besides its options: runtime flags and the runs a compare already finished."""

    resume: bool = False
    progress: bool = True
    label: str | None = None
    prior_runs: dict[str, Path] = field(default_factory=dict)  # compare label -> finished run folder
    dataset_record: Any = None  # runs.DatasetRecord of the CLI's dataset, recorded in config.json


class Preset(Method, Generic[OptionsT]):
    """Base of the presets; `Options` declares every option the preset takes."""

    Options: type[OptionsT]  # set in each subclass's body (mypy allows no type variable in a ClassVar)

    def options(self, config: dict[str, Any] | OptionsBase | None) -> OptionsT:
        """Validated options: ConfigError naming the valid keys for an unknown one."""
        if isinstance(config, OptionsBase):
            return cast(OptionsT, config)  # callers pass this preset's own Options instance
        return self.Options.build(config or {}, where=self.name)

    def prepare(self, o: OptionsT, dataset: Any, run_dir: Path, context: RunContext) -> dict[str, Any]:
        """Work before the network is built (extraction, stream runs); returns facts recorded as config extra.

        `dataset.train` and `dataset.val` are the run's own split (validation already carved out)."""
        return {}

    def build(self, o: OptionsT, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        """A fresh network."""
        raise NotImplementedError

    def start(self, model: nn.Module, o: OptionsT, run_dir: Path, extra: dict[str, Any]) -> None:
        """Weights a preset brings itself, loaded into a freshly built network before training (two-stream:
        its trained streams); `init` and `freeze` come after."""

    def reader(self, o: OptionsT, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]) -> Reader:
        """How one sample becomes model inputs (views axis first); train=True draws random positions."""
        raise NotImplementedError

    def views(self, o: OptionsT, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Video-level scores per view from per-view softmax (N, V, C); "video" is the headline."""
        return {"video": probs.mean(1)}

    def loader_batch(self, o: OptionsT) -> int:
        """Samples per DataLoader batch (a sample with several training views gives that many examples)."""
        return o.batch_size

    def check_sample(self, o: OptionsT, run_dir: Path, extra: dict[str, Any]):
        """A callable that raises for a sample this preset cannot read (default: the video must open)."""
        return None

    def pretrained_arch(self, o: OptionsT) -> str | None:
        """The torchvision architecture whose published weights `init=imagenet|kinetics400` loads, if any."""
        return None

    # ---- the Method interface, all through the pipeline --------------------------------------------------
    def train(
        self,
        dataset: Any,
        run_dir: str | Path,
        config: dict[str, Any] | OptionsBase | None = None,
        *,
        context: RunContext | None = None,
    ) -> RunResult:
        """Train on dataset.train (validation as configured), evaluate on dataset.test, write run_dir."""
        from actionlab.methods.pipeline import train_run

        return train_run(self, dataset, Path(run_dir), self.options(config), context or RunContext())

    def predict(self, run_dir: str | Path, paths: Sequence[str | Path]) -> Predictions:
        """Video-level scores per readable path, one reason per other path."""
        from actionlab.methods.evaluation import predict_run

        return predict_run(Path(run_dir), paths)
