"""The Python API in one place: what `import actionlab` offers (each name loads its package on first use).

import actionlab
ds = actionlab.load_dataset("folder", "data/synth", val_fraction=0.2)        # or a CLI spec: "folder:data/synth"
run = actionlab.train(ds, "clip3d", "runs/clip3d", {"epochs": 2, "size": 32})
results = actionlab.compare(ds, "frame-cnn,clip3d", "runs/cmp", {"epochs": 2})
labeller = actionlab.Predictor("runs/clip3d", top_k=3)                   # loads the run once
for p in labeller(["a.mp4", "videos/"]):                                 # files, folders, or one path
    print(p.path, p.top)                                                 # [(label, score), ...] best first
model, config = actionlab.load_run_model("runs/clip3d")                  # any run: nn.Module in eval mode
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from actionlab.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from torch import nn

    from actionlab.data import Dataset
    from actionlab.methods.base import Predictions, RunResult


def _dataset(dataset: Any, seed: int) -> tuple[Any, Any]:
    """(Dataset, DatasetRecord or None): a CLI spec string (or list of specs) is loaded; a Dataset passes."""
    if not isinstance(dataset, (str, list, tuple)):
        return dataset, None
    from actionlab.data import dataset_from_spec
    from actionlab.methods.runs import DatasetRecord

    specs = [dataset] if isinstance(dataset, str) else list(dataset)
    return dataset_from_spec(specs, seed=seed), DatasetRecord(specs=specs, seed=seed)


def train(
    dataset: Dataset | str,
    method: str,
    out: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    resume: bool = False,
    progress: bool = True,
) -> RunResult:
    """Train one preset (`actionlab methods` lists them) into the run folder `out`, as `actionlab train` does.

    `dataset` is a Dataset (load_dataset) or a CLI spec ("synthetic", "folder:ROOT"); `options` are the preset's
    declared options by name (unknown ones are a ConfigError naming the valid ones).
    """
    from actionlab.methods import get_method
    from actionlab.methods.preset import RunContext
    from actionlab.training.workers import refuse_in_bootstrap

    refuse_in_bootstrap()  # before anything of the run: a worker importing an unguarded script lands here
    preset = get_method(method)  # every registered method is a preset of the one pipeline
    given = dict(options or {})
    checked = preset.Options.build(given, where=method)  # every option checked before any video is read
    data, record = _dataset(dataset, int(getattr(checked, "seed", 0)))  # TrainOptions.seed: every preset has it
    context = RunContext(resume=resume, progress=progress, label=preset.name, dataset_record=record)
    return preset.train(data, out, given, context=context)


def compare(
    dataset: Dataset | str,
    methods: str | Sequence[str],
    out: str | Path,
    options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Train every `[LABEL=]METHOD` on one split into out/LABEL; results.json + report.html (see compare.compare)."""
    from actionlab.compare import compare as run_compare
    from actionlab.training.workers import refuse_in_bootstrap

    refuse_in_bootstrap()
    data, record = _dataset(dataset, int((options or {}).get("seed", 0)))
    if record is not None:
        kwargs.setdefault("dataset_record", record)
    return run_compare(data, methods, out, options, **kwargs)


class CompareModule(types.ModuleType):
    """The class of the module actionlab.compare: it shares its name with the API call `actionlab.compare(...)`
    (a submodule import rebinds the package attribute to the module), so calling the module runs compare()."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return compare(*args, **kwargs)


def load_run_model(run_dir: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """(network in eval mode with the run's weights, its config.json) of any run folder: every method's run,
    or a bare checkpoint written by models.save_checkpoint."""
    path = Path(run_dir) / "config.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        from actionlab.methods.runs import RunConfig

        RunConfig.read(run_dir)  # raises the "not a run folder" error, with the compare-folder hint
        raise
    except (OSError, ValueError) as exc:
        raise CheckpointError(path, f"unreadable run config ({exc})") from None
    if not isinstance(config, dict):
        raise CheckpointError(path, "not a run config (expected a JSON object)")
    if "model" in config and "method" not in config:
        from actionlab.models import load_run_model as load_checkpoint

        return load_checkpoint(run_dir)
    from actionlab.methods.evaluation import load_run

    _, model, _, _ = load_run(run_dir)
    return model, config


@dataclass(frozen=True)
class VideoPrediction:
    """One input's result: its top-k (label, score) pairs best first (what `actionlab predict` prints), or the
    reason it could not be read (then `top` is empty)."""

    path: str
    top: list[tuple[str, float]]
    error: str | None = None

    @property
    def label(self) -> str | None:
        """The best label, None for an unreadable input."""
        return self.top[0][0] if self.top else None


class Predictor:
    """Label videos with a trained run: `Predictor(run_dir)(videos) -> [VideoPrediction]`, input order kept.

    The run is loaded once; each call decodes its videos in batches of `batch_size` (default: the run's) on
    `device` ("auto", "cpu", "cuda", "cuda:N"; default: the run's own). Folders expand to their media files.
    """

    def __init__(
        self, run_dir: str | Path, *, top_k: int = 5, device: str | None = None, batch_size: int | None = None
    ) -> None:
        from actionlab.methods.evaluation import AllHeads, load_run, make_reader
        from actionlab.predict import check_device, run_method_name

        if top_k < 1:
            raise ConfigError(None, f"top_k must be >= 1, not {top_k}")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(None, f"batch_size must be >= 1, not {batch_size}")
        run_method_name(run_dir)  # a compare folder gets the hint listing its runs
        check_device(device)
        self.run_dir, self.top_k = Path(run_dir), top_k
        self.preset, model, o, self.config = load_run(self.run_dir)
        changes = {k: v for k, v in (("device", device), ("batch_size", batch_size)) if v is not None}
        self.options = o.replace(**changes) if changes else o
        self.model = AllHeads(cast(Any, model)) if self.config.datasets else model  # joint: a JointHeads
        self.reader = make_reader(
            self.preset, self.options, self.config.classes, False, self.run_dir, self.config.extra, self.config.datasets
        )

    @property
    def classes(self) -> list[str]:
        """The labels the run knows (joint runs: dataset/label)."""
        return list(self.config.classes)

    def scores(self, videos: str | Path | Sequence[str | Path]) -> Predictions:
        """Softmax scores (C,) per readable video and a reason per other input (the object predict renders)."""
        from actionlab.data.dataset import Sample
        from actionlab.methods.base import Predictions
        from actionlab.methods.evaluation import score_samples
        from actionlab.predict import expand_inputs

        inputs = [videos] if isinstance(videos, (str, Path)) else list(videos)
        samples = [Sample(p, 0) for p in expand_inputs(inputs)]
        views, kept, errors, _ = score_samples(
            self.preset,
            self.model,
            self.options,
            samples,
            self.config.classes,
            self.run_dir,
            self.config.extra,
            False,
            self.reader,
        )
        found = {str(s.path): views["video"][i] for i, s in enumerate(kept)}
        return Predictions(self.config.classes, scores=found, errors=errors)

    def __call__(self, videos: str | Path | Sequence[str | Path]) -> list[VideoPrediction]:
        """Top-k per input video, in input order (folders expanded); unreadable ones carry their reason."""
        from actionlab.predict import expand_inputs, top_k

        inputs = [videos] if isinstance(videos, (str, Path)) else list(videos)
        pred = self.scores(inputs)
        best = top_k(pred, self.top_k)
        out = []
        for path in map(str, expand_inputs(inputs)):
            if path in best:
                out.append(VideoPrediction(path, best[path]))
            else:
                out.append(VideoPrediction(path, [], pred.errors.get(path, "could not be read")))
        return out
