"""Where a network looks: activation maps, Grad-CAM and guided backpropagation for any run with a conv backbone.

Run level (what `actionlab explain` and the compare report use). Every stream with a convolutional network is
explained: frame-cnn / late-fusion / lrcn per frame, clip3d / c3d / i3d / nonlocal per time step of the clip,
flow2p1d over the flow magnitude, two-stream each stream through the fused score. Inputs come from the run's
own test reader (what the network saw at evaluation).

- `Explainer(run_dir, methods=("activation", "gradcam", "guided"), target=None, frames=8, shifts=16)` loads
  the run once; `.explain(video) -> VideoExplanation(path, classes, scores (C,), target, predicted, streams)`,
  each stream a `StreamMaps(name, layer, labels, frames uint8 (F, H, W, 3), activation, gradcam, guided
  (F, H, W) float32 in [0, 1], guided_grad (F, c, H, W))`; `target` is a class name (default: predicted),
  `frames` the time steps kept, spread over the video. See `maps.py` for what each map is.
- `explain_run(run_dir, videos, out_dir, *, methods, target, frames, shifts) -> ExplainResult(out_dir, page,
  pngs, errors, explanations)`: one grid PNG per video and index.html with the top-5 scores.

- `strip(run_dir, videos, out_png, *, true_labels=None, max_videos=6, frames=4) -> Path`: one PNG with, per
  video (at most `max_videos`, unreadable ones skipped), a row of `frames` sampled input frames and below it a
  row of Grad-CAM overlays for the predicted class, captioned "true: X  pred: Y 0.93" (the true part only when
  `true_labels`, class names one per video, is given). Two-stream runs show the RGB stream; flow2p1d shows the
  maps over the flow magnitude. Raises VideoError when no video could be read, ConfigError for a run
  without a convolutional network (features-mlp, features-lstm, joint runs). Returns `Path(out_png)`.

Layer level:

- `grad_cam(model, inputs, target_layer=None, class_idx=None) -> np.ndarray` float32 in [0, 1]:
  inputs `(N, C, H, W)` (a 2D model over N frames) give `(N, H, W)`; inputs `(B, C, T, H, W)` (a 3D model)
  give `(B, T, H, W)`, the coarse space-time map upsampled trilinearly. `target_layer` defaults to the last
  `nn.Conv2d` / `nn.Conv3d` with a kernel larger than 1 (1x1 shortcuts are skipped); `class_idx` is an int,
  one class per sample, or None (the predicted class). All-zero maps mean no positive evidence.
- `find_target_layer(model) -> nn.Module`; `last_stage(model) -> (name, module)` (what the run level uses).
- `guided_backprop(model, inputs, class_idx=None) -> np.ndarray` input-shaped guided gradients (every ReLU,
  module or functional, in-place or not, gets the guided backward); multiply by the upsampled Grad-CAM map
  for guided Grad-CAM.
- `overlay(frames uint8 (N, H, W, 3) RGB, cams (N, h, w), alpha=0.4) -> uint8 (N, H, W, 3)` with OpenCV's
  JET colormap.
"""

from actionlab.explain.gradcam import find_target_layer, grad_cam, overlay
from actionlab.explain.guided import guided_backprop
from actionlab.explain.maps import StreamMaps
from actionlab.explain.target import last_stage
from actionlab.explain.video import Explainer, VideoExplanation
from actionlab.explain.write import ExplainResult, explain_run, strip

__all__ = [
    "ExplainResult",
    "Explainer",
    "StreamMaps",
    "VideoExplanation",
    "explain_run",
    "find_target_layer",
    "grad_cam",
    "guided_backprop",
    "last_stage",
    "overlay",
    "strip",
]
