"""Methods: named recipes (`frame-cnn`, `clip3d`, `features-lstm`, ...) that train a self-contained run dir.

`get_method(name).train(dataset, run_dir, config) -> RunResult` decodes every video once into a small uint8
clip cache, fits, writes run_dir/{model.safetensors, config.json, history.json, results.json, predictions.csv};
`predict(run_dir, paths) -> Predictions` rebuilds everything from the run dir.
"""

from actionlab.methods.base import Method, Predictions, RunResult, get_method, list_methods, register_method
from actionlab.methods import frame_cnn as _frame_cnn  # noqa: F401  (registers)
from actionlab.methods import clip3d as _clip3d  # noqa: F401
from actionlab.methods import features_lstm as _features_lstm  # noqa: F401
from actionlab.methods import features_mlp as _features_mlp  # noqa: F401
from actionlab.methods import flow2p1d as _flow2p1d  # noqa: F401
from actionlab.methods import two_stream as _two_stream  # noqa: F401

__all__ = ["Method", "Predictions", "RunResult", "get_method", "list_methods", "register_method"]
