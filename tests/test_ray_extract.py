"""`extract --engine ray`: the same features as a local run, bad videos skipped and listed, a killed driver resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from actionlab.cli import main
from actionlab.data import dataset_from_spec
from actionlab.features import create_extractor, extract
from actionlab.features.store import FeatureStore

ray = pytest.importorskip("ray")

FEATURES = "cnn2d:resnet18"
SMALL = {"num_frames": 3, "size": 32, "bf16": False}


@pytest.fixture(scope="module")
def local_ray():
    """One 2-CPU local Ray for the module: RayEngine joins it instead of starting its own."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
        runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}},
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """A small synthetic set (2 clips per class) with one broken video in its training split."""
    from actionlab.synth import generate

    root = generate(tmp_path_factory.mktemp("rayset") / "set", num_clips_per_class=2, size=48, seed=3)
    first = sorted((root / "train").iterdir())[0]
    (first / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    return root


def _values(store: Path, dataset) -> dict[str, np.ndarray]:
    opened = FeatureStore(store)
    return {
        str(s.path): opened.get(s, normalize=False).values
        for s in dataset.train + dataset.test
        if str(s.path) not in opened.skipped
    }


def test_ray_features_equal_local_and_bad_video_listed(local_ray, videos, tmp_path):
    from actionlab.features.ray_engine import RayEngine

    dataset = dataset_from_spec(f"folder:{videos}")
    here = extract(dataset, create_extractor(FEATURES, **SMALL), tmp_path / "local", progress=False)
    there = extract(
        dataset, create_extractor(FEATURES, **SMALL), tmp_path / "ray", progress=False, engine=RayEngine(workers=2)
    )
    assert there.done == here.done > 0
    assert [p for p, _ in there.skipped] == [p for p, _ in here.skipped] and "broken.mp4" in there.skipped[0][0]
    a, b = _values(here.store, dataset), _values(there.store, dataset)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a), "fp32 features differ between local and ray"
    again = extract(
        dataset, create_extractor(FEATURES, **SMALL), tmp_path / "ray", progress=False, engine=RayEngine(workers=2)
    )
    assert again.done == 0 and again.already == here.done


def test_cli_ray_killed_driver_resumes(videos, tmp_path):
    store = tmp_path / "store"
    args = ["extract", "--dataset", f"folder:{videos}", "--features", FEATURES, "--precision", "fp32"]
    args += ["--store", str(store), "--engine", "ray", "--workers", "2", "--no-progress"]
    cmd = [sys.executable, "-m", "actionlab", *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(store.glob("*/*/items/[!.]*.npz")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started
    proc.wait()
    finished = {p.name for p in store.glob("*/*/items/[!.]*.npz")}
    assert finished, "no shard was written before the kill"
    rc = main(args)
    assert rc == 0
    assert finished <= {p.name for p in store.glob("*/*/items/[!.]*.npz")}, "a finished shard was recomputed"
    dataset = dataset_from_spec(f"folder:{videos}")
    total = len(dataset.train) + len(dataset.test)  # the broken video included: it is stored as skipped
    opened = FeatureStore(next(store.glob("*/*")))
    assert len(opened.keys()) + len(opened.skipped) == total


def test_address_needs_ray_engine(videos, capsys):
    rc = main(["extract", "--dataset", f"folder:{videos}", "--features", FEATURES, "--address", "auto"])
    assert rc == 2 and "--engine ray" in capsys.readouterr().err
