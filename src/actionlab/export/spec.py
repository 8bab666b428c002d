"""The input specification written beside an exported network: enough to feed it without actionlab.

`model.onnx` gets `model.onnx.json`: per input its shape (batch first, the views of a video flattened into the
batch), layout, channels, mean/std and how the frames are sampled; how per-view scores become a video score;
the class names; the parity measured at export time; and, under "actionlab", the run's recorded config so
`actionlab predict FILE --backend onnxruntime` rebuilds the run's own reader (one data path).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actionlab.errors import CheckpointError

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
SPEC_VERSION = 1


@dataclass(frozen=True)
class InputSpec:
    """One network input: name, shape ("batch" first), what its values are and how they are made."""

    name: str
    shape: list[Any]
    layout: str  # e.g. "N C T H W"
    channels: str  # e.g. "RGB" or "flow dx,dy"
    dtype: str = "float32"
    frames: int = 1
    size: int = 0
    mean: list[float] | None = None
    std: list[float] | None = None
    values: str = ""  # how pixel values become these numbers
    sampler: dict[str, Any] = field(default_factory=dict)  # which frames of a video (actionlab's plan)


@dataclass(frozen=True)
class ViewsSpec:
    """A video gives `per_video` views (rows of the batch); how their scores become the video's score."""

    per_video: int
    video_score: str  # e.g. "mean of softmax(logits) over views 1..4"
    first: int = 0  # views [first, per_video) are averaged for the headline score
    other_scores: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportSpec:
    """What `model.json` holds."""

    format: str
    file: str  # the network file's name, beside this spec
    method: str
    classes: list[str]
    inputs: list[InputSpec]
    output: dict[str, Any]
    views: ViewsSpec
    parity_max_abs: float  # exported vs eager logits on the check clip (fp32)
    check_video: str
    actionlab: dict[str, Any]  # the run's config.json (method, options, extra) to rebuild its reader
    version: int = SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def spec_path(model_file: str | Path) -> Path:
    """The spec beside a network file: model.onnx -> model.onnx.json (an .onnx and a .pt export can share a stem)."""
    model_file = Path(model_file)
    return model_file.with_name(model_file.name + ".json")


def read_spec(model_file: str | Path) -> ExportSpec:
    """The spec beside `model_file`; CheckpointError with the path when it is missing or not ours."""
    path = spec_path(model_file)
    try:
        raw = json.loads(path.read_text())
        inputs = [InputSpec(**i) for i in raw.pop("inputs")]
        views = ViewsSpec(**raw.pop("views"))
        spec = ExportSpec(inputs=inputs, views=views, **raw)
    except FileNotFoundError:
        raise CheckpointError(
            path,
            f"missing: an exported network needs the input specification written "
            f"beside it by `actionlab export` ({Path(model_file).name})",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            path, f"not an actionlab export specification ({type(err).__name__}: {str(err)[:120]})"
        ) from None
    if spec.format not in FORMATS:
        raise CheckpointError(path, f"unknown format {spec.format!r}")
    return spec
