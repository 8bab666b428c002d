"""features-mlp: a two-layer MLP on one stored feature vector per video (workflows A and E).

prepare() extracts `family` features (sift-bow, cnn2d:<name>, cnn3d:<name>) into the run's store (see
methods.feature_inputs) and computes the training split's mean/std of the pooled vectors (feature_stats.npz in
the run folder). The reader pools a video's rows (cnn2d frames, cnn3d clips) by `pool` and standardises them;
sift-bow rows are already one vector, max-pooled over frames inside the extractor (workflow E: BoW max-pooled).
Predicting a new video extracts it with the run's extractor (the fitted codebook comes from the run's store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.data.dataset import Sample
from actionlab.errors import ConfigError, DatasetError
from actionlab.features import extract
from actionlab.methods.base import register_method
from actionlab.methods.feature_inputs import (
    STORE,
    ExtractorSpec,
    StoredFeatures,
    check_family,
    extractor_device,
    fresh_store,
    local_weights,
    open_store,
    resolve_weights,
    split_view,
)
from actionlab.methods.options import TrainOptions
from actionlab.methods.preset import Preset, RunContext
from actionlab.models.registry import create_model
from actionlab.options import opt

STATS = "feature_stats.npz"


@dataclass(frozen=True)
class FeaturesMLPOptions(TrainOptions):
    """features-mlp: the extractor, how its rows are pooled, and the MLP."""

    family: str = opt(
        "sift-bow", "features: sift-bow, cnn2d:<torchvision image classifier> or cnn3d:<r3d_18|mc3_18|r2plus1d_18|s3d>"
    )
    frames: int = opt(8, "frames the extractor samples per video (cnn3d: frames per clip)", low=1)
    clips: int = opt(2, "cnn3d: clips per video", low=1)
    size: int = opt(96, "frames are resized to size x size for the extractor", low=16)
    extractor_weights: str | None = opt(
        None,
        "cnn families: none (random, seeded), imagenet (cnn2d), kinetics400 "
        "(cnn3d), a run folder (cnn2d) or a weight file",
    )
    k: int = opt(128, "sift-bow: codebook size (visual words)", low=2)
    pool: str = opt(
        "mean",
        "cnn families: how a video's rows (frames, clips) become one vector; sift-bow "
        "max-pools its frame histograms inside the extractor",
        choices=("mean", "max"),
    )
    hidden: int = opt(256, "MLP hidden units", low=1)
    activation: str = opt("gelu", "MLP activation", choices=("gelu", "relu"))
    dropout: float = opt(0.5, "dropout before the classifier", low=0, high=0.95)
    epochs: int = opt(30, "training epochs (the schedule spans them)", low=1)
    batch_size: int = opt(32, "videos per optimisation step", low=1)
    lr: float = opt(3e-3, "peak learning rate", low=1e-12)
    workers: int = opt(
        0, "DataLoader processes (0: in-process; stored vectors cost less to read than a process to start)", low=0
    )

    def check(self) -> None:
        """A known family; k only for sift-bow; pool, extractor_weights only for cnn; clips only for cnn3d."""
        super().check()
        sift = self.family == "sift-bow"
        for name, applies, what in (
            ("k", sift, "sift-bow"),
            ("pool", not sift, "cnn2d/cnn3d families"),
            ("extractor_weights", not sift, "cnn2d/cnn3d families"),
            ("clips", self.family.startswith("cnn3d:"), "cnn3d families"),
        ):
            if self.given(name) and not applies:
                raise ConfigError(None, f"{name} applies to {what} only, not family={self.family}")
        check_family(self.family, ("sift-bow", "cnn2d", "cnn3d"), self.extractor_weights, "family")


def extractor_options(o: FeaturesMLPOptions, weights: str | None) -> dict[str, Any]:
    """create_extractor keywords for the family (each extractor names frames and clips its own way)."""
    if o.family == "sift-bow":
        return {"k": o.k, "num_frames": o.frames, "size": o.size, "seed": o.seed}
    common = {
        "weights": weights,
        "size": o.size,
        "seed": o.seed,
        "bf16": o.precision == "bf16",
        "device": extractor_device(o),
    }
    if o.family.startswith("cnn3d:"):
        return {**common, "num_clips": o.clips, "clip_len": o.frames}
    return {**common, "num_frames": o.frames}


def pool_rows(values: np.ndarray, pool: str) -> np.ndarray:
    """One vector from a video's feature rows (N, D) (a cnn3d row per clip, a cnn2d row per frame)."""
    rows = values.reshape(-1, values.shape[-1])
    return rows.max(0) if pool == "max" else rows.mean(0)


