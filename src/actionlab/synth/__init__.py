"""The embedded synthetic action dataset: an articulated figure doing 14 actions, rendered to real video files.

`generate(out, ...)` writes a set in the folder / UCF101 / HMDB51 / Stanford40 layouts, `synthetic_root()`
returns the cached default set, `preview(root, png)` draws a contact sheet, `ACTIONS` lists the classes in
label order.
"""

from actionlab.synth.actions import ACTIONS, REVERSALS, Timing, pose_trajectory
from actionlab.synth.dataset import generate, synthetic_root
from actionlab.synth.preview import preview

__all__ = ["ACTIONS", "REVERSALS", "Timing", "generate", "pose_trajectory", "preview", "synthetic_root"]
