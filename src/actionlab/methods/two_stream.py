"""two-stream: a trained RGB stream and a trained flow2p1d stream, frozen and fused, with a small trainable head.

Streams. `rgb_run` is a run folder of any RGB preset (frame-cnn, late-fusion, lrcn, clip3d, c3d, i3d, nonlocal;
a run trained with init=... too), `flow_run` a flow2p1d run. A stream not given is taken from the runs a compare
already finished (`RunContext.prior_runs`: a run of the wanted preset on the same classes, or a stream inside an
earlier two-stream run), else trained here first, through the pipeline, into run_dir/rgb or run_dir/flow with
the `rgb_set` / `flow_set` options. A given or reused stream is copied (model.safetensors + config.json) into
run_dir/rgb or run_dir/flow, so the run folder is self-contained; config.json "extra" records each stream's
preset, options and where it came from, which is all `predict` needs.

Inputs. The reader returns ONE view per video, a pair (rgb (1, V, ...), flow (1, 1, 2, L, S, S)): each stream's
own reader's output (its views axis V kept inside the pair). Training batches are then (B, V, ...) and
(B, 1, ...), test batches get one view axis more, which the evaluator flattens, so the standard collates and
evaluator work unchanged. The model (models.fusion.StreamViews) averages each stream's features, or stage maps,
over its V views: frame-cnn's V random frames in training and its 1 + `frames` frames at test, a clip preset's
`test_clips` clips at test, 1 otherwise. A video too short for V distinct training frames repeats frames up to
V, so every item of a batch has the same shape. The head trains without random flips: the two readers draw
their augmentation independently, and a flip of one stream only would break the pair (and mirror a left/right
label on one side only); the streams' other augmentation is kept.

Fusion (models.fusion.TwoStreamFusion). level=late: the penultimate features, the flow side through a linear
layer to the RGB width, combined by average|max|min|concat, then Linear + ReLU + Linear. level=mid: the maps
after convolution stage `fusion_stage`, the flow channels matched to the RGB ones by a 1x1 conv and its maps
resized to the RGB maps, then a 3x3 conv + BN + ReLU, pooling and a Linear. With a 2D RGB stream (frame-cnn,
late-fusion, lrcn) the RGB maps are per-frame 2D maps averaged over frames (B, C, H, W) and the flow stream's
3D maps are averaged over time to match. The streams stay frozen and in eval mode (BatchNorm statistics fixed):
only the head trains, the frozen streams' forward pass being recomputed on each epoch's freshly decoded clips.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.data.dataset import Sample
from actionlab.errors import CheckpointError, ConfigError
from actionlab.methods.base import get_method, register_method
from actionlab.methods.evaluation import load_run
from actionlab.methods.inputs import Reader
from actionlab.methods.options import TrainOptions
from actionlab.methods.pipeline import RUN_FILES
from actionlab.methods.preset import Preset, RunContext
from actionlab.methods.runs import CONFIG, RunConfig
from actionlab.models.fusion import StreamViews, TwoStreamFusion
from actionlab.options import Options, opt
from actionlab.video import probe

RGB_PRESETS = ("frame-cnn", "late-fusion", "lrcn", "clip3d", "c3d", "i3d", "nonlocal")
FLOW_PRESET = "flow2p1d"
FUSIONS = {"average": "avg", "max": "max", "min": "min", "concat": "concat"}
ROLES = ("rgb", "flow")
WEIGHTS = "model.safetensors"
# the two-stream options a stream trained here inherits (the rest are the head's own)
INHERITED = ("seed", "workers", "device", "precision")
# options that change where and how fast a stream ran, not what it learnt: ignored when matching a prior run
RUNTIME = ("workers", "device")


def parse_items(items: tuple[str, ...], where: str) -> dict[str, str]:
    """KEY=VALUE items as a dict; an item without "=" continues the previous value (a list: stages=2,3)."""
    out: dict[str, str] = {}
    last = None
    for item in items:
        key, eq, value = item.partition("=")
        if eq and key.strip():
            last = key.strip()
            out[last] = value.strip()
        elif last is None:
            raise ConfigError(None, f"{where}: {item!r} is not KEY=VALUE")
        else:
            out[last] += "," + item.strip()
    return out


@dataclass(frozen=True)
class TwoStreamOptions(TrainOptions):
    """two-stream (the training options are the head's)."""

    rgb_run: str | None = opt(None, "run folder of the RGB stream: any RGB preset's run, a transferred one too")
    flow_run: str | None = opt(None, "run folder of the flow stream (a flow2p1d run)")
    rgb: str = opt(
        "clip3d",
        "without rgb_run: the RGB preset looked up among a compare's runs or trained here",
        choices=RGB_PRESETS,
    )
    rgb_set: tuple[str, ...] = opt(
        (),
        "without rgb_run: options of the RGB stream trained here, KEY=VALUE items "
        "(e.g. epochs=10,size=64); a compare run is reused only with exactly these",
    )
    flow_set: tuple[str, ...] = opt(
        (), "without flow_run: options of the flow stream trained here, KEY=VALUE items (e.g. epochs=10,num_flows=8)"
    )
    fusion: str = opt("average", "how the streams' features (or maps) combine", choices=tuple(FUSIONS))
    level: str = opt(
        "late",
        "late: penultimate features; mid: feature maps after stage fusion_stage, a 1x1 conv matching channels",
        choices=("late", "mid"),
    )
    fusion_stage: int = opt(1, "level=mid: the convolution stage (0-3) whose maps are fused", low=0, high=3)
    head_hidden: int = opt(128, "units (late) or channels (mid) of the trainable head", low=4)
    epochs: int = opt(10, "head training epochs (the schedule spans them)", low=1)

    def check(self) -> None:
        """fusion_stage only at level mid; rgb and the *_set options only for a stream that is not given."""
        super().check()
        if self.given("fusion_stage") and self.level != "mid":
            raise ConfigError(None, "fusion_stage applies to level=mid only")
        if self.rgb_run is not None and self.given("rgb"):
            raise ConfigError(
                None,
                "rgb names the preset to find or train when rgb_run is not given; "
                "rgb_run's own preset is used: drop one of them",
            )
        for run, items, name, preset in (
            (self.rgb_run, self.rgb_set, "rgb", self.rgb),
            (self.flow_run, self.flow_set, "flow", FLOW_PRESET),
        ):
            if items and run is not None:
                raise ConfigError(None, f"{name}_set applies to a stream trained here, not to {name}_run")
            if items:
                get_method(preset).Options.build(parse_items(items, f"{name}_set"), where=f"{name}_set ({preset})")


@dataclass(frozen=True)
class StreamRecord:
    """One stream as config.json "extra" records it: enough to rebuild its network and its reader."""

    method: str
    options: dict[str, Any]
    num_classes: int
    extra: dict[str, Any]
    source: str  # "rgb_run" / "flow_run", "compare run 'LABEL'", or "trained here"
    run: str  # the stream's run folder as given (its copy lies in the two-stream run's rgb/ or flow/)

    def preset_options(self) -> tuple[Preset, Options]:
        """The stream's preset and validated options."""
        preset = get_method(self.method)
        return preset, preset.Options.restore(self.options, where=f"two-stream {self.method} stream")


def stream_records(extra: dict[str, Any]) -> dict[str, StreamRecord]:
    """{"rgb": ..., "flow": ...} from a run's extra."""
    return {role: StreamRecord(**extra["streams"][role]) for role in ROLES}


def fit_views(x: torch.Tensor, views: int | None) -> torch.Tensor:
    """`views` views of x (V, ...): a short video's fewer views repeated cyclically, so every item stacks."""
    if views is None or len(x) == views:
        return x
    return x[torch.arange(views) % len(x)]


def long_video_views(reader: Reader, train: bool) -> int | None:
    """How many views a frame reader gives for a long video (None for a reader without an index plan)."""
    plan = getattr(reader, "indices", None)
    if plan is None:
        return None
    idx = np.asarray(plan(100_000, np.random.default_rng(0) if train else None))
    return int(idx.shape[0]) if idx.ndim == 2 else 1


@dataclass(frozen=True)
class PairReader:
    """One view per video: (rgb (1, V, ...), flow (1, 1, ...)), each stream's reader's output kept whole."""

    rgb: Reader
    flow: Reader
    rgb_views: int | None

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[tuple[torch.Tensor, ...], int]:
        x_rgb, label = self.rgb(sample, rng)
        x_flow, _ = self.flow(sample, rng)  # no flips (see the module docstring): both labels are sample's
        return (fit_views(x_rgb, self.rgb_views)[None], x_flow[None]), label


@dataclass(frozen=True)
class StreamPlan:
    """Where a stream comes from, before anything is copied or trained: a finished run, or options to train."""

    role: str
    method: str
    options: dict[str, Any]
    source: str
    run: Path | None = None  # None: trained here
    extra: dict[str, Any] = field(default_factory=dict)  # the run's own extra (build needs it)


class TwoStream(Preset[TwoStreamOptions]):
    """Frozen RGB + flow streams fused late (features) or mid (stage maps); only the head trains."""

    name = "two-stream"
    description = (
        "frozen RGB (any RGB preset's run) + flow2p1d streams fused by average|max|min|concat, late "
        "or mid-level (1x1 conv), small trainable head"
    )
    temporal = True
    Options = TwoStreamOptions

    def prepare(self, o: TwoStreamOptions, dataset: Any, run_dir: Path, context: RunContext) -> dict[str, Any]:
        """Resolve both streams, check they fit the fusion, then copy or train them into run_dir/rgb, /flow."""
        classes = list(dataset.classes)
        plans = [self._plan(o, role, classes, context) for role in ROLES]
        self._check_fusion(o, plans, len(classes))
        records = {}
        for plan in plans:
            target = run_dir / plan.role
            if plan.run is None:
                self._train_stream(plan, dataset, target, context)
            else:
                copy_stream(plan.run, target)
            rc = RunConfig.read(target)
            if rc.classes != classes:
                print(
                    f"two-stream: the {plan.role} stream ({plan.run or target}) was trained on "
                    f"{len(rc.classes)} other classes: its features are used, its classifier is not",
                    file=sys.stderr,
                )
            records[plan.role] = asdict(
                StreamRecord(
                    rc.method,
                    rc.options,
                    len(rc.classes),
                    rc.extra,
                    plan.source,
                    str(plan.run) if plan.run is not None else str(target),
                )
            )
        return {"streams": records}

    def _plan(self, o: TwoStreamOptions, role: str, classes: list[str], context: RunContext) -> StreamPlan:
        """A given run, else a matching compare run, else options to train with."""
        given = o.rgb_run if role == "rgb" else o.flow_run
        if given is not None:
            rc = stream_config(Path(given), role)
            return StreamPlan(role, rc.method, rc.options, f"{role}_run", Path(given), rc.extra)
        method = o.rgb if role == "rgb" else FLOW_PRESET
        items = parse_items(o.rgb_set if role == "rgb" else o.flow_set, f"{role}_set")
        options = (
            get_method(method)
            .Options.build({**{k: getattr(o, k) for k in INHERITED}, **items}, where=f"{role}_set ({method})")
            .to_dict()
        )
        found = find_prior(context.prior_runs, method, classes, options if items else None)
        if found is not None:
            label, run = found
            print(f"two-stream: {role} stream from compare run {label!r} ({run})", file=sys.stderr)
            rc = RunConfig.read(run)
            return StreamPlan(role, method, rc.options, f"compare run {label!r}", run, rc.extra)
        return StreamPlan(role, method, options, "trained here")

    def _check_fusion(self, o: TwoStreamOptions, plans: list[StreamPlan], num_classes: int) -> None:
        """ConfigError, before any stream trains, when a stream cannot take part in the chosen fusion."""
        nets = []
        for plan in plans:
            preset = get_method(plan.method)
            so = preset.Options.restore(plan.options, where=f"two-stream {plan.method} stream")
            nets.append(StreamViews(preset.build(so, num_classes, plan.extra)))
        if o.level == "mid":
            for plan, net in zip(plans, nets):
                if net.stage_channels is None:
                    raise ConfigError(
                        None,
                        f"level=mid needs convolution stages in the {plan.role} stream "
                        f"(resnet-small, r2plus1d-small or i3d/nonlocal on them); this "
                        f"{plan.method} network has none: use level=late",
                    )
        rgb, flow = nets  # plans are the rgb and the flow stream
        TwoStreamFusion(rgb, flow, 2, FUSIONS[o.fusion], o.level, o.fusion_stage, o.head_hidden)

    def _train_stream(self, plan: StreamPlan, dataset: Any, target: Path, context: RunContext) -> None:
        if len(getattr(dataset, "parts", None) or []) > 1:
            raise ConfigError(
                None,
                f"two-stream on several datasets needs a trained {plan.role} stream: give "
                f"{plan.role}_run (a stream trained jointly has no single feature head)",
            )
        print(f"two-stream: training the {plan.role} stream ({plan.method}) into {target}", file=sys.stderr)
        inner = RunContext(resume=context.resume, progress=context.progress, dataset_record=context.dataset_record)
        preset = get_method(plan.method)
        preset.train(dataset, target, preset.Options.restore(plan.options, where=f"{plan.role}_set"), context=inner)

    def build(self, o: TwoStreamOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        """TwoStreamFusion over the two streams' networks (their weights: start() in training, the run's file
        at predict time)."""
        nets = []
        for record in stream_records(extra).values():
            preset, so = record.preset_options()
            nets.append(StreamViews(preset.build(so, record.num_classes, record.extra)))
        rgb, flow = nets  # stream_records: the rgb and the flow stream, in that order
        return TwoStreamFusion(rgb, flow, num_classes, FUSIONS[o.fusion], o.level, o.fusion_stage, o.head_hidden)

    def start(self, model: nn.Module, o: TwoStreamOptions, run_dir: Path, extra: dict[str, Any]) -> None:
        """The trained streams, from the copies prepare() put in run_dir/rgb and run_dir/flow."""
        for role in stream_records(extra):
            getattr(model, role).net.load_state_dict(load_run(run_dir / role)[1].state_dict())

    def reader(
        self, o: TwoStreamOptions, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]
    ) -> PairReader:
        """Each stream's own reader (flips off, see the module docstring), paired."""
        readers = []
        for role, record in stream_records(extra).items():
            preset, so = record.preset_options()
            if "flip" in so.names():
                so = so.replace(flip=False)
            readers.append(preset.reader(so, classes, train, run_dir / role, record.extra))
        return PairReader(readers[0], readers[1], long_video_views(readers[0], train))

    def check_sample(self, o: TwoStreamOptions, run_dir: Path, extra: dict[str, Any]):
        """Both streams' checks (the flow stream computes and caches the flow)."""
        checks = []
        for role, record in stream_records(extra).items():
            preset, so = record.preset_options()
            checks.append(preset.check_sample(so, run_dir / role, record.extra))

        def check(sample: Sample) -> None:
            probe(sample.path)
            for c in checks:
                if c is not None:
                    c(sample)

        return check


def stream_config(run: Path, role: str) -> RunConfig:
    """The config of a given stream run; ConfigError when it is not a finished run of a preset for `role`."""
    rc = RunConfig.read(run)
    allowed = RGB_PRESETS if role == "rgb" else (FLOW_PRESET,)
    if rc.method not in allowed:
        raise ConfigError(run, f"{role}_run must be a run of {', '.join(allowed)}, not of {rc.method}")
    if rc.datasets:
        raise ConfigError(run, f"{role}_run is a joint run (one head per dataset); use a single-dataset run")
    if not (run / WEIGHTS).is_file():
        raise CheckpointError(run / WEIGHTS, "missing: the run did not finish")
    return rc


def find_prior(
    prior_runs: dict[str, Path], method: str, classes: list[str], options: dict[str, Any] | None
) -> tuple[str, Path] | None:
    """(label, folder) of the first compare run of `method` on `classes` (with exactly `options` when given);
    the streams inside an earlier two-stream run count too. None when there is none."""
    for label, run in prior_runs.items():
        run = Path(run)
        candidates = [(label, run)]
        if RunConfig.read(run).method == TwoStream.name:
            candidates += [(f"{label}/{role}", run / role) for role in ROLES if (run / role / CONFIG).is_file()]
        for name, path in candidates:
            rc = RunConfig.read(path)
            if rc.method != method or rc.classes != classes or rc.datasets or not (path / WEIGHTS).is_file():
                continue
            if options is None or _same(rc.options, options):
                return name, path
    return None


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k not in RUNTIME} == {k: v for k, v in b.items() if k not in RUNTIME}


def copy_stream(source: Path, target: Path) -> None:
    """The stream's weights and config into target (atomically); earlier run files there are removed first."""
    target.mkdir(parents=True, exist_ok=True)
    if source.resolve() == target.resolve():
        return  # the stream already lives in this run folder (a rerun given its own copy)
    for name in RUN_FILES:
        (target / name).unlink(missing_ok=True)
    for name in (WEIGHTS, CONFIG):
        tmp = target / f".{name}.tmp"
        shutil.copyfile(source / name, tmp)
        tmp.replace(target / name)


TWO_STREAM = register_method(TwoStream())
