"""Run checkpoints: run_dir/model.safetensors + run_dir/config.json, written atomically, rebuilt safely.

Every weight file is written through actionlab.atomic (whole file or none, the umask's mode: safetensors'
save_file creates 0600 files) and read without running code (safetensors, or torch.load(weights_only=True));
a damaged or foreign file is one CheckpointError naming it, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from actionlab.atomic import write_bytes as atomic_write_bytes
from actionlab.atomic import write_json as atomic_write_json
from actionlab.errors import CheckpointError


def save_checkpoint(run_dir: str | Path, model: nn.Module, config: dict | None = None) -> Path:
    """Save weights and a config holding model name + kwargs (plus `config`) so load_run_model can rebuild."""
    run_dir = Path(run_dir)
    if not hasattr(model, "model_name"):
        raise CheckpointError(run_dir, "model was not built with create_model, cannot record how to rebuild it")
    save_safetensors(run_dir / "model.safetensors", model.state_dict())
    full = dict(config or {})
    full["model"] = {"name": model.model_name, "kwargs": model.model_kwargs}
    atomic_write_json(run_dir / "config.json", full)
    return run_dir


def save_safetensors(path: str | Path, state: dict[str, torch.Tensor]) -> Path:
    """Write a state dict as safetensors, atomically, with the umask's mode."""
    from safetensors.torch import save

    return atomic_write_bytes(path, save({k: v.detach().cpu().contiguous() for k, v in state.items()}))


def load_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """A .safetensors state dict; a missing, damaged or foreign file is a CheckpointError naming it."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "weight file not found")
    try:
        return load_file(str(path))
    except Exception as exc:  # SafetensorError and OSError alike: the file is unusable
        raise CheckpointError(path, f"not a readable safetensors file ({str(exc).splitlines()[0][:120]})") from None


def load_torch_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A {name: tensor} file saved by torch.save, read with weights_only=True (no pickled code runs)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling refusal, a truncated zip, a foreign file
        raise CheckpointError(
            path,
            f"not a weights file ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:120] if str(exc) else ''}); delete it to "
            "start over",
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "holds no name -> tensor state dict; delete it to start over")
    return state


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
