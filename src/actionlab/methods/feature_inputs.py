"""What the feature presets (features-mlp, features-lstm) share: the run's feature store and its extractor.

Features are extracted once, in prepare(), into `run_dir/store` (actionlab.features.extract: resumable, a bad
video is listed, never fatal) over the pipeline's own split: the store's "train" split is exactly the videos
the network trains on (val carved out by val_fraction is stored as "val"), so the sift-bow codebook and the
training mean/std see no validation video. A fresh (not resumed) run starts a new store for the same reason.
Readers serve stored features; a video the store does not hold (predict) goes through the same extractor,
rebuilt from the run folder alone: extractor weights given as a run folder or file are copied into it.
CNN extractors run on the training `device` and in its `precision` (fp32 unless precision=bf16), with `seed`
seeding random weights, so a run's features are as reproducible as its training.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actionlab.data.dataset import Sample
from actionlab.errors import ConfigError, FeatureError
from actionlab.features import FeatureStore, create_extractor
from actionlab.features.base import Extractor
from actionlab.features.weights import PUBLISHED, is_run_dir
from actionlab.video import probe

STORE = "store"
WEIGHTS_DIR = "extractor-weights"
CNN3D = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d")
SMALL_2D = "resnet-small"
RUN_FILES = ("config.json", "model.safetensors", "results.json", "history.json")


@dataclass
class SplitView:
    """The dataset as the pipeline splits it (train without the held-out val), for extract()."""

    name: str
    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]


def split_view(dataset: Any, o: Any) -> SplitView:
    """The run's (train, val, test) split: what Preset.prepare receives (the pipeline carved val already)."""
    return SplitView(
        getattr(dataset, "name", "dataset"),
        list(dataset.classes),
        list(dataset.train),
        list(dataset.val),
        list(dataset.test),
    )


def fresh_store(run_dir: Path, resume: bool) -> None:
    """Remove the store of an earlier run in run_dir unless resuming (its split and codebook may differ)."""
    if not resume:
        shutil.rmtree(run_dir / STORE, ignore_errors=True)


def image_families() -> list[str]:
    """cnn2d backbones: torchvision's image classifiers, and resnet-small (with run weights)."""
    import torchvision

    return [SMALL_2D, *torchvision.models.list_models(module=torchvision.models)]


def check_family(family: str, kinds: tuple[str, ...], weights: str | None, where: str) -> None:
    """ConfigError for an unknown family, or weights that cannot apply to it (checks that need no files)."""
    kind, _, arg = family.partition(":")
    if kind not in kinds or (kind == "sift-bow") == bool(arg):
        names = {
            "sift-bow": "sift-bow",
            "cnn2d": "cnn2d:<image classifier, e.g. resnet18>",
            "cnn3d": f"cnn3d:<{'|'.join(CNN3D)}>",
        }
        raise ConfigError(None, f"{where} must be {' or '.join(names[k] for k in kinds)}, not {family!r}")
    if kind == "cnn2d" and arg not in image_families():
        raise ConfigError(
            None,
            f"{where}: {arg!r} is not a torchvision image classifier (e.g. resnet18, resnet50, "
            f"convnext_tiny, mobilenet_v3_small) nor {SMALL_2D}",
        )
    if kind == "cnn3d" and arg not in CNN3D:
        raise ConfigError(None, f"{where}: cnn3d backbone must be one of {', '.join(CNN3D)}, not {arg!r}")
    if weights == "kinetics400" and kind != "cnn3d":
        raise ConfigError(None, "extractor_weights=kinetics400 is for cnn3d families; cnn2d takes imagenet")
    if weights == "imagenet" and kind != "cnn2d":
        raise ConfigError(None, "extractor_weights=imagenet is for cnn2d families; cnn3d takes kinetics400")
    if arg == SMALL_2D and (weights is None or weights in PUBLISHED):
        raise ConfigError(
            None,
            f"cnn2d:{SMALL_2D} has no published or random weights here: give "
            "extractor_weights=RUN, a frame-cnn run folder with that backbone",
        )


