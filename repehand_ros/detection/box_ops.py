"""Small box operations detection needs: boxes around keypoints, overlap, visibility."""

from __future__ import annotations

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import HAND_BOX_EXTENSION

KEYPOINT_BOX_SCALE = HAND_BOX_EXTENSION
"""A hand's box is its 21 keypoints' tight box enlarged by this, as the network's training
boxes were made from its 21 joints (see geometry.crop: the crop factor)."""


def box_around_points(points: np.ndarray, scale: float = 1.0) -> Box:
    """The tight box around (N, 2) pixel points, enlarged by `scale` about its centre."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if points.shape[0] == 0 or not np.all(np.isfinite(points)):
        raise ValueError("box_around_points: need at least one finite point")
    (x_min, y_min), (x_max, y_max) = points.min(axis=0), points.max(axis=0)
    return scale_box(Box(float(x_min), float(y_min), float(x_max), float(y_max)), scale)


def scale_box(box: Box, scale: float) -> Box:
    """`box` with both sides multiplied by `scale`, same centre."""
    cx, cy = box.center
    half_w, half_h = 0.5 * scale * box.width, 0.5 * scale * box.height
    return Box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def shift_box(box: Box, dx: float, dy: float) -> Box:
    return Box(box.x_min + dx, box.y_min + dy, box.x_max + dx, box.y_max + dy)


def intersection_area(a: Box, b: Box) -> float:
    width = min(a.x_max, b.x_max) - max(a.x_min, b.x_min)
    height = min(a.y_max, b.y_max) - max(a.y_min, b.y_min)
    return max(width, 0.0) * max(height, 0.0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union; 0 for boxes without area."""
    inter = intersection_area(a, b)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def image_box(image_size: tuple[int, int]) -> Box:
    """The whole image of `image_size` (height, width) in OpenCV's pixel convention.

    Pixel (i, j) has its centre at (u, v) = (i, j), as in geometry.crop and the
    camera matrix, so the image spans -0.5 to width - 0.5.
    """
    height, width = image_size
    return Box(-0.5, -0.5, width - 0.5, height - 0.5)


def visible_fraction(box: Box, image_size: tuple[int, int]) -> float:
    """The fraction of `box`'s area inside an image of `image_size` (height, width)."""
    area = box.width * box.height
    if area <= 0:
        whole = image_box(image_size)
        u, v = box.center
        return 1.0 if whole.x_min <= u <= whole.x_max and whole.y_min <= v <= whole.y_max else 0.0
    return intersection_area(box, image_box(image_size)) / area


def longer_side(box: Box) -> float:
    return max(box.width, box.height)
