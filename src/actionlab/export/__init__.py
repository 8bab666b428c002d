"""Exporting a run's network (ONNX, TorchScript) with an input specification, and running ONNX exports.

See docs/EXPORT.md. `export_run(run_dir, "onnx", "model.onnx")` writes model.onnx + model.json;
`predict_exported(file_or_run, videos)` scores videos with onnxruntime through the run's own reader.
"""

from actionlab.export.runtime import load_exported, ort_session, predict_exported
from actionlab.export.spec import ExportSpec, InputSpec, ViewsSpec, read_spec, spec_path
from actionlab.export.writer import NOT_EXPORTABLE, export_run

__all__ = [
    "ExportSpec",
    "InputSpec",
    "NOT_EXPORTABLE",
    "ViewsSpec",
    "export_run",
    "load_exported",
    "ort_session",
    "predict_exported",
    "read_spec",
    "spec_path",
]
