"""Methods: named presets of one training pipeline (`frame-cnn`, `clip3d`, `features-lstm`, ...).

`get_method(name).train(dataset, run_dir, config) -> RunResult` validates `config` against the preset's declared
options (`actionlab methods NAME` lists them), streams the training clips, fits, and writes run_dir/
{model.safetensors, config.json, history.json, results.json, timing.json, predictions.csv};
`predict(run_dir, paths) -> Predictions` rebuilds everything from the run folder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The presets register themselves when imported; they import torch, so they load on first use of a name below:
# `actionlab.methods.options` (the declarations `actionlab train --help` reads) then stays torch-free.
PRESETS = ("frames", "clips", "flow", "features_mlp", "features_lstm", "two_stream")

if TYPE_CHECKING:
    from actionlab.methods.base import Method, Predictions, RunResult, get_method, list_methods, register_method

__all__ = ["Method", "Predictions", "RunResult", "get_method", "list_methods", "register_method"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    base = importlib.import_module(f"{__name__}.base")
    for preset in PRESETS:
        importlib.import_module(f"{__name__}.{preset}")
    for public in __all__:
        globals()[public] = getattr(base, public)
    return globals()[name]
