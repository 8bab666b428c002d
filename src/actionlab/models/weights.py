"""Loading weights into any registered model (class-count and input-channel adaptation) and freezing.

Every weight file is read here, never unpickled: `torch.load(weights_only=True)` or safetensors. torchvision's
published weights are read from `$TORCH_HOME/hub/checkpoints/<name>-<sha256 prefix>.pth` by `pretrained_state`,
which checks the hash the name carries first (torchvision's own loader checks it on download only, then
unpickles whatever file is there).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import torch
from torch import nn

from actionlab.errors import CheckpointError

if TYPE_CHECKING:  # imported where used: torchvision costs ~2 s to import, and most runs never need it
    import torchvision

# the prefix of torchvision's weights-enum member names for each published kind
PUBLISHED_PREFIX = {"imagenet": "IMAGENET1K", "kinetics400": "KINETICS400"}


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a .safetensors or .pt/.pth state dict safely (no pickled code); strips a 'module.' prefix."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "weight file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))  # checked below: a name -> tensor dict
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc) and "Unsupported class" not in str(exc):
            # not a pickle of objects at all: random bytes, a truncated or foreign file
            raise CheckpointError(path, "not a readable state dict (not a torch checkpoint)") from None
        raise CheckpointError(
            path,
            "refused: the file holds pickled objects other than tensors, and loading them "
            "could run code; save a plain state dict (or .safetensors)",
        ) from None
    except Exception as exc:  # any parse failure means the file is unusable, say which
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise CheckpointError(path, f"not a readable state dict ({type(exc).__name__}: {first})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "file holds no name -> tensor state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def published_weights(arch: str, kind: str | None = None) -> torchvision.models.WeightsEnum | None:
    """torchvision's `kind` ("imagenet" / "kinetics400", None: its default) weights member for `arch`: the default
    when it is of that kind, else the first of that kind; None when `arch` has none (unknown arch: ValueError)."""
    import torchvision

    enum = torchvision.models.get_model_weights(arch)
    if kind is None:
        return enum.DEFAULT
    prefix = PUBLISHED_PREFIX[kind]
    if enum.DEFAULT.name.startswith(prefix):
        return enum.DEFAULT
    return next((m for m in enum if m.name.startswith(prefix)), None)


def published_url(arch: str, kind: str | None = None) -> str:
    """Download address of `arch`'s published `kind` (None: default) weights; a CheckpointError when none."""
    try:
        member = published_weights(arch, kind)
    except ValueError as err:
        raise CheckpointError(arch, f"no published weights: {err}") from None
    if member is None:
        raise CheckpointError(arch, f"{arch} has no {kind} weights")
    return member.url


def published_state(arch: str, kind: str | None = None) -> dict[str, torch.Tensor]:
    """torchvision's published `kind` (None: default) weights of `arch`, its own key names; verified, no pickle."""
    return pretrained_state(published_url(arch, kind), f"{arch} {kind or 'pretrained'}")


def build_published(arch: str, kind: str) -> nn.Module:
    """torchvision model `arch` with its published `kind` weights, as get_model(weights=...) would build it,
    minus the unpickling: the constructor arguments the weights imply, then `published_state`."""
    member = published_weights(arch, kind)
    if member is None:
        raise CheckpointError(arch, f"{arch} has no {kind} weights")
    kwargs: dict = {"num_classes": len(member.meta["categories"])}
    if arch in ("googlenet", "inception_v3"):  # the published files hold the auxiliary heads
        kwargs.update(transform_input=True, aux_logits=True, init_weights=False)
    if arch == "vit_h_14":
        kwargs["image_size"] = member.meta["min_size"][0]
    import torchvision

    model = torchvision.models.get_model(arch, weights=None, **kwargs)
    try:
        model.load_state_dict(published_state(arch, kind))
    except RuntimeError as err:
        lines = str(err).splitlines()
        raise CheckpointError(arch, f"{kind} weights do not fit: {lines[min(1, len(lines) - 1)].strip()}") from None
    if arch in ("googlenet", "inception_v3"):  # as torchvision does: the untrained auxiliary heads go
        model.aux_logits = False
        for name in ("aux1", "aux2", "AuxLogits"):
            if hasattr(model, name):
                setattr(model, name, None)
    return model


