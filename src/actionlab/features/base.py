"""FeatureArray, the extractor base class and the config hash that keys a feature store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actionlab.errors import FeatureError


@dataclass(frozen=True)
class FeatureArray:
    """Features of one video: `values` (N x ...), the frame `indices` they came from, and the video's `fps`."""

    values: np.ndarray
    indices: np.ndarray
    fps: float


def config_hash(config: dict[str, Any]) -> str:
    """Short stable hash of a JSON-able config: a changed option gives a different store."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Extractor:
    """Base: subclasses set `config` (JSON-able) and implement `transform(path)`.

    Extractors read each video with one decoding thread (`read_frames(..., threads=1)`): extract() and the
    methods run several videos, or the network, at the same time, so more threads per read would oversubscribe.
    """

    needs_fit: bool = False
    config: dict[str, Any]

    def fit(self, paths: list[Path]) -> None:
        """Learn from training videos; a no-op for extractors with nothing to fit."""

    def transform(self, path: str | Path) -> FeatureArray:
        """Return the features of one video."""
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        """Arrays learned by fit() that the store keeps so a rerun need not refit."""
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore arrays saved by state()."""

    @property
    def slug(self) -> str:
        """Folder-safe name used by the store."""
        return str(self.config["name"]).replace(":", "-").replace("/", "-")


def check_options(name: str, options: dict[str, Any], allowed: set[str]) -> None:
    """Raise a clear error for an unknown option instead of silently ignoring it."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise FeatureError(None, f"extractor {name!r} has no option(s) {unknown}; known: {sorted(allowed)}")
