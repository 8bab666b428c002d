"""Describe a run's reader as InputSpecs: what each network input holds, read from the reader objects."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from actionlab.errors import ConfigError
from actionlab.export.spec import InputSpec, ViewsSpec
from actionlab.methods.preset import Preset

LAYOUTS = {"3d": ("N C T H W", 2), "2d": ("N T C H W", 1), "frame": ("N C H W", None)}
RGB_VALUES = (
    "RGB frames decoded in full, resized to size x size (OpenCV INTER_AREA), x / 255, then (x - mean) / std per channel"
)


def _plan(plan: Any) -> dict[str, Any]:
    """The frame-index plan as data (its class name and fields)."""
    fields = asdict(plan) if is_dataclass(plan) and not isinstance(plan, type) else {}
    return {"plan": type(plan).__name__, **fields, "test_mode": "deterministic (no random offsets)"}


def _frames(reader: Any, name: str, shape: list[int], outer_views: bool) -> InputSpec:
    """A FrameReader's input; `outer_views`: the shape keeps a views axis after the batch (two-stream)."""
    layout, t_axis = LAYOUTS[reader.layout]
    if outer_views:
        layout = layout.replace("N ", "N V ", 1)
        t_axis = None if t_axis is None else t_axis + 1
    frames = 1 if t_axis is None else int(shape[t_axis])
    mean, std = (list(map(float, v)) for v in reader.norm)
    return InputSpec(
        name,
        ["batch", *shape[1:]],
        layout,
        "RGB",
        frames=frames,
        size=int(reader.size),
        mean=mean,
        std=std,
        values=RGB_VALUES,
        sampler=_plan(reader.indices),
    )


def _flow(reader: Any, name: str, shape: list[int], outer_views: bool) -> InputSpec:
    """A FlowReader's input: stacked optical flow fields."""
    from actionlab.methods.flow import BOUND, SCALE

    cfg = dict(reader.extractor.config)
    layout = "N V C T H W" if outer_views else "N C T H W"
    values = (
        f"optical flow {cfg['name']} (OpenCV) between window frames resized to size x size, in pixels "
        f"clipped to +-{BOUND}, quantised to uint8 and back, divided by {SCALE}"
    )
    return InputSpec(
        name,
        ["batch", *shape[1:]],
        layout,
        "flow dx,dy",
        frames=int(cfg["num_flows"]),
        size=int(reader.extractor.config["size"][0]),
        values=values,
        sampler={"plan": "FlowWindowSampler", "num_flows": cfg["num_flows"], "step": cfg["step"], "pad": "mirror"},
    )


def _one(reader: Any, name: str, shape: list[int], outer_views: bool = False) -> InputSpec:
    from actionlab.methods.flow import FlowReader
    from actionlab.methods.inputs import FrameReader

    if isinstance(reader, FrameReader):
        return _frames(reader, name, shape, outer_views)
    if isinstance(reader, FlowReader):
        return _flow(reader, name, shape, outer_views)
    raise ConfigError(None, f"inputs read by {type(reader).__name__} are not described for export")


def describe_inputs(reader: Any, shapes: list[list[int]]) -> list[InputSpec]:
    """InputSpecs for the model inputs of `reader` whose flattened shapes are `shapes`."""
    from actionlab.methods.two_stream import PairReader

    if isinstance(reader, PairReader):
        return [_one(reader.rgb, "rgb", shapes[0], True), _one(reader.flow, "flow", shapes[1], True)]
    return [_one(reader, "frames" if len(shapes) == 1 else f"input{i}", s) for i, s in enumerate(shapes)]


def describe_views(preset: Preset, per_video: int) -> ViewsSpec:
    """How per-view scores become the video score, as the preset's views() computes it."""
    from actionlab.methods.frames import FrameCNN

    if isinstance(preset, FrameCNN) and per_video > 1:
        return ViewsSpec(
            per_video,
            f"mean of softmax(logits) over views 1..{per_video - 1} (one frame per segment)",
            1,
            {"single_frame": "softmax(logits) of view 0 (middle frame)"},
        )
    if type(preset).views is not Preset.views:
        raise ConfigError(None, f"{preset.name}: its views are combined in a way export does not describe")
    return ViewsSpec(per_video, f"mean of softmax(logits) over the {per_video} view(s)")
