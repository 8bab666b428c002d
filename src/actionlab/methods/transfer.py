"""Transfer learning: initialise any model from a run, a weight file or torchvision weights; freeze and unfreeze.

Keys are matched by their canonical name (every leading `body.` stripped), so a frame-cnn run initialises the
per-frame body of late fusion, LRCN or an inflated I3D. 2D kernels are inflated to 3D and RGB filters are spread
over other input-channel counts; the head is kept only when it was trained on the same classes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
import torchvision
from torch import nn

from actionlab.errors import CheckpointError, ConfigError
from actionlab.models.meta import set_attr
from actionlab.models.weights import _adapt_channels, pretrained_file, published_weights, read_state_dict

PRETRAINED = ("imagenet", "kinetics400")
_STAGE = re.compile(r"(stages\.\d+|layer\d+)\.")


@dataclass(frozen=True)
class InitReport:
    """What `init_weights` did: which target keys got source tensors and how they were reshaped."""

    source: str
    loaded: list[str]
    inflated: int
    adapted: int
    new: list[str]
    head: str

    def line(self) -> str:
        """One human line for logs and the CLI."""
        how = ([f"{self.inflated} inflated 2D->3D"] if self.inflated else []) + (
            [f"{self.adapted} channel-adapted"] if self.adapted else []
        )
        groups = list(dict.fromkeys(_group(k) for k in self.new))
        shown = ", ".join(groups[:3]) + (", ..." if len(groups) > 3 else "")
        new = f"{len(self.new)} new" + (f" ({shown})" if shown else "")
        return (
            f"init: {len(self.loaded)} tensors from {self.source}"
            + (f" ({', '.join(how)})" if how else "")
            + f", {new}, head {self.head}"
        )


def _canon(key: str) -> str:
    while key.startswith("body."):
        key = key[len("body.") :]
    return key


def _is_head(key: str) -> bool:
    return _canon(key).startswith("head.")


def _group(key: str) -> str:
    """`rnn.weight_ih_l0` -> `rnn.*`, `stages.2.1.theta.weight` -> `stages.2.1.*` (a compact summary)."""
    parts = _canon(key).split(".")
    n = 1
    while n < len(parts) - 1 and parts[n].isdigit():
        n += 1
    return ".".join(parts[:n]) + ".*" if len(parts) > 1 else parts[0]


def init_weights(model: nn.Module, source: str | Path, *, classes: list[str] | None = None) -> InitReport:
    """Load every fitting tensor of `source` (run dir, weight file, "imagenet", "kinetics400") into `model`."""
    if str(source) in PRETRAINED:
        state, src_classes, where = _pretrained_source(model, str(source))
    else:
        state, src_classes, where = _file_source(Path(source))
    by_canon = {_canon(k): v for k, v in state.items()}
    merged, inflated, adapted = {}, 0, 0
    head_ok = src_classes is None or (classes is not None and list(classes) == list(src_classes))
    for key, dst in model.state_dict().items():
        src = by_canon.get(_canon(key))
        if src is None:
            head_ok &= not _is_head(key)
            continue
        if _is_head(key):  # a head is never reshaped: it is either the same classifier or a fresh one
            head_ok &= src.shape == dst.shape
            merged[key] = src
            continue
        fitted, was_inflated = _fit(src, dst)
        if fitted is None:
            raise CheckpointError(
                where,
                f"{key}: source shape {tuple(src.shape)} does not fit model shape "
                f"{tuple(dst.shape)} (neither equal, 2D->3D inflatable nor channel-adaptable)",
            )
        merged[key] = fitted.to(dst.dtype)
        inflated += was_inflated
        adapted += fitted.shape[1:2] != src.shape[1:2]
    if not any(not _is_head(k) for k in merged):
        raise CheckpointError(
            where,
            f"no tensor of {source} fits this model "
            f"({getattr(model, 'model_name', type(model).__name__)}): no key names match",
        )
    if not head_ok:
        merged = {k: v for k, v in merged.items() if not _is_head(k)}
    model.load_state_dict(merged, strict=False)
    new = [
        k for k in model.state_dict() if k not in merged and not _is_head(k) and not k.endswith("num_batches_tracked")
    ]  # a BN step counter is bookkeeping, not a weight
    head = "loaded" if any(_is_head(k) for k in merged) else "fresh"
    return InitReport(str(source), list(merged), inflated, adapted, new, head)


def _fit(src: torch.Tensor, dst: torch.Tensor) -> tuple[torch.Tensor | None, bool]:
    """Return `src` shaped like `dst` (inflated and/or channel-adapted) or None, and whether it was inflated."""
    inflated = False
    if src.dim() == 4 and dst.dim() == 5 and src.shape[0] == dst.shape[0] and src.shape[2:] == dst.shape[3:]:
        t = dst.shape[2]  # repeat over time and divide by T, as InflatedConv3d: a static clip gives the 2D response
        src, inflated = src.unsqueeze(2).repeat(1, 1, t, 1, 1) / t, True
    out: torch.Tensor | None = src
    if src.shape != dst.shape:
        out = _adapt_channels(src, dst)
    return out, inflated


def _file_source(path: Path) -> tuple[dict[str, torch.Tensor], list[str] | None, Path]:
    """(state, classes or None when unknown, path) of a run folder or a state-dict file."""
    if not path.is_dir():
        return read_state_dict(path), None, path
    config, weights = path / "config.json", path / "model.safetensors"
    if not config.is_file() or not weights.is_file():
        raise CheckpointError(path, "not a run folder: needs config.json and model.safetensors")
    try:
        src_classes = json.loads(config.read_text())["classes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(config, f"no 'classes' list in the run config ({type(exc).__name__})") from exc
    return read_state_dict(weights), list(src_classes), path


def _tv_module(model: nn.Module) -> tuple[str, nn.Module]:
    """(path, module) of the first torchvision-wrapped submodule, or a ConfigError."""
    for path, mod in model.named_modules():
        if hasattr(mod, "tv_name"):
            return path, mod
    name = getattr(model, "model_name", type(model).__name__)
    raise ConfigError(
        None,
        f"model {name} has no pretrained weights; use a torchvision backbone for them, "
        f"e.g. backbone=resnet18 (imagenet) or r2plus1d_18 (kinetics400)",
    )


def _weights_enum(tv_name: str, kind: str) -> torchvision.models.WeightsEnum:
    """The torchvision weights member for `kind`; a ConfigError when the architecture has none of that kind."""
    found = published_weights(tv_name, kind)
    if found is None:
        have = ", ".join(m.name for m in torchvision.models.get_model_weights(tv_name))
        raise ConfigError(
            None,
            f"{tv_name} has no {kind} weights (it has {have}); "
            f"imagenet is for image backbones, kinetics400 for video ones",
        )
    return found


def pretrained_url(tv_name: str, kind: str) -> str:
    """Download address of torchvision's `kind` ("imagenet" / "kinetics400") weights for `tv_name`."""
    return _weights_enum(tv_name, kind).url