def local_weights(weights: str | None, run_dir: Path, family: str) -> str | None:
    """Extractor weights as the run records them: a published name, or a copy inside run_dir (relative path)."""
    if weights is None or weights in PUBLISHED:
        return weights
    src = Path(weights)
    if not src.exists():
        raise ConfigError(src, "extractor_weights: no such file or run folder")
    if src.is_dir() and not is_run_dir(src):
        raise ConfigError(src, "extractor_weights: a folder must be a run (config.json + model.safetensors)")
    if src.is_dir() and family.startswith("cnn3d:"):
        raise ConfigError(src, "extractor_weights: cnn3d takes kinetics400 or a state-dict file, not a run folder")
    target = run_dir / WEIGHTS_DIR
    dest = target if src.is_dir() else target / src.name
    if dest.exists() and dest.resolve() == src.resolve():
        return dest.relative_to(run_dir).as_posix()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if src.is_dir():
        copy_run(src, target)
    else:
        shutil.copy2(src, dest)
    return dest.relative_to(run_dir).as_posix()


def copy_run(src: Path, dest: Path) -> None:
    """Copy the files that rebuild a run (config, weights, its numbers) from src to dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dest / name)


def resolve_weights(recorded: str | None, run_dir: Path) -> str | None:
    """The weights argument for the extractor from what extra records (relative paths are inside run_dir)."""
    if recorded is None or recorded in PUBLISHED:
        return recorded
    return str(run_dir / recorded)


def extractor_device(o: Any) -> str | None:
    """The extractor's device from the training `device` option (auto: cuda when present)."""
    return None if o.device == "auto" else o.device


@dataclass(frozen=True)
class ExtractorSpec:
    """How to rebuild a run's extractor: its name and keyword options (picklable, unlike the extractor)."""

    name: str
    options: dict[str, Any]

    def build(self) -> Extractor:
        """A fresh extractor."""
        return create_extractor(self.name, **self.options)


@dataclass
class StoredFeatures:
    """A run's store, opened lazily in each process, and its extractor for videos the store does not hold."""

    store_dir: Path
    spec: ExtractorSpec
    _opened: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"store_dir": self.store_dir, "spec": self.spec, "_opened": {}}  # h5 handles stay in their process

    def _get(self, name: str, make) -> Any:
        if self._opened.get("pid") != os.getpid():  # a forked DataLoader worker opens its own files
            self._opened.clear()
            self._opened["pid"] = os.getpid()
        if name not in self._opened:
            self._opened[name] = make()
        return self._opened[name]

    @property
    def store(self) -> FeatureStore:
        """The open store."""
        return self._get("store", lambda: FeatureStore(self.store_dir))

    @property
    def skipped(self) -> dict[str, str]:
        """{path: reason} of the videos extraction could not read (read once)."""
        return self._get("skipped", lambda: self.store.skipped)

    def extractor(self) -> Extractor:
        """The run's extractor (fitted state from the store), built on first use."""

        def make() -> Extractor:
            ex = self.spec.build()
            if ex.needs_fit:
                ex.load_state(self.store.load_state() or {})
            return ex

        return self._get("extractor", make)

    def values(self, path: Path) -> tuple[np.ndarray, str | None]:
        """(float32 feature rows, stored split or None) of a video: from the store, else extracted now."""
        if path in self.store:
            item = self.store.item(path)
            return np.asarray(item.features.values, np.float32), item.split
        reason = self.skipped.get(str(path))
        if reason is not None:
            raise FeatureError(path, reason)
        return np.asarray(self.extractor().transform(path).values, np.float32), None

    def check(self, sample: Sample) -> None:
        """Raise for a video extraction skipped (with its reason) or, when not stored, one that does not open."""
        if sample.path in self.store:
            return
        reason = self.skipped.get(str(sample.path))
        if reason is not None:
            raise FeatureError(sample.path, reason)
        probe(sample.path)
        self.extractor()  # a run whose extractor weights cannot load says why, not "could not be read"


def open_store(run_dir: Path, extra: dict[str, Any]) -> FeatureStore:
    """The run's store from extra["store"] (relative to run_dir)."""
    return FeatureStore(run_dir / extra["store"])
