"""`export_run`: a run's network as ONNX (torch.export-based exporter) or TorchScript, plus its input spec.

The example inputs come from the run's own reader on a real encoded clip (given, or a synthetic clip rendered
and encoded into a temporary folder), so shapes, normalisation and sampling are exactly what predict feeds.
The exported file is checked against the eager network on that clip before the spec is written: the largest
absolute logit difference is recorded, and above 1e-4 the export fails instead of writing a wrong file.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.atomic import atomic_write, write_json
from actionlab.data.dataset import Sample
from actionlab.errors import CheckpointError, ConfigError
from actionlab.export.describe import describe_inputs, describe_views
from actionlab.export.spec import FORMATS, SUFFIX, ExportSpec, spec_path
from actionlab.methods.evaluation import load_run, make_reader

TOLERANCE = 1e-4
# Presets whose network input is not decoded video: what export says instead of writing a file.
NOT_EXPORTABLE = {
    "features-mlp": "its network is an MLP on stored feature vectors (sift-bow is no network, cnn extractors "
    "are separate): export does not cover the extractor; run it with `actionlab predict RUN`",
    "features-lstm": "its network is an LSTM on stored, standardised feature sequences of variable length: "
    "export does not cover the extractor; run it with `actionlab predict RUN`",
}


def check_exportable(method: str, joint: bool, where: Any) -> None:
    """ConfigError (one line) for a run that cannot be exported."""
    if method in NOT_EXPORTABLE:
        raise ConfigError(where, f"{method} cannot be exported: {NOT_EXPORTABLE[method]}")
    if joint:
        raise ConfigError(
            where,
            "a joint run (several datasets, one head each) cannot be exported: its heads "
            "pick per video by dataset id; run it with `actionlab predict RUN`",
        )


def render_check_clip(folder: Path, size: int) -> Path:
    """A synthetic action clip (real h264) written into `folder`: the default parity clip."""
    from actionlab.synth.encode import write_video
    from actionlab.synth.scene import ClipSpec, render_clip

    frames = render_clip(ClipSpec(seed=0, label=0, group=1, index=0, size=max(64, size)))
    path = folder / "check.mp4"
    write_video(path, frames, 25)
    return path


def _as_tuple(x: Any) -> tuple[torch.Tensor, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class _Pair(nn.Module):
    """Two named positional inputs: torch.export matches dynamic shapes to the signature, and the networks'
    `forward(x, *rest)` would nest the second input's shape in a tuple."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return self.net(rgb, flow)


def _export_onnx(model: nn.Module, example: tuple[torch.Tensor, ...], names: list[str], target: Path) -> None:
    """torch.onnx (dynamo) with a dynamic batch axis; traced on 2 rows (a size-1 axis would be specialised)."""
    if len(example) == 2:
        model = _Pair(model)
    elif len(example) != 1:
        raise ConfigError(None, f"a network of {len(example)} inputs is not exported (1 or 2 are)")
    doubled = tuple(torch.cat([x, x]) for x in example)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            doubled,
            str(target),
            dynamo=True,
            external_data=False,
            input_names=names,
            output_names=["logits"],
            dynamic_shapes=tuple({0: batch} for _ in doubled),
        )


def _export_torchscript(model: nn.Module, example: tuple[torch.Tensor, ...], target: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, example, check_trace=False)
        torch.jit.save(traced, str(target))


def _run_exported(fmt: str, path: Path, example: tuple[torch.Tensor, ...]) -> np.ndarray:
    """Logits of the written file on `example` (our own file, just written: loading it runs nothing foreign)."""
    if fmt == "onnx":
        from actionlab.export.runtime import ort_session

        sess = ort_session(path)
        feeds = {i.name: x.numpy() for i, x in zip(sess.get_inputs(), example)}
        return sess.run(None, feeds)[0]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        return torch.jit.load(str(path)).eval()(*example).numpy()


def export_run(run_dir: str | Path, fmt: str, out: str | Path, check_video: str | Path | None = None) -> ExportSpec:
    """Write the run's network to `out` and its spec beside it; returns the spec."""
    run_dir, out = Path(run_dir), Path(out)
    if fmt not in FORMATS:
        raise ConfigError(None, f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if out.suffix != SUFFIX[fmt]:
        raise ConfigError(
            out, f"a {fmt} file is named *{SUFFIX[fmt]} (its spec goes beside it as {spec_path(out).name})"
        )
    preset, model, o, rc = load_run(run_dir)
    check_exportable(rc.method, bool(rc.datasets), run_dir)
    reader = make_reader(preset, o, rc.classes, False, run_dir, rc.extra, [])
    with tempfile.TemporaryDirectory(prefix="actionlab-export-") as tmp:
        clip = Path(check_video) if check_video else render_check_clip(Path(tmp), getattr(o, "size", 64))
        example = _as_tuple(reader(Sample(clip, 0), None)[0])
    per_video = len(example[0])
    inputs = describe_inputs(reader, [list(x.shape) for x in example])
    views = describe_views(preset, per_video)
    model = model.float().eval()
    with torch.no_grad():
        eager = model(*example).numpy()
    if fmt == "onnx":
        atomic_write(out, lambda tmp: _export_onnx(model, example, [i.name for i in inputs], tmp))
    else:
        atomic_write(out, lambda tmp: _export_torchscript(model, example, tmp))
    diff = float(np.abs(_run_exported(fmt, out, example) - eager).max())
    if not diff <= TOLERANCE:
        out.unlink(missing_ok=True)
        raise CheckpointError(
            out,
            f"exported network differs from the eager one by {diff:.2e} (> {TOLERANCE}) "
            "on the check clip; nothing written",
        )
    spec = ExportSpec(
        fmt,
        out.name,
        rc.method,
        list(rc.classes),
        inputs,
        {"name": "logits", "shape": ["batch", len(rc.classes)], "meaning": "class logits per view"},
        views,
        diff,
        str(check_video) if check_video else "synthetic clip (actionlab.synth)",
        {"method": rc.method, "classes": list(rc.classes), "options": rc.options, "extra": rc.extra},
    )
    write_json(spec_path(out), spec.to_dict())
    return spec
