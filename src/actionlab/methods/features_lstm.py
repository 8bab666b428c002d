"""features-lstm: an LSTM/GRU over stored per-frame features (workflows A and C).

source=frame-cnn (default) is the two-stage chain: stage 1 is a frame-cnn run — the one given as frame_cnn_run,
else a frame-cnn run of the same compare (context.prior_runs) with the same classes and the cnn_* options that
were given, else one trained here through the pipeline from the cnn_* options — copied into run_dir/frame-cnn so
the run folder is self-contained. source=cnn2d:<name> uses a frozen image network instead (extractor_weights).

Stage 2: every seq_step-th frame, at most seq_max centred on the middle frame (features.cnn2d.StepSampler), goes
through that network once into run_dir/store (actionlab.features.extract, with `scores` for the chain: each
frame's class scores beside its features); features are standardised with the training split's mean/std. The
recurrent head trains on one window of `window` steps per video and epoch: a random start when the sequence is
longer, mirror padding (the sequence played backwards, then forwards) when shorter, so every batch has one
length and needs no packing. At test, `test_windows` windows spread evenly over the sequence are averaged.

Head output: per-step logits (a linear layer on every step's hidden state) averaged with weights
w_t = 1 + end_weight * t / (window - 1), t = 0..window-1, normalised to sum 1: end_weight 0 is the plain mean over
steps (LRCN's averaging of per-step predictions); end_weight 1 weighs the last step twice the first.

Views: "video" (the LSTM, windows averaged) and, in the chain when the frame-cnn run has the run's classes,
"single_frame": the frame CNN's own scores of the video's middle frame (n - 1) // 2, which the step grid always
holds at position (len - 1) // 2. It rides along as one more view whose input carries the stored scores (the
model returns their log for that view); validation videos get a repeated window instead, so val_loss is the
LSTM's alone.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.data.dataset import Sample
from actionlab.errors import ActionlabError, ConfigError, DatasetError
from actionlab.features import extract
from actionlab.features.cnn2d import split_scores
from actionlab.methods.base import get_method, register_method
from actionlab.methods.feature_inputs import (
    STORE,
    ExtractorSpec,
    StoredFeatures,
    check_family,
    copy_run,
    extractor_device,
    fresh_store,
    local_weights,
    open_store,
    resolve_weights,
    split_view,
)
from actionlab.methods.options import TrainOptions
from actionlab.methods.preset import Preset, RunContext
from actionlab.methods.runs import RunConfig
from actionlab.options import opt
from actionlab.sampling.padding import pad_indices

FRAME_CNN = "frame-cnn"
FRAME_CNN_DIR = "frame-cnn"
# stage-1 options and the frame-cnn option each one sets
STAGE1 = {"cnn_epochs": "epochs", "cnn_lr": "lr", "cnn_width": "width", "cnn_size": "size"}


@dataclass(frozen=True)
class FeaturesLSTMOptions(TrainOptions):
    """features-lstm: where the frame features come from, how sequences are cut, the recurrent head."""

    source: str = opt(
        FRAME_CNN,
        "frame-cnn: a frame CNN trained first (or reused), then its per-frame features; "
        "cnn2d:<torchvision image classifier>: a frozen image network's features",
    )
    extractor_weights: str | None = opt(
        None, "source=cnn2d: none (random, seeded), imagenet, a run folder or a weight file"
    )
    frame_cnn_run: str | None = opt(
        None,
        "source=frame-cnn: a frame-cnn run folder to reuse (default: the "
        "compare's matching frame-cnn run, else one trained here)",
    )
    cnn_epochs: int = opt(12, "stage 1: frame CNN training epochs (when it is trained here)", low=1)
    cnn_lr: float = opt(3e-3, "stage 1: frame CNN peak learning rate", low=1e-12)
    cnn_width: int = opt(16, "stage 1: resnet-small channels of the first stage", low=4)
    cnn_size: int | None = opt(None, "stage 1: frame size the CNN trains at (default: size)", low=16)
    size: int = opt(64, "frames are resized to size x size for the per-frame features", low=16)
    seq_step: int = opt(2, "every seq_step-th frame is stored", low=1)
    seq_max: int = opt(48, "frames stored per video at most (centred on the middle frame)", low=1)
    window: int = opt(16, "steps per training window (shorter sequences are mirror-padded)", low=1)
    test_windows: int = opt(3, "windows spread over the sequence and averaged at test", low=1)
    end_weight: float = opt(0.0, "per-step logits weighted by 1 + end_weight * t/(window-1) (0: plain mean)", low=0)
    hidden: int = opt(128, "recurrent head: hidden units", low=1)
    cell: str = opt("lstm", "recurrent head: cell", choices=("lstm", "gru"))
    layers: int = opt(1, "recurrent head: stacked layers", low=1)
    bidirectional: bool = opt(False, "recurrent head: also read the window backwards")
    dropout: float = opt(0.0, "recurrent head: dropout between layers and before the classifier", low=0, high=0.95)
    epochs: int = opt(30, "recurrent head: training epochs (the schedule spans them)", low=1)
    batch_size: int = opt(32, "recurrent head: windows per optimisation step", low=1)
    lr: float = opt(3e-3, "recurrent head: peak learning rate", low=1e-12)
    workers: int = opt(
        0,
        "DataLoader processes (0: in-process; stored features cost less to read than a "
        "process to start); given, also the stage-1 frame CNN's",
        low=0,
    )

    def check(self) -> None:
        """A known source; each option only with the source it applies to."""
        super().check()
        chain = self.source == FRAME_CNN
        if not chain:
            check_family(self.source, ("cnn2d",), self.extractor_weights, "source (frame-cnn or cnn2d:<name>)")
        if self.given("extractor_weights") and chain:
            raise ConfigError(None, "extractor_weights applies to source=cnn2d:<name>; the chain uses its frame CNN")
        for name in ("frame_cnn_run", *STAGE1):
            if self.given(name) and not chain:
                raise ConfigError(None, f"{name} applies to source=frame-cnn only, not {self.source}")
        given = [n for n in STAGE1 if self.given(n)]
        if self.frame_cnn_run is not None and given:
            raise ConfigError(None, f"{', '.join(given)} train the frame CNN; frame_cnn_run reuses one instead")


def stage1_options(o: FeaturesLSTMOptions) -> dict[str, Any]:
    """frame-cnn options for stage 1: the cnn_* options, and the split/seed/device ones shared with stage 2."""
    cfg = {
        "epochs": o.cnn_epochs,
        "lr": o.cnn_lr,
        "width": o.cnn_width,
        "size": o.cnn_size or o.size,
        "seed": o.seed,
        "val_fraction": o.val_fraction,
        "device": o.device,
        "precision": o.precision,
    }
    for name in ("workers", "early_stopping"):  # the same held-out videos as stage 2 (early_stopping's 10%)
        if o.given(name):
            cfg[name] = getattr(o, name)
    return cfg


def _wanted(o: FeaturesLSTMOptions) -> dict[str, Any]:
    """The frame-cnn options a reused run must have: those the cnn_* (or size) options set explicitly."""
    wanted = {STAGE1[n]: getattr(o, n) for n in ("cnn_epochs", "cnn_lr", "cnn_width") if o.given(n)}
    if o.given("cnn_size") or o.given("size"):
        wanted["size"] = o.cnn_size or o.size
    return wanted


def reusable_run(o: FeaturesLSTMOptions, classes: list[str], context: RunContext) -> tuple[Path | None, str]:
    """(a finished frame-cnn run to reuse, where it came from) or (None, "") when one must be trained."""
    if o.frame_cnn_run is not None:
        rc = RunConfig.read(o.frame_cnn_run)
        if rc.method != FRAME_CNN:
            raise ConfigError(o.frame_cnn_run, f"frame_cnn_run is a {rc.method} run, not a frame-cnn run")
        return Path(o.frame_cnn_run), str(o.frame_cnn_run)
    wanted = _wanted(o)
    for label, path in context.prior_runs.items():
        try:
            rc = RunConfig.read(path)
        except ActionlabError:
            continue
        if rc.method == FRAME_CNN and rc.classes == classes and all(rc.options.get(k) == v for k, v in wanted.items()):
            return Path(path), f"compare run {label}"
    return None, ""


def frame_cnn_stage(o: FeaturesLSTMOptions, dataset: Any, run_dir: Path, context: RunContext) -> dict[str, Any]:
    """Stage 1: the frame-cnn run in run_dir/frame-cnn (reused and copied there, or trained there)."""
    target = run_dir / FRAME_CNN_DIR
    source, origin = reusable_run(o, list(dataset.classes), context)
    if source is None:
        print(f"features-lstm: stage 1, training a frame CNN into {target}", file=sys.stderr)
        stage = RunContext(
            resume=context.resume,
            progress=context.progress,
            label=f"{context.label or 'features-lstm'}/{FRAME_CNN}",
            dataset_record=context.dataset_record,
        )
        get_method(FRAME_CNN).train(dataset, target, stage1_options(o), context=stage)
        origin = "trained"
    elif source.resolve() != target.resolve():
        print(f"features-lstm: stage 1, reusing the frame CNN of {origin}", file=sys.stderr)
        shutil.rmtree(target, ignore_errors=True)  # nothing of a frame CNN trained here earlier stays beside it
        copy_run(source, target)
    rc = RunConfig.read(target)
    return {
        "run": FRAME_CNN_DIR,
        "from": origin,
        "backbone": rc.options["backbone"],
        "size": rc.options.get("size"),
        "same_classes": rc.classes == list(dataset.classes),
    }


def extractor_spec(o: FeaturesLSTMOptions, run_dir: Path, extra: dict[str, Any]) -> ExtractorSpec:
    """The per-frame cnn2d extractor of the run: every seq_step-th frame, at most seq_max, scores for the chain."""
    options = {
        "weights": resolve_weights(extra["weights"], run_dir),
        "num_frames": o.seq_max,
        "step": o.seq_step,
        "size": o.size,
        "seed": o.seed,
        "bf16": o.precision == "bf16",
        "device": extractor_device(o),
    }
    if extra.get("single_frame"):
        options["scores"] = True
    return ExtractorSpec(extra["extractor"], options)


def window_starts(length: int, window: int, count: int) -> np.ndarray:
    """`count` window starts spread evenly over a sequence (all 0 when it is no longer than a window)."""
    return np.round(np.linspace(0, max(length - window, 0), count)).astype(np.int64)


@dataclass
class SequenceReader:
    """(V, window, D) standardised feature windows; with `num_classes`, also the frame-view inputs."""

    source: StoredFeatures
    mean: np.ndarray
    std: np.ndarray
    window: int
    test_windows: int
    score_config: dict[str, Any]
    num_classes: int | None = None  # set: the single_frame view rides along at test

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[Any, int]:
        values, split = self.source.values(sample.path)
        feats, scores = split_scores(values, self.score_config)
        feats = (feats - self.mean) / self.std
        n = len(feats)
        if rng is not None:
            starts = rng.integers(0, max(n - self.window, 0) + 1, size=1)
        else:
            starts = window_starts(n, self.window, self.test_windows)
        if self.num_classes is not None and rng is None:
            starts = np.append(starts, starts[len(starts) // 2])  # the frame view's slot (a window for val)
        idx = pad_indices(starts[:, None] + np.arange(self.window)[None], n, "mirror")
        x = torch.from_numpy(np.ascontiguousarray(feats[idx], np.float32))
        if self.num_classes is None or rng is not None:
            return x, sample.label
        frame_logp = torch.zeros(len(starts), self.num_classes)
        is_frame = torch.zeros(len(starts), dtype=torch.bool)
        if split != "val":  # validation keeps the repeated window: val_loss measures the LSTM only
            assert scores is not None, "num_classes is set only for rows that carry frame scores"
            middle = np.clip(scores[(n - 1) // 2], 1e-12, None)  # the video's middle frame, see StepSampler
            frame_logp[-1], is_frame[-1] = torch.from_numpy(np.log(middle).astype(np.float32)), True
        return (x, frame_logp, is_frame), sample.label


class SequenceHead(nn.Module):
    """LSTM/GRU over (B, T, D) windows; per-step logits averaged with end_weight (module docstring).

    The head is affine and the weights sum to 1, so averaging the hidden states and then applying the head gives
    the same logits as averaging per-step logits; forward_features (what joint training's heads read) is that
    weighted mean of hidden states.
    """

    def __init__(self, in_features: int, num_classes: int, o: FeaturesLSTMOptions) -> None:
        super().__init__()
        cell = nn.LSTM if o.cell == "lstm" else nn.GRU
        self.rnn = cell(
            in_features,
            o.hidden,
            o.layers,
            batch_first=True,
            bidirectional=o.bidirectional,
            dropout=o.dropout if o.layers > 1 else 0.0,
        )
        self.num_features = o.hidden * (2 if o.bidirectional else 1)
        self.drop = nn.Dropout(o.dropout)
        self.head = nn.Linear(self.num_features, num_classes)
        self.end_weight = o.end_weight

    def step_weights(self, steps: int) -> torch.Tensor:
        """(steps,) weights summing to 1, growing linearly with t at slope end_weight / (steps - 1)."""
        w = 1 + self.end_weight * torch.arange(steps, dtype=torch.float32) / max(steps - 1, 1)
        return w / w.sum()

    def forward_features(self, x: torch.Tensor, *frame_view: torch.Tensor) -> torch.Tensor:
        """Step-weighted mean hidden state (B, num_features); the frame-view inputs are forward()'s."""
        out, _ = self.rnn(x)
        return (self.drop(out) * self.step_weights(x.shape[1]).to(out)[None, :, None]).sum(1)

    def forward(
        self, x: torch.Tensor, frame_logp: torch.Tensor | None = None, is_frame: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits (B, C); rows flagged `is_frame` return `frame_logp` (the frame CNN's log-scores) instead."""
        logits = self.head(self.forward_features(x))
        if is_frame is None:
            return logits
        assert frame_logp is not None, "is_frame comes with frame_logp (SequenceReader)"
        return torch.where(is_frame[:, None], frame_logp.to(logits), logits)


class FeaturesLSTM(Preset[FeaturesLSTMOptions]):
    """Per-frame features (a frame CNN's or a frozen image network's) -> recurrent head over windows."""

    name = "features-lstm"
    description = (
        "LSTM/GRU over stored per-frame features: of a frame CNN trained first (or reused), or "
        "source=cnn2d:<name>; mirror-padded windows, several averaged at test"
    )
    temporal = True
    Options = FeaturesLSTMOptions

    def prepare(self, o: FeaturesLSTMOptions, dataset: Any, run_dir: Path, context: RunContext) -> dict[str, Any]:
        """Stage 1 (chain), then the per-frame sequences into run_dir/store over the pipeline's split."""
        view = split_view(dataset, o)
        fresh_store(run_dir, context.resume)
        if o.source == FRAME_CNN:
            cnn = frame_cnn_stage(o, dataset, run_dir, context)
            if cnn["size"] != o.size:
                print(
                    f"features-lstm: the frame CNN trained at {cnn['size']} px; its features are taken at "
                    f"size={o.size} px",
                    file=sys.stderr,
                )
            joint = len(getattr(dataset, "parts", None) or []) > 1  # one head per dataset: no frame-view trick
            extra = {
                "extractor": f"cnn2d:{cnn['backbone']}",
                "weights": FRAME_CNN_DIR,
                "single_frame": cnn["same_classes"] and not joint,
                "frame_cnn": cnn,
            }
        else:
            extra = {
                "extractor": o.source,
                "weights": local_weights(o.extractor_weights, run_dir, o.source),
                "single_frame": False,
            }
        spec = extractor_spec(o, run_dir, extra)
        summary = extract(view, spec.build(), run_dir / STORE, progress=context.progress)
        source = StoredFeatures(summary.store, spec)
        stats = source.store.stats
        if stats is None:
            raise DatasetError(summary.store, "no training video has features (see the store's skipped list)")
        score_dim = int(source.store.config.get("score_dim") or 0)
        return {
            **extra,
            "store": summary.store.relative_to(run_dir).as_posix(),
            "in_features": int(stats[0].shape[0]) - score_dim,
            "skipped_at_extraction": len(source.skipped),
        }

    def _source(self, o: FeaturesLSTMOptions, run_dir: Path, extra: dict[str, Any]) -> StoredFeatures:
        return StoredFeatures(open_store(run_dir, extra).path, extractor_spec(o, run_dir, extra))

    def build(self, o: FeaturesLSTMOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return SequenceHead(int(extra["in_features"]), num_classes, o)

    def reader(
        self, o: FeaturesLSTMOptions, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]
    ) -> SequenceReader:
        source = self._source(o, run_dir, extra)
        store = source.store
        d = int(extra["in_features"])
        stats = store.stats
        assert stats is not None, "prepare() computed the training stats"
        mean, std = (s[:d] for s in stats)  # training-split stats of the features (not of the scores)
        return SequenceReader(
            source,
            mean,
            std,
            o.window,
            o.test_windows,
            dict(store.config),
            len(classes) if extra.get("single_frame") else None,
        )

    def views(self, o: FeaturesLSTMOptions, probs: np.ndarray) -> dict[str, np.ndarray]:
        """video: the test windows averaged; single_frame: the frame CNN's middle frame, when present."""
        k = o.test_windows
        if probs.shape[1] > k:
            return {"video": probs[:, :k].mean(1), "single_frame": probs[:, k]}
        return {"video": probs.mean(1)}

    def check_sample(self, o: FeaturesLSTMOptions, run_dir: Path, extra: dict[str, Any]):
        """A video extraction skipped is unreadable (with the store's reason); a new one must open."""
        return self._source(o, run_dir, extra).check


FEATURES_LSTM = register_method(FeaturesLSTM())
