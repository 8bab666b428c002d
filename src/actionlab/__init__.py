"""actionlab: video action recognition from a folder of clips to a compared, reported set of methods.

    import actionlab
    ds = actionlab.load_dataset("folder", "data/synth")               # Dataset: classes, train, val, test
    run = actionlab.train(ds, "clip3d", "runs/clip3d", {"epochs": 2})  # RunResult: metrics, history
    print(actionlab.Predictor("runs/clip3d")("clip.mp4")[0].top)      # [(label, score), ...]

Names load their package on first use (PEP 562), so `import actionlab` stays light (no torch) and
`actionlab --help` fast. actionlab.api documents the entry points; the packages hold the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "load_dataset": "actionlab.data",
    "dataset_from_spec": "actionlab.data",
    "train": "actionlab.api",
    "compare": "actionlab",  # the module actionlab.compare, callable (api.CompareModule): compare(...)
    "Predictor": "actionlab.api",
    "VideoPrediction": "actionlab.api",
    "load_run_model": "actionlab.api",
    "create_model": "actionlab.models",
    "list_methods": "actionlab.methods",
    "get_method": "actionlab.methods",
    "probe": "actionlab.video",
    "read_frames": "actionlab.video",
}

if TYPE_CHECKING:
    from actionlab.api import Predictor, VideoPrediction, load_run_model, train
    from actionlab.data import dataset_from_spec, load_dataset
    from actionlab.methods import get_method, list_methods
    from actionlab.models import create_model
    from actionlab.video import probe, read_frames

__all__ = [
    "Predictor",
    "VideoPrediction",
    "compare",
    "create_model",
    "dataset_from_spec",
    "get_method",
    "list_methods",
    "load_dataset",
    "load_run_model",
    "probe",
    "read_frames",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'actionlab' has no attribute {name!r}")
    if name == "compare":  # the submodule: importing it binds actionlab.compare
        return importlib.import_module("actionlab.compare")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