def pretrained_state(url: str, what: str) -> dict[str, torch.Tensor]:
    """The state dict of torchvision's checkpoint `url`: hash-verified local file, read with weights_only."""
    return read_state_dict(pretrained_file(url, what))


def pretrained_file(url: str, what: str) -> Path:
    """The verified local copy of `url` in $TORCH_HOME/hub/checkpoints, downloaded (hash-checked) when absent.

    A missing file that cannot be downloaded, or one whose sha256 does not start with the hash in its name,
    is a one-line CheckpointError that says where to put the original file.
    """
    name = os.path.basename(url)
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    path = folder / name
    match = re.search(r"-([0-9a-f]{6,})$", Path(name).stem)
    expected = match.group(1) if match else None
    where = (
        f"put {name} (from {url}) in {folder} (or set TORCH_HOME), or pass --weights PATH to a "
        ".pt/.pth/.safetensors state dict"
    )
    if not path.is_file():
        tmp = folder / (name + ".partial")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(tmp), hash_prefix=expected, progress=False)
            os.replace(tmp, path)
        except Exception:  # offline, proxy, bad hash, full disk: all mean "provide the file yourself"
            tmp.unlink(missing_ok=True)
            raise CheckpointError(None, f"{what} weights are not on this machine: {where}") from None
    if expected is not None:  # torchvision names files <arch>-<sha256 prefix>.pth
        digest = _sha256(path)
        if not digest.startswith(expected):
            raise CheckpointError(
                path,
                f"sha256 {digest[:16]}... does not match the hash in its name "
                f"({expected}): not torchvision's file; delete it and {where}",
            )
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_head(key: str) -> bool:
    return "head" in key.split(".")


def _adapt_channels(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor | None:
    """timm-style: average the RGB filters and repeat them for a different input-channel count."""
    if src.dim() not in (4, 5) or src.shape[0] != dst.shape[0] or src.shape[2:] != dst.shape[2:]:
        return None
    mean = src.mean(dim=1, keepdim=True)
    reps = [1, dst.shape[1]] + [1] * (src.dim() - 2)
    return mean.repeat(*reps) * (src.shape[1] / dst.shape[1])


class _Pretrained(Protocol):
    """A model that brings its own published weights (TorchvisionClassifier)."""

    def pretrained_state_dict(self) -> dict[str, torch.Tensor]: ...


def load_weights(model: nn.Module, source: str | Path) -> nn.Module:
    """Load "imagenet" (torchvision's, verified) or a file; skip a mismatched head, adapt input channels."""
    where: str | Path
    if str(source) == "imagenet":
        if not hasattr(model, "pretrained_state_dict"):
            raise CheckpointError(getattr(model, "model_name", None), "has no imagenet weights; pass a file path")
        state, where = cast(_Pretrained, model).pretrained_state_dict(), "imagenet"
    else:
        state, where = read_state_dict(source), source
    own = model.state_dict()
    merged, problems = {}, []
    for key, dst in own.items():
        src = state.get(key)
        if src is None:
            if not _is_head(key):
                problems.append(f"missing {key}")
            continue
        if src.shape == dst.shape:
            merged[key] = src.to(dst.dtype)
        elif not _is_head(key):
            adapted = _adapt_channels(src, dst)
            if adapted is None:
                problems.append(f"{key} has shape {tuple(src.shape)}, model wants {tuple(dst.shape)}")
            else:
                merged[key] = adapted.to(dst.dtype)
    if problems:
        raise CheckpointError(
            where,
            f"incompatible with model {getattr(model, 'model_name', type(model).__name__)}:"
            f" {len(problems)} problem(s), first: {problems[0]}",
        )
    model.load_state_dict(merged, strict=False)
    return model


def freeze(model: nn.Module, trainable: tuple[str, ...] = ("head",), last_stages: int | None = None) -> nn.Module:
    """Freeze every parameter except those whose name starts with `trainable`, or the last N `stages` + head."""
    prefixes = tuple(trainable)
    if last_stages is not None:
        stages = getattr(model, "stages", None)
        if stages is None:
            raise CheckpointError(getattr(model, "model_name", None), "model has no `stages` to unfreeze")
        n = len(stages)
        prefixes += tuple(f"stages.{i}." for i in range(max(0, n - last_stages), n))
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(prefixes)
    return model
