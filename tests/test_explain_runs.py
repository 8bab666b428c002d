"""`actionlab explain` on real tiny runs: a 2D, a 3D, a flow and a two-stream run, each explained end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actionlab.cli import main
from actionlab.explain import Explainer, explain_run, guided_backprop, strip
from actionlab.methods import get_method
from actionlab.synth import scene
from actionlab.synth.scene import ClipSpec, render_clip
from media import write_video

TINY = {"epochs": 1, "size": 32, "width": 8, "workers": 0, "batch_size": 16}
OPTIONS = {
    "frame-cnn": {**TINY, "frames": 4, "epochs": 2},
    "clip3d": {**TINY, "frames": 4},
    "flow2p1d": {**TINY, "num_flows": 4},
}


@pytest.fixture(scope="module")
def runs(tiny, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny trained run per stream kind; two-stream reuses the frame-cnn and flow2p1d runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: a second thread only contends on the shared CPU
    root = tmp_path_factory.mktemp("explain-runs")
    out = {}
    try:
        for name, options in OPTIONS.items():
            get_method(name).train(tiny, root / name, options)
            out[name] = root / name
        get_method("two-stream").train(
            tiny,
            root / "two-stream",
            {"rgb_run": str(out["frame-cnn"]), "flow_run": str(out["flow2p1d"]), "epochs": 1, "workers": 0},
        )
        out["two-stream"] = root / "two-stream"
    finally:
        torch.set_num_threads(threads)
    return out


def _figure_clip(path: Path, label: int) -> tuple[Path, np.ndarray]:
    """A synthetic clip as a real video, and its figure's pixel mask per frame: the same clip rendered without
    the figure (draw_figure is the only drawing of it; background, camera and noise come from the clip's rng)."""
    spec = ClipSpec(seed=7, label=label, group=1, index=0, size=64)
    frames = render_clip(spec)
    original = scene.draw_figure
    scene.draw_figure = lambda *args, **kwargs: None
    try:
        background = render_clip(spec)
    finally:
        scene.draw_figure = original
    return write_video(path, frames), np.abs(frames.astype(np.int16) - background).sum(-1) > 30


def _lattice(energy: np.ndarray, period: int = 4) -> float:
    """Mean energy of the strongest phase of a period x period pixel lattice over the mean of all phases: 1 for a
    map without a grid, up to period**2 for isolated dots on a regular grid."""
    phases = np.array([[energy[:, i::period, j::period].mean() for j in range(period)] for i in range(period)])
    return float(phases.max() / phases.mean())


@pytest.mark.parametrize("name", ["frame-cnn", "clip3d", "flow2p1d", "two-stream"])
def test_explain_writes_grids_page_and_maps(runs, tiny, tmp_path, name) -> None:
    videos = [tiny.test[0].path, tmp_path / "missing.mp4"]
    result = explain_run(runs[name], videos, tmp_path / "out", frames=4)
    assert set(result.errors) == {str(videos[1])} and len(result.pngs) == 1
    for png in result.pngs.values():
        image = cv2.imread(str(png))
        assert image is not None and image.shape[0] > 96 and image.shape[1] > 4 * 96
    page = result.page.read_text()
    assert all(p.name in page for p in result.pngs.values()) and "missing.mp4" in page
    assert page.count("<tr><td>") == 5  # the top-5 scores of the explained video
    record = json.loads((tmp_path / "out" / "explain.json").read_text())
    assert record["method"] == name and record["frames"] == 4 and len(record["videos"]) == 2
    streams = result.explanations[0].streams
    assert [s.name for s in streams] == {"two-stream": ["rgb", "flow"], "flow2p1d": ["flow"]}.get(name, ["rgb"])
    for s in streams:
        assert len(s.labels) == len(s.frames) == 4 and s.frames.dtype == np.uint8
        for m in (s.activation, s.gradcam, s.guided):
            assert m.shape == s.frames.shape[:3] and np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1
        assert s.activation.std() > 1e-3 and s.guided.std() > 1e-3  # maps that vary over the picture
        assert s.gradcam.std() > 1e-3 or s.gradcam.max() == 0  # all zero only when no positive evidence


def test_guided_backprop_is_on_the_figure_not_a_dot_grid(runs, tmp_path) -> None:
    explainer = Explainer(runs["frame-cnn"], methods=("guided",), frames=6)
    ratios = []
    for label in (0, 6, 12):
        path, mask = _figure_clip(tmp_path / f"{label}.mp4", label)
        maps = explainer.explain(path).streams[0]
        energy = np.abs(maps.guided_grad).sum(axis=1)
        side = energy.shape[-1]
        shown = [int(text.split()[1]) for text in maps.labels]  # "frame 17": the frames the network read
        near = np.stack(
            [
                cv2.dilate(
                    cv2.resize(mask[i].astype(np.float32), (side, side), interpolation=cv2.INTER_AREA), np.ones((3, 3))
                )
                > 0.2
                for i in shown
            ]
        )
        ratios.append(energy[near].mean() / energy[~near].mean())
        assert _lattice(energy) < 1.5, "guided backprop energy sits on a regular pixel lattice"
    assert np.mean(ratios) > 1.5, ratios  # per pixel, the figure holds more of the gradient than the scene
    plain = Explainer(runs["frame-cnn"], methods=("guided",), frames=6, shifts=1).explain(path).streams[0]
    assert _lattice(np.abs(plain.guided_grad).sum(axis=1)) > _lattice(energy)  # what the shifts average out


def test_clip_guided_backprop_has_no_stride_lattice(runs, tiny) -> None:
    lattices = {}
    for k in (1, 16):
        maps = Explainer(runs["clip3d"], methods=("guided",), frames=None, shifts=k).explain(tiny.test[0].path)
        energy = np.abs(maps.streams[0].guided_grad).sum(axis=1)
        over_time = energy.mean(axis=(1, 2))
        lattices[k] = (_lattice(energy), float(over_time.max() / over_time.mean()))
    assert lattices[16][0] < min(2.0, lattices[1][0])  # isolated dots on a 4-px grid would give up to 16
    assert lattices[16][1] < 1.5 <= lattices[1][1]


def test_every_relu_gets_the_guided_backward() -> None:
    """Functional, in-place and module ReLUs: only positive gradients pass, where the unit was on."""
    a = torch.tensor([1.0, -1.0, 2.0, -2.0])
    b = torch.tensor([1.0, 1.0, -1.0, -1.0])

    class Net(nn.Module):
        def __init__(self, kind: str) -> None:
            super().__init__()
            self.kind, self.relu = kind, nn.ReLU(inplace=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = x * a
            h = {
                "functional": lambda: F.relu(h),
                "inplace": lambda: h.relu_(),
                "module": lambda: self.relu(h),
                "torch": lambda: torch.relu(h),
            }[self.kind]()
            return torch.stack([(h * b).sum(1), -(h * b).sum(1)], 1)

    x = torch.tensor([[1.0, -1.0, -1.0, 1.0]])  # a * x > 0 for the first three units only
    want = a * b.clamp_min(0) * (a * x > 0)
    for kind in ("functional", "inplace", "module", "torch"):
        assert torch.allclose(torch.from_numpy(guided_backprop(Net(kind), x, 0)), want), kind


def test_cli_explain_and_strip(runs, tiny, tmp_path, capsys) -> None:
    v = [str(tiny.test[1].path), str(tiny.test[2].path)]
    label = tiny.classes[tiny.test[1].label]
    assert (
        main(
            [
                "explain",
                str(runs["clip3d"]),
                *v,
                "--out",
                str(tmp_path / "e"),
                "--method",
                "gradcam",
                "--class",
                label,
                "--frames",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"explaining {label}" in out and "page:" in out
    record = json.loads((tmp_path / "e" / "explain.json").read_text())
    assert record["maps"] == ["gradcam"] and record["class"] == label
    assert all(entry["explained"] == label for entry in record["videos"])
    assert main(["explain", str(runs["clip3d"]), v[0], "--out", str(tmp_path / "x"), "--class", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["explain", str(runs["clip3d"]), str(tmp_path / "empty"), "--out", str(tmp_path / "y")]) == 1
    assert not (tmp_path / "y" / "index.html").exists()

    png = strip(
        runs["two-stream"],
        [tmp_path / "missing.mp4", *v],
        tmp_path / "strip.png",
        true_labels=["x", tiny.classes[tiny.test[1].label], tiny.classes[tiny.test[2].label]],
        max_videos=2,
        frames=3,
    )
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] >= 2 * (2 * 80 + 20)  # two videos, frame row + Grad-CAM row each


def test_explain_and_predict_of_our_own_networks_skip_torchvision(runs, tiny, tmp_path) -> None:
    """A clip3d run's explain and predict, in a fresh interpreter, never import torchvision (~2 s of start-up that
    goes to torch._dynamo through torchvision.ops): the explain time goal depends on it."""
    video = str(tiny.test[0].path)
    code = (
        "import sys\nfrom actionlab.cli import main\n"
        f"assert main(['explain', {str(runs['clip3d'])!r}, {video!r}, '--out', {str(tmp_path / 'e')!r}]) == 0\n"
        f"assert main(['predict', {str(runs['clip3d'])!r}, {video!r}]) == 0\n"
        "print('torchvision' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "e" / "index.html").is_file()
