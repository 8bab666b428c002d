"""two-stream: a trained RGB stream (clip3d or frame-cnn) and the flow2p1d motion stream, frozen and fused (workflow B).

`fusion_level=late` (default) fuses the streams' penultimate features (forward_features) by `fusion=average|max|
min|concat`; `fusion_level=mid` fuses their feature maps after convolution stage `fusion_stage` (clip3d only).
Both are models.fusion.TwoStreamFusion: the flow side goes through a trainable linear layer (late) or 1x1 conv
(mid) to the RGB width, so average/max/min combine like with like; then a small trainable head (late: Linear +
ReLU + Linear; mid: the RGB stream's remaining stages, copied and trainable, + pool + Linear). Streams come
from the runs a compare already trained (`prior_runs`), else are trained first into run_dir/rgb and run_dir/flow;
either way their weights are copied into the run dir, which is all `predict` needs. The frozen streams' features
(or stage maps) are computed once for the training set, so only the head trains.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from actionlab.errors import ConfigError
from actionlab.methods.base import RunResult, get_method, register_method
from actionlab.methods.clip3d import CLIP3D
from actionlab.methods.flow2p1d import FLOW2P1D, flow_tensor
from actionlab.methods.fitting import fit_arrays
from actionlab.methods.netmethod import DEFAULTS, NetMethod
from actionlab.models.fusion import FrameFusion, TwoStreamFusion

TWO_STREAM_DEFAULTS: dict[str, Any] = {"rgb": "clip3d", "fusion": "average", "fusion_level": "late",
                                       "fusion_stage": 1, "head_hidden": 128, "head_epochs": 30, "head_lr": 3e-3}
RGB_METHODS = ("clip3d", "frame-cnn")
FUSIONS = {"average": "avg", "avg": "avg", "max": "max", "min": "min", "concat": "concat"}
LEVELS = ("late", "mid")


class ClipFrames(FrameFusion):
    """frame-cnn as a stream on the same (B, 3, T, H, W) clip as clip3d: its frame features averaged over T."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Mean per-frame features (B, F)."""
        return super().forward_features(x.transpose(1, 2))


class Given(nn.Module):
    """Stands in for a frozen stream whose features or maps were computed beforehand: passes its input through."""

    def __init__(self, stream: nn.Module) -> None:
        super().__init__()
        self.num_features = stream.num_features
        self.stage_channels = getattr(stream, "stage_channels", None)
        self.pool = getattr(stream, "pool", None)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The precomputed features."""
        return x

    def forward_maps(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """The precomputed feature maps."""
        return x


def check_config(cfg: dict[str, Any]) -> None:
    """ConfigError, before anything trains, for an unknown RGB stream, fusion or level."""
    if cfg["rgb"] not in RGB_METHODS:
        raise ConfigError(None, f"two-stream: rgb must be one of {', '.join(RGB_METHODS)}, not {cfg['rgb']!r}")
    if cfg["fusion"] not in FUSIONS:
        raise ConfigError(None, f"two-stream: fusion must be average, max, min or concat, not {cfg['fusion']!r}")
    if cfg["fusion_level"] not in LEVELS:
        raise ConfigError(None, f"two-stream: fusion_level must be late or mid, not {cfg['fusion_level']!r}")
    if cfg["fusion_level"] == "mid" and cfg["rgb"] != "clip3d":
        raise ConfigError(None, "two-stream: fusion_level=mid needs rgb=clip3d (both streams 3D feature maps)")
    if not 0 <= int(cfg["fusion_stage"]) <= 3:
        raise ConfigError(None, f"two-stream: fusion_stage must be 0-3, not {cfg['fusion_stage']!r}")


def stream_plan(cfg: dict[str, Any], classes: list[str]) -> dict[str, dict[str, Any]]:
    """Per role ("rgb", "flow"): the stream's method, its config, and the prior run to reuse (or None)."""
    own = {k: v for k, v in cfg.items() if k not in (*TWO_STREAM_DEFAULTS, "prior_runs", "streams", "classes")}
    plan = {}
    for role, name in (("rgb", cfg["rgb"]), ("flow", FLOW2P1D.name)):
        prior = (cfg.get("prior_runs") or {}).get(name)
        scfg = None
        if prior:
            try:
                scfg = json.loads((Path(prior) / "config.json").read_text())
            except (OSError, ValueError):
                scfg = None
            if not isinstance(scfg, dict) or scfg.get("classes") != classes or scfg.get("method") != name:
                prior, scfg = None, None  # not a usable run of this stream on these classes: train it here
        scfg = {k: v for k, v in (scfg or {**own, "method": name}).items() if k != "prior_runs"}
        plan[role] = {"method": name, "prior": str(prior) if prior else None, "config": scfg}
    return plan


