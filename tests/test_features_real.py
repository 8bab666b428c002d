"""Extractors on the real-world clips beside the checkout, and a finetuned actionlab run directory (workflow C)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from actionlab.features import create_extractor
from media import write_video
from test_features import moving_square


def test_cnn2d_and_flow_on_real_clips(real_clips: Path) -> None:
    cnn = create_extractor("cnn2d:resnet18", num_frames=2, size=32, device="cpu")
    flow = create_extractor("flow:dis", num_flows=2, size=48)
    for name in ("Megamind.avi", "vtest.avi", "cup.mp4"):
        fa = cnn.transform(real_clips / name)
        assert fa.values.shape == (2, 512) and np.isfinite(fa.values).all() and fa.fps > 0
        assert flow.transform(real_clips / name).values.shape[0] == 2


def test_cnn2d_from_actionlab_run_dir(tmp_path: Path) -> None:
    from actionlab.models import create_model, save_checkpoint

    torch.manual_seed(3)
    model = create_model("resnet18", num_classes=5)
    save_checkpoint(tmp_path / "run", model)
    video = write_video(tmp_path / "v.mp4", moving_square(10, 0))
    ex = create_extractor(
        "cnn2d:resnet18", weights=str(tmp_path / "run"), num_frames=2, size=32, device="cpu", bf16=False
    )
    frames, _, _ = ex.decode(video)
    with torch.inference_mode():
        want = model.eval().forward_features(ex.to_input(frames)).numpy()
    np.testing.assert_allclose(ex.transform(video).values, want, atol=1e-4)
