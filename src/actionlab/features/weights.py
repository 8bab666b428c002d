"""Loading backbone weights: None (random, seeded), "imagenet"/"kinetics400" (torchvision's published weights),
a state-dict file, or an actionlab run directory (see cnn2d.load_run_network)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from actionlab.errors import CheckpointError
from actionlab.models.weights import build_published, read_state_dict

# published weights by kind: the prefix torchvision's weights enum gives them
PUBLISHED = {"imagenet": "IMAGENET1K", "kinetics400": "KINETICS400"}


def build_torchvision(arch: str, weights: str | Path | None, seed: int, head_keys: tuple[str, ...]) -> nn.Module:
    """Build torchvision model `arch` with the requested weights; the classifier is removed by the caller."""
    if isinstance(weights, str) and weights in PUBLISHED:
        return _download(arch, weights)
    import torchvision  # here: its ~2 s import is paid only by runs that build one of its networks

    torch.manual_seed(seed)
    try:
        model = torchvision.models.get_model(arch, weights=None)
    except ValueError as err:
        raise CheckpointError(None, f"unknown torchvision model {arch!r}: {err}") from None
    if weights is not None:
        load_state_file(model, Path(weights), head_keys)
    return model


def _download(arch: str, kind: str = "imagenet") -> nn.Module:
    """torchvision's published weights, from the verified local file (never unpickled; see models.weights)."""
    import torchvision

    try:
        default = torchvision.models.get_model_weights(arch).DEFAULT
    except ValueError as err:
        raise CheckpointError(None, f"unknown torchvision model {arch!r}: {err}") from None
    if not default.name.startswith(PUBLISHED[kind]):  # kinetics400 for an image net, imagenet for a video net
        raise CheckpointError(
            arch,
            f"{arch} has no {kind} weights (its published weights are {default.name}); "
            "imagenet is for cnn2d backbones, kinetics400 for cnn3d ones",
        )
    return build_published(arch, kind)


def load_state_file(model: nn.Module, path: Path, head_keys: tuple[str, ...]) -> None:
    """Load backbone weights from `path`, ignoring classifier keys; missing/unexpected backbone keys are errors."""
    state = read_state_dict(path)
    is_head = lambda key: key.startswith(head_keys)
    state = {k: v for k, v in state.items() if not is_head(k)}
    own = {k for k in model.state_dict() if not is_head(k)}
    missing, unexpected = sorted(own - set(state)), sorted(set(state) - own)
    if missing or unexpected:
        raise CheckpointError(
            path,
            f"backbone keys do not match: missing {missing[:5]} ({len(missing)}), "
            f"unexpected {unexpected[:5]} ({len(unexpected)})",
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise CheckpointError(path, str(err).splitlines()[1 if len(str(err).splitlines()) > 1 else 0].strip()) from None


def is_run_dir(weights: str | Path | None) -> bool:
    """True for an actionlab run directory (model.safetensors + config.json)."""
    if weights is None or (isinstance(weights, str) and weights in PUBLISHED):
        return False
    p = Path(weights)
    return p.is_dir() and (p / "model.safetensors").is_file() and (p / "config.json").is_file()


def weights_digest(run_dir: str | Path) -> str:
    """Short sha256 of a run's model.safetensors: a store keyed by it never serves a retrained run's old features."""
    h = hashlib.sha256()
    with open(Path(run_dir) / "model.safetensors", "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]
