"""The full demo (goal check): temporal methods >= 95 %, frame-level ones fail on the time-reversal pairs. Slow.

The demo's time budget (<= 5 minutes on 2 cores) is measured from the command line, not asserted here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from actionlab.cli import main

REVERSAL_PAIRS = [("sit_down", "stand_up"), ("raise_arms", "lower_arms"), ("walk_left", "walk_right")]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_demo_goals(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    methods = {m["name"]: m for m in results["methods"]}
    from actionlab.cli.demo import DEMO_METHODS

    assert set(methods) == set(DEMO_METHODS) and len(methods) >= 6
    assert max(m["top1"] for m in methods.values() if m["temporal"]) >= 0.95
    paired = [c for pair in REVERSAL_PAIRS for c in pair]

    def pair_recall(name: str) -> float:
        return float(np.mean([methods[name]["per_class"][c]["recall"] for c in paired]))

    # single frames cannot order a motion; the 3D and flow presets can (lrcn, a 2D CNN per frame trained from
    # scratch, does not converge within the demo's budget and is not claimed here)
    frame_level = max(pair_recall("frame-cnn"), pair_recall("late-fusion"))
    for name in ("clip3d", "flow2p1d", "two-stream"):
        assert pair_recall(name) > frame_level + 0.5, (name, pair_recall(name), frame_level)
    report = (tmp_path / "demo" / "report.html").read_text()
    assert "frame-cnn" in report and "two-stream" in report and "<img" in report
