"""Where a network looks: Grad-CAM heat maps for 2D (frame) and 3D (clip) models, and colour overlays.

Public API:

- `grad_cam(model, inputs, target_layer=None, class_idx=None) -> np.ndarray` float32 in [0, 1]:
  inputs `(N, C, H, W)` (a 2D model over N frames) give `(N, H, W)`; inputs `(B, C, T, H, W)` (a 3D model)
  give `(B, T, H, W)`, the coarse space-time map upsampled trilinearly. `target_layer` defaults to the last
  `nn.Conv2d` / `nn.Conv3d` with a kernel larger than 1 (1x1 shortcuts are skipped); `class_idx` is an int,
  one class per sample, or None (the predicted class). All-zero maps mean no positive evidence.
- `find_target_layer(model) -> nn.Module`.
- `guided_backprop(model, inputs, class_idx=None) -> np.ndarray` input-shaped guided gradients; multiply by the
  upsampled Grad-CAM map for guided Grad-CAM.
- `overlay(frames uint8 (N, H, W, 3) RGB, cams (N, h, w), alpha=0.4) -> uint8 (N, H, W, 3)` with OpenCV's
  JET colormap.
"""

from actionlab.explain.gradcam import find_target_layer, grad_cam, overlay
from actionlab.explain.guided import guided_backprop

__all__ = ["find_target_layer", "grad_cam", "guided_backprop", "overlay"]
