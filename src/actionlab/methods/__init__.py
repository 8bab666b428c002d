"""Methods: named presets of one training pipeline (`frame-cnn`, `clip3d`, `features-lstm`, ...).

`get_method(name).train(dataset, run_dir, config) -> RunResult` validates `config` against the preset's declared
options (`actionlab methods NAME` lists them), streams the training clips, fits, and writes run_dir/
{model.safetensors, config.json, history.json, results.json, timing.json, predictions.csv};
`predict(run_dir, paths) -> Predictions` rebuilds everything from the run folder.
"""

from actionlab.methods.base import Method, Predictions, RunResult, get_method, list_methods, register_method
from actionlab.methods import frames as _frames  # noqa: F401  (registers)
from actionlab.methods import clips as _clips  # noqa: F401
from actionlab.methods import flow as _flow  # noqa: F401
from actionlab.methods import features_mlp as _features_mlp  # noqa: F401
from actionlab.methods import features_lstm as _features_lstm  # noqa: F401
from actionlab.methods import two_stream as _two_stream  # noqa: F401

__all__ = ["Method", "Predictions", "RunResult", "get_method", "list_methods", "register_method"]
