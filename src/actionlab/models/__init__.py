"""Networks behind one interface (timm-style).

    from actionlab.models import create_model, list_models, load_weights, freeze, save_checkpoint, load_run_model
    m = create_model("r2plus1d-small", num_classes=10, in_channels=3)     # clip input (B, C, T, H, W)
    m = create_model("resnet-small", num_classes=10)                       # frame input (B, 3, H, W)
    m = create_model("resnet18", num_classes=10, weights="imagenet")      # torchvision, needs a download
    m = create_model("mlp-head", num_classes=10, in_features=512)          # (B, D) or (B, T, D) averaged
    m = create_model("rnn-head", num_classes=10, in_features=512, cell="gru", bidirectional=True)
    logits = m(x, lengths)                                                 # x (B, T, D) zero-padded
    m = create_model("frame-fusion", num_classes=10, backbone="resnet-small")  # (B, T, 3, H, W), late fusion
    m = create_model("lrcn", num_classes=10)                               # (B, T, 3, H, W), CNN + LSTM
    m = create_model("two-stream", num_classes=10, mode="avg", level="late")   # m(rgb, flow)

Every model has `num_features`, `forward_features(x) -> (B, num_features)`, `forward_head(f) -> logits`,
`forward(x)` and `reset_classifier(num_classes)`; the final Linear is always the `head` attribute.
`save_checkpoint(run_dir, model, config)` writes model.safetensors + config.json; `load_run_model(run_dir)`
returns `(model, config)` in eval mode. `count_parameters(m)`, `model_size_mb(m)` report the size.
"""

from actionlab.models import cnn2d, cnn3d, fusion, heads, inflate  # noqa: F401  (registers the builders)
from actionlab.models.base import Classifier, count_parameters, model_size_mb
from actionlab.models.checkpoint import load_run_model, save_checkpoint
from actionlab.models.cnn3d import NonLocalBlock3d
from actionlab.models.fusion import TwoStreamFusion
from actionlab.models.inflate import inflate_2d_to_3d
from actionlab.models.registry import create_model, list_models, register_model
from actionlab.models.weights import freeze, load_weights, read_state_dict

__all__ = [
    "Classifier",
    "NonLocalBlock3d",
    "TwoStreamFusion",
    "count_parameters",
    "create_model",
    "freeze",
    "inflate_2d_to_3d",
    "list_models",
    "load_run_model",
    "load_weights",
    "model_size_mb",
    "read_state_dict",
    "register_model",
    "save_checkpoint",
]
