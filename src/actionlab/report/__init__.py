"""results.json and the self-contained HTML report of a `compare` run.

Public API:

- `validate_results(results: dict) -> dict`: checks the results.json schema, raising `ConfigError` that names
  the missing or malformed key. Required: `dataset.name`, `dataset.classes`, `methods[].name`, `methods[].top1`.
  Optional per method: top5/top10, single_frame_top1/5/10, mean_class_acc, per_class, confusion,
  single_frame_confusion, train_top1, val_top1, final_train_loss, epochs_run, best_epoch, stop_reason,
  train_seconds, wall_seconds, reuses, infer_clips_per_s (+ model_clips_per_s, extract_seconds_per_video,
  infer_note), params, model_mb, options, skipped, run_dir, history (per-epoch dicts: train_loss, train_acc,
  val_loss, val_acc, lr). Optional top level: failed {method: error}, skipped {path: {reason, methods}},
  significance (collect.significance), provenance (provenance.provenance), dataset.counts/examples/split.
- `load_results(path) -> dict` and `write_results_json(path, results)` (atomic: temp file + os.replace).
- `write_report(results: dict | Path, out_html, *, histories=None, features=None, title=..., baseline=None,
  method_extras=None)` writes ONE HTML file with inline CSS and base64-embedded PNG plots (matplotlib, Agg).
  `features` maps a method name -> `(X (N, D), y (N,))` drawn as a t-SNE scatter; without it each method's
  run_dir/embeddings.npz is used.
- `plots`: `confusion_png`, `curves_png`, `f1_bars_png`, `tsne_png`, `comparison_png` each return PNG bytes.
"""

from actionlab.report.html import write_report
from actionlab.report.results import load_results, validate_results, write_results_json

__all__ = ["load_results", "validate_results", "write_report", "write_results_json"]
