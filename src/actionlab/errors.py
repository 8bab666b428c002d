"""Typed errors that carry the file and the reason, so the CLI can print one line per problem."""

from __future__ import annotations

from pathlib import Path


class ActionlabError(Exception):
    """Base error: `path` is the file (or None) and `reason` says what is wrong and, where possible, what to do."""

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class VideoError(ActionlabError):
    """A video or image cannot be read (missing, empty, damaged, not a video, too large, ...)."""


class DatasetError(ActionlabError):
    """A dataset or annotation file is unusable."""


class FeatureError(ActionlabError):
    """Feature extraction or the feature store failed."""


class ConfigError(ActionlabError):
    """A user-supplied option, name or spec is invalid."""


class CheckpointError(ActionlabError):
    """A checkpoint or weight file cannot be loaded."""
