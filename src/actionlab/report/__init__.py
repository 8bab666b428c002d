"""results.json and the self-contained HTML report of a `compare` run.

Public API:

- `validate_results(results: dict) -> dict`: checks the results.json schema, raising `ConfigError` that names
  the missing or malformed key. Required: `dataset.name`, `dataset.classes`, `methods[].name`, `methods[].top1`.
  Optional per method: top5, mean_class_acc, per_class, confusion, train_seconds, infer_clips_per_s, params,
  model_mb, history (list of per-epoch dicts with train_loss, train_acc, val_loss, val_acc, lr).
- `load_results(path) -> dict` and `write_results_json(path, results)` (atomic: temp file + os.replace).
- `write_report(results: dict | Path, out_html, *, histories=None, features=None, title=..., baseline="frame-cnn")`
  writes ONE HTML file with inline CSS and base64-embedded PNG plots (matplotlib, Agg backend).
  `histories` maps method -> history (overrides `history` in results); `features` maps a name ->
  `(X (N, D), y (N,))` drawn as a t-SNE scatter.
- `plots`: `confusion_png`, `curves_png`, `f1_bars_png`, `tsne_png`, `comparison_png` each return PNG bytes.
"""

from actionlab.report.html import write_report
from actionlab.report.results import load_results, validate_results, write_results_json

__all__ = ["load_results", "validate_results", "write_report", "write_results_json"]
