"""The wheel: it builds, holds the package, declares ranges (not pins), and installs beside an existing torch."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once (no isolation: offline, with this environment's setuptools)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (path,) = out.glob("actionlab-*.whl")
    return path


def _metadata(wheel: Path) -> tuple[list[str], list[Requirement]]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    return names, [Requirement(r) for r in Parser().parsestr(meta).get_all("Requires-Dist")]


def test_wheel_holds_the_package_and_declares_ranges(wheel: Path) -> None:
    """Every module of src/actionlab is in the wheel; torch/torchvision are ranges; the console script exists."""
    names, requires = _metadata(wheel)
    source = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / "actionlab").rglob("*.py")}
    assert source <= set(names), sorted(source - set(names))[:5]
    base = {r.name: r for r in requires if r.marker is None}
    for name, other in (("torch", "2.5.0"), ("torchvision", "0.20.0")):
        spec = base[name].specifier
        assert not any(s.operator == "==" for s in spec), f"{name} is pinned: {spec}"
        assert spec.contains(other) and not spec.contains("3.0.0" if name == "torch" else "1.0.0"), spec
    with zipfile.ZipFile(wheel) as zf:
        entry = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "actionlab = actionlab.cli:run" in entry


def _fake_installed(site_dir: Path, name: str, version: str) -> None:
    """A dist-info with metadata only: pip sees `name==version` as installed."""
    info = site_dir / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")


def _venv(path: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return python, Path(purelib)


def test_install_keeps_another_torch(wheel: Path, tmp_path: Path) -> None:
    """In an env with torch 2.5.0 (and every other dependency at its lower bound) pip would install only actionlab."""
    python, purelib = _venv(tmp_path / "env")
    _, requires = _metadata(wheel)
    others = {"torch": "2.5.0", "torchvision": "0.20.0"}
    for req in (r for r in requires if r.marker is None):
        low = next((s.version for s in req.specifier if s.operator == ">="), "1.0")
        _fake_installed(purelib, req.name, others.get(req.name, low))
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--dry-run",
            "--no-index",
            "--quiet",
            "--report",
            str(report),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    installs = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert installs == ["actionlab"]


def test_installed_wheel_runs(wheel: Path, tmp_path: Path) -> None:
    """The wheel installed into a fresh venv (dependencies borrowed from this env) answers the CLI and the API."""
    python, purelib = _venv(tmp_path / "env")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # this env's site-packages on PYTHONPATH provide torch & co; its editable actionlab is not seen from there
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(site.getsitepackages()), "ACTIONLAB_CACHE": str(tmp_path / "c")}
    code = (
        "import actionlab, actionlab.cli as c; print(actionlab.__file__); "
        f"c.main(['synth', {str(tmp_path / 'set')!r}, '--clips-per-class', '1', '--size', '32'])"
    )
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert str(purelib) in run.stdout.splitlines()[0]
    assert list((tmp_path / "set").rglob("*.mp4"))
    helped = subprocess.run(
        [str(tmp_path / "env" / "bin" / "actionlab"), "--help"], capture_output=True, text=True, timeout=120, env=env
    )
    assert helped.returncode == 0 and "usage: actionlab" in helped.stdout
