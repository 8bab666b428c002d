"""Shared fixtures: every test runs with its own actionlab cache so nothing leaks between tests or into ~/.cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

REAL_CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "real-clips"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path_factory.getbasetemp() / "actionlab-cache"))


@pytest.fixture
def real_clips() -> Path:
    """The folder of real-world clips beside the checkout; the test is skipped when it is absent."""
    if not REAL_CLIPS.is_dir():
        pytest.skip("../shared/real-clips is not present")
    return REAL_CLIPS


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic set's folder, 3 clips per class at 64 px (real h264 files), generated once per session.

    Tests only read it: one that adds or breaks files makes its own set."""
    from actionlab.synth import generate

    return generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=1)


@pytest.fixture(scope="session")
def tiny(tiny_root: Path):
    """`tiny_root` indexed as a folder dataset."""
    from actionlab.data import dataset_from_spec

    return dataset_from_spec(f"folder:{tiny_root}")
