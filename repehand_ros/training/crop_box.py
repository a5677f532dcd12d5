"""The box a training crop is cut from, made as the official training makes it.

Three official steps (InterHand2.6M `load_data` with InterWild's
preprocessing), each reproduced here:

1. `get_bbox`: each hand's box is the tight box of its valid 2D joints,
   enlarged about its centre by `HAND_BOX_EXTENSION` (1.25). A single-hand
   annotation takes the box of the hand it names; an interacting one the
   union of both hands' boxes (a hand without valid joints borrows the
   other's box).
2. `sanitize_bbox`: the box, as (x, y, w, h), is moved to start no further
   left or up than the image's first pixel and its far edge clipped to the
   last pixel, keeping w - 1 of its width (a box sticking out on the left
   keeps its width and moves right, one sticking out on the right is cut);
   a box with no area left is refused (the annotation is skipped).
3. `process_bbox`: the shorter side grown to make it square (the input's
   aspect), then both sides enlarged by `CROP_EXTENSION` (1.25).

So one hand well inside the image is cropped at 1.25 (1.25 w - 1) pixels,
w the longer side of its tight joint box: `TRAINING_CROP_FACTOR` (1.5625)
times it, less 1.25 pixels.

The official union has a quirk: its width is max(x_max) - x_min(right hand's
box), not - min(x_min) (likewise the height), so when the right hand's box
starts right of (or below) the left hand's, the crop is cut short on the
right (bottom) by the difference. `reproduce_union_quirk` reproduces it; by
default the union is the true one, which is what `repehand_ros.detection`
crops at inference (see the README's training section).
"""

from __future__ import annotations

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import CROP_EXTENSION, HAND_BOX_EXTENSION, crop_box_around

SINGLE_HAND_TYPES: tuple[str, str] = ("right", "left")
INTERACTING = "interacting"


def hand_joint_box(points: np.ndarray, valid: np.ndarray) -> Box | None:
    """One hand's box: its valid joints' (21, 2) tight box enlarged by HAND_BOX_EXTENSION.

    None when no joint is valid.
    """
    usable = np.asarray(valid) > 0
    if not usable.any():
        return None
    shown = np.asarray(points, dtype=np.float64)[usable]
    (x_min, y_min), (x_max, y_max) = shown.min(axis=0), shown.max(axis=0)
    half_width = 0.5 * (x_max - x_min) * HAND_BOX_EXTENSION
    half_height = 0.5 * (y_max - y_min) * HAND_BOX_EXTENSION
    cx, cy = 0.5 * (x_min + x_max), 0.5 * (y_min + y_max)
    return Box(cx - half_width, cy - half_height, cx + half_width, cy + half_height)


def hands_box(
    joints_img: np.ndarray,
    joints_valid: np.ndarray,
    hand_type: str,
    reproduce_union_quirk: bool = False,
) -> Box | None:
    """The box around the hands an annotation names, before sanitising (steps 1 above).

    Args:
        joints_img: (2, 21, 2) joints in image pixels, right hand first.
        joints_valid: (2, 21) which joints to use (the official code: the 3D validity).
        hand_type: "right", "left" or "interacting".
        reproduce_union_quirk: make the interacting union as the official code does.

    Returns None when the named hand(s) have no valid joint.
    """
    boxes = [hand_joint_box(joints_img[side], joints_valid[side]) for side in range(2)]
    if hand_type in SINGLE_HAND_TYPES:
        return boxes[SINGLE_HAND_TYPES.index(hand_type)]
    if hand_type != INTERACTING:
        raise ValueError(f"hand_type must be right, left or interacting, got {hand_type!r}")
    right, left = boxes
    if right is None or left is None:
        return right if right is not None else left
    union = Box(
        min(right.x_min, left.x_min),
        min(right.y_min, left.y_min),
        max(right.x_max, left.x_max),
        max(right.y_max, left.y_max),
    )
    if not reproduce_union_quirk:
        return union
    width, height = union.x_max - right.x_min, union.y_max - right.y_min
    return Box(union.x_min, union.y_min, union.x_min + width, union.y_min + height)


def sanitize_box(box: Box, image_width: int, image_height: int) -> Box | None:
    """The official `sanitize_bbox` (step 2 above), or None when nothing of the box is left."""
    width, height = box.width, box.height
    x_min, y_min = max(0.0, box.x_min), max(0.0, box.y_min)
    x_max = min(image_width - 1.0, x_min + max(0.0, width - 1.0))
    y_max = min(image_height - 1.0, y_min + max(0.0, height - 1.0))
    if width * height > 0 and x_max > x_min and y_max > y_min:
        return Box(x_min, y_min, x_max, y_max)
    return None


def training_crop_box(hands: Box, image_width: int, image_height: int) -> Box | None:
    """The square crop box around `hands` (steps 2 and 3 above), or None if it is off the image."""
    sanitized = sanitize_box(hands, image_width, image_height)
    if sanitized is None:
        return None
    return crop_box_around([sanitized], scale=CROP_EXTENSION)


__all__ = ["hand_joint_box", "hands_box", "sanitize_box", "training_crop_box"]
