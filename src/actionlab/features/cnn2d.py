"""`cnn2d:<backbone>`: one feature vector per sampled frame from a 2D classifier (torchvision, or an actionlab run).

Frames: `num_frames` uniformly sampled (default), or with `step=k` every k-th frame on a grid through the video's
middle frame, at most `num_frames` of them, centred (StepSampler), so the frame at position (len - 1) // 2 of a
stored sequence is always the video's middle frame (n - 1) // 2 — the one frame-cnn's single-frame view scores.

Weights: None (random, seeded), imagenet, a state-dict file, or an actionlab run folder (`extract --weights RUN`):
a run of frame-cnn, late-fusion or lrcn (their per-frame 2D network; `<backbone>` must be the run's `backbone`
option, resnet-small included), or a folder written by models.save_checkpoint. The config then records the run's
`weights_digest`, so a run retrained in the same folder gets a new store instead of the old features, and frames
are resized to the run's own `size` option unless `size` is given (otherwise the default is 224).

Scores (`scores=True`, `extract --scores`; a frame-cnn or late-fusion run): each frame's class scores (softmax of
the run's head, in fp32) are stored after its features in the same row, so values are (N, D + C). The config
records `score_dim` (C) and `classes`; `split_scores(values, config)` gives (features, scores). The store format
itself is unchanged (features.h5 `values` just has wider rows); its training mean/std cover the score columns
too, and readers standardise only the first D.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from actionlab.errors import CheckpointError, FeatureError
from actionlab.features.torchbase import TorchExtractor, common_config
from actionlab.features.weights import PUBLISHED, build_torchvision, is_run_dir, weights_digest
from actionlab.sampling import UniformSampler
from actionlab.video import read_sampled

if TYPE_CHECKING:
    from actionlab.models.base import Classifier
    from actionlab.models.joint import JointHeads

DEFAULT_SIZE = 224  # torchvision's image size; a run's own `size` option for run weights
# presets whose run holds a per-frame 2D network: where it is, and whether its head scores single frames
RUN_NETWORKS = {"frame-cnn": ("", True), "late-fusion": ("body", True), "lrcn": ("body", False)}


def head_path(net: nn.Module, arch: str) -> str:
    """Dotted path of the classifier to remove (resnet `fc`, convnext `classifier.2`, others `classifier`)."""
    if hasattr(net, "fc"):
        return "fc"
    if arch.startswith("convnext"):
        return "classifier.2"
    return "classifier"


def _set(root: nn.Module, path: str, value: nn.Module) -> None:
    *parents, last = path.split(".")
    for part in parents:
        root = getattr(root, part)
    setattr(root, last, value)


@dataclass(frozen=True)
class RunInfo:
    """What the extractor takes from a run besides its network: classes and the frame size it trained at."""

    classes: list[str]
    size: int | None


@dataclass(frozen=True)
class StepSampler:
    """Every `step`-th frame on a grid through the middle frame (n - 1) // 2, at most `count`, centred on it.

    The middle frame is at position (len - 1) // 2 of the result: the grid reaches mid // step frames to the
    left and (n - 1 - mid) // step (the same or one more) to the right, and a cap keeps (count - 1) // 2 left.
    """

    step: int
    count: int

    def sample(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Frame indices (deterministic: the rng is not used)."""
        mid = (num_frames - 1) // 2
        left = min(mid // self.step, (self.count - 1) // 2)
        right = min((num_frames - 1 - mid) // self.step, self.count - 1 - left)
        return (mid + self.step * np.arange(-left, right + 1)).astype(np.int64)


def split_scores(values: np.ndarray, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """(features, per-frame class scores or None) of stored cnn2d rows (see the module docstring)."""
    c = int(config.get("score_dim") or 0)
    if not c:
        return values, None
    return values[..., :-c], values[..., -c:]


class FrameNet(nn.Module):
    """A run's per-frame 2D network: forward_features, plus softmax(head) after them when `head` is given."""

    def __init__(self, net: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.net = cast("Classifier", net)  # a run's 2D network or a wrapped torchvision one
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, D) features, or (N, D + C) with the class scores."""
        feats = self.net.forward_features(x).flatten(1)
        if self.head is None:
            return feats
        with torch.autocast(x.device.type, enabled=False):  # scores in fp32 even under bf16 autocast
            probs = torch.softmax(self.head(feats.float()), 1)
        return torch.cat([feats.float(), probs], 1)


class Cnn2dExtractor(TorchExtractor):
    """Frame CNN features (N x D) for `num_frames` sampled frames resized to `size` x `size` (default 224; with
    run weights the run's own `size`).

    `bf16=None` autocasts to bf16 where the hardware supports it natively (see torchbase); `batch_size` frames,
    gathered across videos by extract(), go through the network at once, in `streams` concurrent passes
    (`None`: 2 on a CPU, 1 on a GPU; see torchbase). `step` and `scores`: see the module docstring.
    """

    def __init__(
        self,
        backbone: str = "resnet18",
        *,
        weights: str | Path | None = None,
        num_frames: int = 8,
        size: int | None = None,
        seed: int = 0,
        bf16: bool | None = None,
        device: str | None = None,
        batch_size: int = 32,
        streams: int | None = None,
        step: int | None = None,
        scores: bool = False,
    ) -> None:
        if step is not None and step < 1:
            raise FeatureError(None, f"cnn2d step must be >= 1, not {step}")
        self.sampler = UniformSampler(num_frames) if step is None else StepSampler(step, num_frames)
        self.batch_size, self.rows_per_video = batch_size, num_frames
        bf16 = self._resolve(device, bf16, streams)
        more: dict[str, Any] = {"num_frames": num_frames, **({"step": step} if step is not None else {})}
        self.run_model = is_run_dir(weights)
        model: nn.Module
        if self.run_model:
            assert weights is not None  # is_run_dir(None) is False
            model, run = load_run_network(Path(weights), backbone, scores)
            size = size or run.size  # by default a run's network sees frames at the size it was trained on
            more["weights_digest"] = weights_digest(weights)
            if scores:
                more.update(score_dim=len(run.classes), classes=list(run.classes))
        elif scores:
            raise FeatureError(
                weights,
                "cnn2d scores need weights=RUN (--weights RUN): a frame-cnn or late-fusion "
                "run folder, whose head gives each frame's class scores",
            )
        else:
            model = self._torchvision(backbone, weights, seed)
        self.size = size or DEFAULT_SIZE
        self.config = common_config(f"cnn2d:{backbone}", weights, seed, self.size, bf16, **more)
        self._setup(model)

    @staticmethod
    def _torchvision(arch: str, weights: str | Path | None, seed: int) -> nn.Module:
        probe_net = (
            build_torchvision(arch, None, seed, ()) if weights is not None and weights not in PUBLISHED else None
        )
        if probe_net is not None:
            head = head_path(probe_net, arch)
            del probe_net
            net = build_torchvision(arch, weights, seed, (head + ".",))
        else:
            net = build_torchvision(arch, weights, seed, ())
            head = head_path(net, arch)
        _set(net, head, nn.Identity())
        return net

    def decode(self, path: str | Path) -> tuple[np.ndarray, np.ndarray, float]:
        """The sampled frames at size x size."""
        frames, idx, info = read_sampled(path, self.sampler.sample, size=(self.size, self.size), threads=1)
        return frames, idx, info.fps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) → (N, D) (run weights with scores: (N, D + C))."""
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x).flatten(1)


def _run_config(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(run_dir / "config.json", f"unreadable run config: {err}") from None


def load_run_network(run_dir: Path, backbone: str, scores: bool) -> tuple[FrameNet, RunInfo]:
    """(the per-frame 2D network of the run in `run_dir`, its classes and size); see the module docstring."""
    raw = _run_config(run_dir)
    if "model" in raw and "method" not in raw:  # a models.save_checkpoint folder: {"model": {name, kwargs}}
        return _checkpoint_network(run_dir, raw, backbone, scores)
    from actionlab.methods.evaluation import load_run

    method = raw.get("method")
    if method not in RUN_NETWORKS:
        raise CheckpointError(
            run_dir,
            f"a {method} run has no per-frame 2D network; --weights RUN takes runs of {', '.join(RUN_NETWORKS)}",
        )
    run_backbone = (raw.get("options") or {}).get("backbone")
    if run_backbone != backbone:
        raise CheckpointError(
            run_dir,
            f"this {method} run's backbone is {run_backbone}: extract with cnn2d:{run_backbone}, not cnn2d:{backbone}",
        )
    where, scores_frames = RUN_NETWORKS[method]
    if scores and not scores_frames:
        raise CheckpointError(
            run_dir,
            f"a {method} run's head reads its LSTM, not single frames: scores need a frame-cnn or late-fusion run",
        )
    _, model, _, rc = load_run(run_dir)
    if rc.datasets:  # a joint run: the shared network under one head per dataset, none over all its classes
        if scores:
            raise CheckpointError(run_dir, "a joint run has one head per dataset: scores need a single-dataset run")
        model = cast("JointHeads", model).body  # load_run wraps a joint run's network in JointHeads
    clf = cast("Classifier", model)  # every preset's network is a Classifier
    net = getattr(clf, where) if where else clf
    return FrameNet(net, clf.head if scores else None).eval(), RunInfo(list(rc.classes), rc.options.get("size"))


def _checkpoint_network(run_dir: Path, raw: dict[str, Any], backbone: str, scores: bool) -> tuple[FrameNet, RunInfo]:
    from actionlab.models import load_run_model

    name = raw["model"].get("name") if isinstance(raw["model"], dict) else None
    if name != backbone:
        raise CheckpointError(
            run_dir, f"this checkpoint's model is {name}: extract with cnn2d:{name}, not cnn2d:{backbone}"
        )
    if scores:
        raise CheckpointError(
            run_dir,
            "scores need a run of the training pipeline (config.json with method and "
            "classes), not a bare checkpoint folder",
        )
    model, _ = load_run_model(run_dir)
    return FrameNet(model, None).eval(), RunInfo(list(raw.get("classes") or []), None)