def pooled_stats(source: StoredFeatures, samples: list[Sample], pool: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean/std of the pooled vectors of the stored `samples` (constant dimensions get std 1)."""
    store = source.store
    rows = [
        pool_rows(np.asarray(store.item(s.path).features.values, np.float64), pool) for s in samples if s.path in store
    ]
    if not rows:
        raise DatasetError(store.path, "no training video has features (see the store's skipped list)")
    x = np.stack(rows)
    std = x.std(0)
    return x.mean(0).astype(np.float32), np.where(std < 1e-6, 1.0, std).astype(np.float32)


@dataclass
class PooledReader:
    """One standardised pooled vector per video, as a (1, D) view; cached per process (they are small)."""

    source: StoredFeatures
    pool: str
    mean: np.ndarray
    std: np.ndarray
    _cache: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[torch.Tensor, int]:
        key = str(sample.path)
        if key not in self._cache:
            values, _ = self.source.values(sample.path)
            x = (pool_rows(values, self.pool) - self.mean) / self.std
            self._cache[key] = torch.from_numpy(x.astype(np.float32))[None]
        return self._cache[key], sample.label


class FeaturesMLP(Preset[FeaturesMLPOptions]):
    """Stored features -> pooled, standardised vector -> mlp-head."""

    name = "features-mlp"
    description = "pooled stored features (family=sift-bow|cnn2d:<name>|cnn3d:<name>) -> MLP with BatchNorm"
    temporal = False
    Options = FeaturesMLPOptions

    def prepare(self, o: FeaturesMLPOptions, dataset: Any, run_dir: Path, context: RunContext) -> dict[str, Any]:
        """Extract into run_dir/store over the pipeline's split; training mean/std of the pooled vectors."""
        view = split_view(dataset, o)
        fresh_store(run_dir, context.resume)
        weights = local_weights(o.extractor_weights, run_dir, o.family)
        spec = ExtractorSpec(o.family, extractor_options(o, resolve_weights(weights, run_dir)))
        summary = extract(view, spec.build(), run_dir / STORE, progress=context.progress)
        source = StoredFeatures(summary.store, spec)
        mean, std = pooled_stats(source, view.train, o.pool)
        np.savez(run_dir / STATS, mean=mean, std=std)
        return {
            "in_features": int(mean.shape[0]),
            "store": summary.store.relative_to(run_dir).as_posix(),
            "weights": weights,
            "stats": STATS,
            "skipped_at_extraction": len(source.skipped),
        }

    def _source(self, o: FeaturesMLPOptions, run_dir: Path, extra: dict[str, Any]) -> StoredFeatures:
        weights = resolve_weights(extra.get("weights"), run_dir)
        return StoredFeatures(open_store(run_dir, extra).path, ExtractorSpec(o.family, extractor_options(o, weights)))

    def build(self, o: FeaturesMLPOptions, num_classes: int, extra: dict[str, Any]) -> nn.Module:
        return create_model(
            "mlp-head",
            num_classes=num_classes,
            in_features=int(extra["in_features"]),
            hidden=o.hidden,
            activation=o.activation,
            dropout=o.dropout,
        )

    def reader(
        self, o: FeaturesMLPOptions, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any]
    ) -> PooledReader:
        from actionlab.features.store import load_npz

        z = load_npz(run_dir / extra["stats"])  # allow_pickle=False; an object-array file is one line
        mean, std = z["mean"], z["std"]
        return PooledReader(self._source(o, run_dir, extra), o.pool, mean, std)

    def check_sample(self, o: FeaturesMLPOptions, run_dir: Path, extra: dict[str, Any]):
        """A video extraction skipped is unreadable (with the store's reason); a new one must open."""
        return self._source(o, run_dir, extra).check


FEATURES_MLP = register_method(FeaturesMLP())
