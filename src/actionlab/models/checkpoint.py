"""Run checkpoints: run_dir/model.safetensors + run_dir/config.json, written atomically, rebuilt safely."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from actionlab.atomic import write_bytes as atomic_write_bytes, write_json as atomic_write_json
from actionlab.errors import CheckpointError


def save_checkpoint(run_dir: str | Path, model: nn.Module, config: dict | None = None) -> Path:
    """Save weights and a config holding model name + kwargs (plus `config`) so load_run_model can rebuild."""
    from safetensors.torch import save

    run_dir = Path(run_dir)
    if not hasattr(model, "model_name"):
        raise CheckpointError(run_dir, "model was not built with create_model, cannot record how to rebuild it")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(run_dir / "model.safetensors", save(state))
    full = dict(config or {})
    full["model"] = {"name": model.model_name, "kwargs": model.model_kwargs}
    atomic_write_json(run_dir / "config.json", full)
    return run_dir


def load_run_model(run_dir: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model recorded in run_dir/config.json and load run_dir/model.safetensors."""
    from actionlab.models.registry import create_model
    from actionlab.models.weights import read_state_dict

    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    try:
        config = json.loads(cfg_path.read_text())
        spec = config["model"]
        kwargs = dict(spec["kwargs"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(cfg_path, f"missing or invalid run config ({type(exc).__name__}: {exc})") from exc
    for key in kwargs:  # backbone_weights="imagenet" etc.: the saved file already holds every weight
        if key.endswith("_weights"):
            kwargs[key] = None
    model = create_model(spec["name"], **kwargs)
    state = read_state_dict(run_dir / "model.safetensors")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(run_dir / "model.safetensors", f"does not match its config: {str(exc)[:160]}") from exc
    model.eval()
    return model, config