class MidFusion(TwoStreamFusion):
    """TwoStreamFusion at level "mid" whose trainable part after the fused maps is the RGB stream's remaining
    stages (a trainable copy; concat first halves the channels with a 1x1 conv), then pooling and the head."""

    def __init__(self, rgb: nn.Module, flow: nn.Module, num_classes: int, mode: str, stage: int,
                 rest: nn.Module) -> None:
        super().__init__(rgb, flow, num_classes, mode, "mid", stage, hidden=rgb.num_features)
        channels = rgb.stage_channels[stage]
        reduce = [nn.Conv3d(2 * channels, channels, 1)] if mode == "concat" else []
        self.fused = nn.Sequential(*reduce, *rest, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        for p in self.fused.parameters():
            p.requires_grad_(True)


def _fusion(rgb: nn.Module, flow: nn.Module, num_classes: int, cfg: dict[str, Any],
            rgb_stages: nn.ModuleList | None = None) -> TwoStreamFusion:
    """The fusion model; mid level copies the RGB stages after `fusion_stage` from rgb_stages (default rgb's)."""
    mode, stage = FUSIONS[cfg["fusion"]], int(cfg["fusion_stage"])
    if cfg["fusion_level"] == "mid":
        rest = copy.deepcopy((rgb.stages if rgb_stages is None else rgb_stages)[stage + 1:])
        return MidFusion(rgb, flow, num_classes, mode, stage, rest)
    return TwoStreamFusion(rgb, flow, num_classes, mode, "late", stage, int(cfg["head_hidden"]))


class TwoStream(NetMethod):
    """Frozen RGB + flow streams, fused late (features) or mid (feature maps), with a small trainable head."""

    name = "two-stream"
    description = ("frozen rgb (clip3d|frame-cnn) + flow2p1d streams fused by average|max|min|concat "
                   "(config fusion, fusion_level=late|mid), small trainable head")
    temporal = True

    def train(self, dataset: Any, run_dir: str | Path, config: dict[str, Any] | None = None) -> RunResult:
        """Resolve the streams (prior runs or new), then NetMethod.train with this method's fit_model."""
        cfg = {**DEFAULTS, **TWO_STREAM_DEFAULTS, **(config or {})}
        check_config(cfg)
        cfg["streams"] = stream_plan(cfg, list(dataset.classes))
        cfg["classes"] = list(dataset.classes)
        cfg.pop("prior_runs", None)  # the plan records what was reused; config.json stays self-contained
        return super().train(dataset, run_dir, cfg)

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        plan = cfg["streams"]
        rgb = get_method(plan["rgb"]["method"]).build(num_classes, plan["rgb"]["config"])
        if plan["rgb"]["method"] != CLIP3D.name:
            rgb = ClipFrames(num_classes, rgb)
        flow = FLOW2P1D.build(num_classes, plan["flow"]["config"])
        return _fusion(rgb, flow, num_classes, cfg)

    def inputs(self, paths: Sequence[str | Path], cfg: dict[str, Any], desc: str) -> tuple[np.ndarray, list[int],
                                                                                          dict[str, str]]:
        """A structured uint8 array with fields "rgb" (T, H, W, 3) and "flow" (L, H, W, 2), one row per path."""
        plan = cfg["streams"]
        rgb, kept_rgb, errors = get_method(plan["rgb"]["method"]).inputs(paths, plan["rgb"]["config"], desc)
        flow, kept_flow, flow_errors = FLOW2P1D.inputs(paths, plan["flow"]["config"], desc)
        at_rgb = {p: j for j, p in enumerate(kept_rgb)}
        at_flow = {p: j for j, p in enumerate(kept_flow)}
        kept = [p for p in kept_rgb if p in at_flow]
        out = np.zeros(len(kept), np.dtype([("rgb", np.uint8, rgb.shape[1:]), ("flow", np.uint8, flow.shape[1:])]))
        out["rgb"] = rgb[[at_rgb[p] for p in kept]]
        out["flow"] = flow[[at_flow[p] for p in kept]]
        return out, kept, {**flow_errors, **errors}

    def batch(self, arrays: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        # no augmentation: the streams are frozen and the head trains on features computed once
        return CLIP3D.batch(np.ascontiguousarray(arrays["rgb"]), None)[0], flow_tensor(arrays["flow"])

    def fit_model(self, model: nn.Module, train: tuple[np.ndarray, np.ndarray],
                  val: tuple[np.ndarray, np.ndarray] | None, cfg: dict[str, Any],
                  run_dir: Path) -> list[dict[str, Any]]:
        """Get both streams into the model, compute their frozen features once, train the fusion head on them."""
        history: list[dict[str, Any]] = []
        for role, target in (("rgb", model.rgb), ("flow", model.flow)):
            stream, stream_history = self._stream(cfg["streams"][role], role, train, val, cfg["classes"],
                                                  run_dir / role)
            (target.body if isinstance(target, ClipFrames) else target).load_state_dict(stream.state_dict())
            history += [dict(h, stage=role) for h in stream_history]
        n = len(train[1])
        feats = self._features(model, train[0], cfg)
        if val is not None and len(val[1]):
            # one table of train then val features; the Trainer's items are row numbers into it
            feats = tuple(torch.cat(pair) for pair in zip(feats, self._features(model, val[0], cfg)))
        # mid level: the head's copy of the remaining RGB stages starts from the trained stream's weights
        head = _fusion(Given(model.rgb), Given(model.flow), len(cfg["classes"]), cfg,
                       getattr(model.rgb, "stages", None))

        def make_inputs(rows: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
            idx = torch.from_numpy(np.asarray(rows, dtype=np.int64))
            return tuple(part[idx] for part in feats)

        head_cfg = {**cfg, "epochs": int(cfg["head_epochs"]), "lr": float(cfg["head_lr"])}
        vrows = None if val is None or not len(val[1]) else (np.arange(n, n + len(val[1])), val[1])
        head_history = fit_arrays(head, make_inputs, (np.arange(n), train[1]), vrows, head_cfg, run_dir / "head")
        # the head's parameter names (match, fused, head) are the full model's; its streams stay as loaded
        model.load_state_dict(head.state_dict(), strict=False)
        return history + [dict(h, stage="head") for h in head_history]

    def _stream(self, entry: dict[str, Any], role: str, train: tuple[np.ndarray, np.ndarray],
                val: tuple[np.ndarray, np.ndarray] | None, classes: list[str],
                out_dir: Path) -> tuple[nn.Module, list[dict[str, Any]]]:
        """Load the prior run (copying its files into out_dir) or train the stream into out_dir."""
        method = get_method(entry["method"])
        out_dir.mkdir(parents=True, exist_ok=True)
        if entry["prior"]:
            stream, _ = method.load(entry["prior"])
            for name in ("model.safetensors", "config.json"):
                tmp = out_dir / f"{name}.tmp"
                shutil.copyfile(Path(entry["prior"]) / name, tmp)
                tmp.replace(out_dir / name)
            return stream, []
        stream = method.build(len(classes), entry["config"])
        part = (np.ascontiguousarray(train[0][role]), train[1])
        vpart = None if val is None else (np.ascontiguousarray(val[0][role]), val[1])
        stream_history = method.fit_model(stream, part, vpart, dict(entry["config"]), out_dir)
        method.save(stream, out_dir, classes, entry["config"])
        return stream, stream_history

    @torch.no_grad()
    def _features(self, model: nn.Module, arrays: np.ndarray, cfg: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        """Frozen stream outputs for every training item: pooled features (late) or stage maps (mid)."""
        model.eval()
        stage, late = int(cfg["fusion_stage"]), cfg["fusion_level"] == "late"
        parts_a, parts_b = [], []
        for s in range(0, len(arrays), 32):
            x_rgb, x_flow = self.batch(arrays[s:s + 32], None)
            parts_a.append(model.rgb.forward_features(x_rgb) if late else model.rgb.forward_maps(x_rgb, stage))
            parts_b.append(model.flow.forward_features(x_flow) if late else model.flow.forward_maps(x_flow, stage))
        return torch.cat(parts_a), torch.cat(parts_b)


TWO_STREAM = register_method(TwoStream())