def _pretrained_source(model: nn.Module, kind: str) -> tuple[dict[str, torch.Tensor], list[str] | None, Path]:
    """torchvision weights renamed to the model's keys: <path>.body.<tv key>, the classifier as <path>.head."""
    path, mod = _tv_module(model)
    tv_name = cast(str, mod.tv_name)  # _tv_module found it: set by the torchvision wrappers
    url = pretrained_url(tv_name, kind)
    file = pretrained_file(url, f"{tv_name} {kind}")  # hash-checked against its name
    raw = read_state_dict(file)  # weights_only=True: a checkpoint can never run code
    prefix = f"{path}." if path else ""
    head = getattr(mod, "head_path", "fc") + "."
    state = {
        (prefix + "head." + k[len(head) :] if k.startswith(head) else prefix + "body." + k): v for k, v in raw.items()
    }
    categories = _weights_enum(tv_name, kind).meta.get("categories")
    return state, categories, file


def freeze(model: nn.Module, spec: str, loaded: list[str] | None = None) -> list[nn.Parameter]:
    """Freeze per `spec` ("none", "backbone", "all-but-last:K"); only `loaded` keys when given. Returns them."""
    named = list(model.named_parameters())
    if spec == "none":
        return []
    if spec == "backbone":
        names = {n for n, _ in named if not _is_head(n)}
    elif spec.startswith("all-but-last:"):
        names = _before_last_stages(model, named, spec)
    else:
        raise ConfigError(None, f"freeze {spec!r}: use none, backbone or all-but-last:K")
    if loaded is not None:  # parameters the source did not provide are new: they must train
        names &= set(loaded)
    frozen = [p for n, p in named if n in names]
    for p in frozen:
        p.requires_grad_(False)
    ids = {id(p) for p in frozen}
    for mod in model.modules():  # the trainer keeps these in eval mode so BatchNorm statistics stay fixed
        params = list(mod.parameters())
        if params and all(id(p) in ids for p in params):
            set_attr(mod, "frozen", True)
    return frozen


def _before_last_stages(model: nn.Module, named: list[tuple[str, nn.Parameter]], spec: str) -> set[str]:
    """Non-head parameters registered before the last K stages (stem, earlier stages)."""
    stage_of = [(m.group(1) if (m := _STAGE.match(_canon(n))) else None) for n, _ in named]
    stages = list(dict.fromkeys(s for s in stage_of if s is not None))  # registration order = network order
    if not stages:
        tops = ", ".join(dict.fromkeys(_canon(n).split(".")[0] for n, _ in named))
        name = getattr(model, "model_name", type(model).__name__)
        raise ConfigError(None, f"freeze {spec}: model {name} has no stages (stages.N / layerN), only {tops}")
    k_text = spec.split(":", 1)[1]
    if not k_text.isdigit() or int(k_text) > len(stages):
        raise ConfigError(None, f"freeze {spec}: K must be an integer from 0 to {len(stages)} (the stage count)")
    keep = set(stages[len(stages) - int(k_text) :])
    trained = [i for i, s in enumerate(stage_of) if s in keep]
    # everything after the first trained stage trains too (later stages, an LSTM or fc on top)
    boundary = trained[0] if trained else max(i for i, s in enumerate(stage_of) if s is not None) + 1
    return {n for i, (n, _) in enumerate(named) if i < boundary and not _is_head(n)}


def param_groups(model: nn.Module, frozen: list[nn.Parameter], unfrozen_lr: float) -> list[dict]:
    """Optimiser groups: trainable parameters (lr_mult 1) and the frozen ones for later (lr_mult unfrozen_lr)."""
    ids = {id(p) for p in frozen}
    now = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups = [{"params": now, "lr_mult": 1.0}, {"params": list(frozen), "lr_mult": float(unfrozen_lr)}]
    return [g for g in groups if g["params"]]


def unfreeze(model: nn.Module, frozen: list[nn.Parameter]) -> None:
    """Make `frozen` trainable again and clear the `frozen` flag on the modules holding them."""
    ids = {id(p) for p in frozen}
    for p in frozen:
        p.requires_grad_(True)
    for mod in model.modules():
        if getattr(mod, "frozen", False) and any(id(p) in ids for p in mod.parameters()):
            set_attr(mod, "frozen", False)
