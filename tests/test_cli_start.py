"""`actionlab --help` and `actionlab VERB --help` must not import torch (or other heavy libraries): fast start."""

from __future__ import annotations

import json
import subprocess
import sys

# In a fresh interpreter: the help of the top level and of every verb, then which heavy modules each one loaded.
PROBE = r"""
import contextlib, io, json, sys
from actionlab.cli import build_parser, main

HEAVY = ("torch", "torchvision", "cv2", "av", "sklearn", "matplotlib", "h5py", "ray", "onnxruntime", "fastapi")
parser = build_parser()
verbs = sorted(next(a for a in parser._actions if a.dest == "verb").choices)
loaded = {}
for argv in [["--help"]] + [[verb, "--help"] for verb in verbs]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(argv)
        except SystemExit:
            pass
    assert "usage:" in out.getvalue(), argv
    loaded[" ".join(argv)] = [name for name in HEAVY if name in sys.modules]
print(json.dumps({"verbs": verbs, "loaded": loaded}))
"""


def test_help_of_every_verb_imports_no_torch() -> None:
    """Every --help runs without importing torch, OpenCV, PyAV, scikit-learn or matplotlib."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"train", "compare", "predict", "demo", "cache"} <= set(report["verbs"])
    heavy = {argv: names for argv, names in report["loaded"].items() if names}
    assert not heavy, f"--help imported heavy modules: {heavy}"


def test_import_actionlab_is_light() -> None:
    """`import actionlab` loads no torch until an API name is used; the names resolve then."""
    code = (
        "import sys, actionlab; light = 'torch' not in sys.modules; "
        "names = [callable(getattr(actionlab, n)) for n in actionlab.__all__]; "
        "print(light, all(names), 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
