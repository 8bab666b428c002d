"""Frames to tensors (torchvision.transforms.v2 underneath).

from actionlab.transforms import ClipTransform, flip_label_map, to_tensor, IMAGENET_MEAN, KINETICS_MEAN
tf = ClipTransform(112, train=True, layout="3d", label_flip=flip_label_map(classes))
clip, label = tf(frames_uint8_THWC, label)        # (3, T, 112, 112), label mirrored if flipped
tf2d = ClipTransform(64, layout="2d", mean=IMAGENET_MEAN, std=IMAGENET_STD)   # (T, 3, 64, 64)
flow_tf = ClipTransform(64, train=True, flow=True)  # float (T, H, W, 2): flips negate dx
"""

from actionlab.transforms.clip import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    KINETICS_MEAN,
    KINETICS_STD,
    ClipTransform,
    flip_label_map,
    to_tensor,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "ClipTransform",
    "flip_label_map",
    "to_tensor",
]
