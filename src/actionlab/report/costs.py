"""Inference cost that adds up: a feature-based run's clips/s includes extracting the features of a new video.

A run's own timing (timing.json `infer_clips_per_s`) times the model's forward pass on test batches, decoding
excluded. A feature-based run (features-mlp, features-lstm) reads its test features from its store, so its
forward pass is only the head; here the run's own extractor (decode + network, rebuilt from the run folder) is
timed on a few test videos, and the end-to-end rate is 1 / (1 / head rate + extraction seconds per video).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_VIDEOS = 4  # test videos extracted afresh (after one untimed warm-up) per feature-based run


@dataclass(frozen=True)
class InferenceCost:
    """The inference columns of one run."""

    clips_per_s: float | None  # end to end, as the results table shows it
    model_clips_per_s: float | None  # the run's own timing: its forward pass only
    extract_seconds_per_video: float | None  # feature-based runs only
    note: str


def extraction_seconds(run_dir: str | Path, paths: Sequence[str]) -> tuple[float, int] | None:
    """(mean seconds to extract one video, videos timed) over `paths`; None when the run has no extractor."""
    from actionlab.methods.evaluation import load_run
    from actionlab.methods.feature_inputs import StoredFeatures

    preset, _, o, rc = load_run(run_dir)
    reader = preset.reader(o, rc.classes, False, Path(run_dir), rc.extra)
    source = getattr(reader, "source", None)
    if not isinstance(source, StoredFeatures) or not paths:
        return None
    extractor = source.extractor()
    extractor.transform(Path(paths[0]))  # warm-up: first-call allocation and thread start are not per video
    timed = [Path(p) for p in paths[1 : 1 + SAMPLE_VIDEOS]] or [Path(paths[0])]
    start = time.perf_counter()
    for path in timed:
        extractor.transform(path)
    return (time.perf_counter() - start) / len(timed), len(timed)


def inference_cost(run_dir: str | Path, model_clips_per_s: float | None, test_paths: Sequence[str]) -> InferenceCost:
    """The run's clips/s, with feature extraction added for feature-based runs."""
    try:
        extract = extraction_seconds(run_dir, test_paths)
    except Exception as err:
        return InferenceCost(
            None, model_clips_per_s, None, f"extraction could not be timed ({type(err).__name__}: {str(err)[:120]})"
        )
    if extract is None:
        return InferenceCost(model_clips_per_s, model_clips_per_s, None, "model forward pass on test batches")
    seconds, count = extract
    head = 1 / model_clips_per_s if model_clips_per_s else 0.0
    return InferenceCost(
        1 / (head + seconds),
        model_clips_per_s,
        seconds,
        f"head {model_clips_per_s or 0:.1f} clips/s + feature extraction {seconds:.3f} s/video "
        f"(decode + network, timed on {count} test videos)",
    )
