"""predict: top-k labels per video from a run dir, tolerant of bad files (they are listed, not fatal).

Outputs: `render(best, errors, fmt)` as text, json (one object), jsonl (one object per video) or csv (one row
per video and rank); the long-video timeline is actionlab.timeline.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from actionlab.errors import ConfigError
from actionlab.methods.base import Predictions

VIDEO_EXTS = {
    ".mp4",
    ".avi",
    ".mkv",
    ".mov",
    ".webm",
    ".mpg",
    ".mpeg",
    ".m4v",
    ".wmv",
    ".flv",
    ".ogv",
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
}
FORMATS = ("text", "json", "jsonl", "csv")
Ranked = dict[str, list[tuple[str, float]]]


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given; folders expanded (recursively) to their media files, sorted."""
    out: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            out.extend(sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTS))
        else:
            out.append(item)
    return out


def method_runs(folder: Path) -> list[tuple[str, str]]:
    """(subfolder name, method) of the run folders directly inside `folder` (a compare's output)."""
    out = []
    for config in sorted(folder.glob("*/config.json")):
        try:
            method = json.loads(config.read_text()).get("method") or "?"
        except (OSError, ValueError, AttributeError):
            method = "?"
        out.append((config.parent.name, str(method)))
    return out


def run_method_name(run_dir: str | Path) -> str:
    """The method a run dir was trained with; ConfigError when it is not a run (listing a compare's runs)."""
    from actionlab.methods.runs import CONFIG, RunConfig

    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        runs = method_runs(run_dir) if run_dir.is_dir() else []
        if runs:
            names = ", ".join(name for name, _ in runs)
            methods = ", ".join(f"{name} {method}" for name, method in runs)
            raise ConfigError(
                run_dir,
                f"not a run folder (no {CONFIG}); it holds runs {names}: pass one of those "
                f"subfolders (methods: {methods}), e.g. {run_dir / runs[0][0]}",
            )
    return RunConfig.read(run_dir).method


def check_device(device: str | None) -> None:
    """ConfigError for a device that is not auto, cpu, cuda or cuda:N, or CUDA asked where there is none."""
    if device is None:
        return
    import re

    if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", device):
        raise ConfigError(None, f"--device must be auto, cpu, cuda or cuda:N, not {device!r}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(None, f"--device {device}: no CUDA device is available here (use cpu or auto)")


def predict_paths(run_dir: str | Path, inputs: Sequence[str | Path], *, device: str | None = None) -> Predictions:
    """Scores for every readable video under `inputs`, reasons for the others (on `device`: default the run's)."""
    from actionlab.methods.evaluation import predict_run

    run_method_name(run_dir)  # a one-line error (with the compare hint) before anything loads
    check_device(device)
    return predict_run(Path(run_dir), expand_inputs(inputs), device=device)


def top_k(pred: Predictions, k: int = 5) -> Ranked:
    """(label, score) pairs, best first, per path."""
    return {p: [(pred.classes[i], float(s[i])) for i in s.argsort()[::-1][:k]] for p, s in pred.scores.items()}


def render(best: Ranked, errors: dict[str, str], fmt: str) -> str:
    """The predictions as `fmt` (FORMATS); errors appear in json/jsonl (text and csv leave them to stderr)."""
    if fmt == "json":
        return (
            json.dumps(
                {
                    "predictions": {p: [{"label": lb, "score": s} for lb, s in r] for p, r in best.items()},
                    "errors": errors,
                },
                indent=2,
            )
            + "\n"
        )
    if fmt == "jsonl":
        rows = [{"path": p, "top": [{"label": lb, "score": s} for lb, s in r]} for p, r in best.items()]
        rows += [{"path": p, "error": reason} for p, reason in errors.items()]
        return "".join(json.dumps(row) + "\n" for row in rows)
    if fmt == "csv":
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(["path", "rank", "label", "score"])
        for path, ranked in best.items():
            out.writerows([path, i + 1, lb, f"{s:.6f}"] for i, (lb, s) in enumerate(ranked))
        return buf.getvalue()
    if fmt == "text":
        return "".join(f"{p}: " + ", ".join(f"{lb} {s:.3f}" for lb, s in r) + "\n" for p, r in best.items())
    raise ConfigError(None, f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
