"""The Method interface: a named recipe that trains a self-contained run dir and predicts from it.

The registry holds preset instances (not builders as models/registry.py does): why the three registries stay
separate is said there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from actionlab.atomic import write_json
from actionlab.errors import ConfigError

if TYPE_CHECKING:  # preset.py imports this module
    from actionlab.methods.preset import Preset

P = TypeVar("P", bound="Preset[Any]")


@dataclass
class RunResult:
    """What `Method.train` returns: the run dir, per-epoch history and test-split numbers."""

    run_dir: Path
    method: str
    classes: list[str]
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Predictions:
    """Scores (num_classes,) per readable path, and one reason per path that could not be read."""

    classes: list[str]
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class Method:
    """Base class: subclasses set name/description/temporal and implement train and predict."""

    name: str = ""
    description: str = ""
    temporal: bool = False

    def train(self, dataset: Any, run_dir: str | Path, config: dict[str, Any] | None = None) -> RunResult:
        """Train on dataset.train, evaluate on dataset.test, write run_dir (model + config.json)."""
        raise NotImplementedError

    def predict(self, run_dir: str | Path, paths: Sequence[str | Path]) -> Predictions:
        """Class scores per video, rebuilt from the run dir alone."""
        raise NotImplementedError


# every registered method is a Preset (they all train through methods.pipeline)
_METHODS: dict[str, Preset[Any]] = {}


def register_method(method: P) -> P:
    """Add a method instance to the registry under its name."""
    _METHODS[method.name] = method
    return method


def list_methods() -> list[Preset[Any]]:
    """All registered methods, sorted by name."""
    return [_METHODS[k] for k in sorted(_METHODS)]


def get_method(name: str) -> Preset[Any]:
    """The method called `name`; ConfigError listing the choices otherwise."""
    if name not in _METHODS:
        raise ConfigError(None, f"unknown method {name!r}; choose one of {', '.join(sorted(_METHODS))}")
    return _METHODS[name]


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON atomically; numpy scalars/arrays and paths become plain JSON values."""
    write_json(path, data, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")
