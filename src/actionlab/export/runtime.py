"""Running an exported ONNX network with onnxruntime through actionlab's own reader and evaluator.

`predict_exported` rebuilds the run's reader from the spec's recorded config and hands an onnxruntime
session, wrapped as an nn.Module, to `evaluation.score_samples`: sampling, decoding, normalisation, batching
and the views average are the eager path's own code, only the network differs. TorchScript files are written
for users' deployments but never loaded by actionlab from an unknown source: a TorchScript archive holds code,
an ONNX graph is data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from actionlab.data.dataset import Sample
from actionlab.errors import CheckpointError, ConfigError
from actionlab.export.spec import ExportSpec, read_spec, spec_path
from actionlab.methods.base import Predictions


def cpu_threads() -> int:
    """The cores this process may use (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def ort_session(path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session: intra-op threads = usable cores, one inter-op thread, all graph
    optimisations (the networks are one sequential chain, so parallel execution of branches gains nothing)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or cpu_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors for a bad file
        raise CheckpointError(path, f"onnxruntime cannot load it ({str(err).splitlines()[0][:160]})") from None


class OrtModule(nn.Module):
    """An onnxruntime session that answers like the eager network: tensors in, logits tensor out."""

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.names = [i.name for i in session.get_inputs()]

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        feeds = {n: np.ascontiguousarray(x.detach().cpu().float().numpy()) for n, x in zip(self.names, inputs)}
        return torch.from_numpy(self.session.run(None, feeds)[0])


def exported_for_run(run_dir: Path) -> Path:
    """The run's network exported to ONNX once, cached by the hash of its weights and config."""
    from actionlab.cache import cache_dir
    from actionlab.export.writer import export_run

    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        try:
            digest.update((run_dir / name).read_bytes())
        except OSError as err:
            raise CheckpointError(run_dir / name, f"cannot read ({err.strerror or err})") from None
    target = cache_dir("export", digest.hexdigest()[:20]) / "model.onnx"
    if not (target.is_file() and spec_path(target).is_file()):
        export_run(run_dir, "onnx", target)
    return target


def load_exported(source: str | Path) -> tuple[ExportSpec, Path]:
    """(spec, .onnx file) for an exported file or a run folder (exported on first use)."""
    source = Path(source)
    if source.is_dir():
        from actionlab.export.writer import check_exportable
        from actionlab.methods.runs import RunConfig

        rc = RunConfig.read(source)
        check_exportable(rc.method, bool(rc.datasets), source)
        source = exported_for_run(source)
    spec = read_spec(source)
    if spec.format != "onnx":
        raise ConfigError(
            source,
            f"--backend onnxruntime runs .onnx files; this is a {spec.format} export "
            "(actionlab does not load TorchScript: it holds code)",
        )
    return spec, source


def predict_exported(source: str | Path, paths: Sequence[str | Path]) -> Predictions:
    """Video-level scores of `paths` by the exported network, through the run's own reader and views."""
    from actionlab.methods import get_method
    from actionlab.methods.evaluation import make_reader, score_samples

    spec, file = load_exported(source)
    cfg = spec.actionlab
    preset = get_method(cfg["method"])
    o = preset.Options.restore(cfg["options"], where=str(spec_path(file)))
    classes, extra = list(cfg["classes"]), dict(cfg["extra"])
    reader = make_reader(preset, o, classes, False, file.parent, extra, [])
    model = OrtModule(ort_session(file))
    samples = [Sample(Path(p), 0) for p in paths]
    views, kept, errors, _ = score_samples(preset, model, o, samples, classes, file.parent, extra, False, reader)
    return Predictions(classes, scores={str(s.path): views["video"][i] for i, s in enumerate(kept)}, errors=errors)
