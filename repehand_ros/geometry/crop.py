"""The network's input crop: a box of the image warped to the network's input, and back.

Pixel convention. Image and crop coordinates both follow OpenCV (and the
camera matrix of sensor_msgs/CameraInfo): the centre of pixel (i, j) is at
(u, v) = (i, j). The crop transform is the official one (`generate_patch_image`
of the official preprocessing): the box's centre goes to the crop point
(size / 2, size / 2) and its edges to 0 and size, i.e. crop = s (image - box
min) with s = size / box side. The network was trained on crops made exactly
so; another convention (edges onto the outer pixel edges, -0.5 and size - 0.5)
would shift everything it sees by half a crop pixel. The same 2x3 matrix
warps the image and maps points, so a point the network reports at crop
pixel p is at `to_image(p)` in the image.

Heatmap units. The network reports 2D positions (soft-argmax joints and the
weak-perspective projection x = s X + tx) in cells of its D x D heatmap grid
over the crop, D = size / 32 (7 at 224). The official code turns them into
crop pixels by multiplying by size / D = 32, and trained on targets made the
same way (crop pixel / 32), so cell index i means crop pixel 32 i, not the
cell centre 32 (i + 0.5). `heatmap_to_crop_pixels` does exactly that.

The crop factor. In training, the network saw each hand's joint box enlarged
1.25 (`get_bbox`), the hands' union made square and enlarged 1.25 again
(`process_bbox`): 1.5625 times the tight joint box for one hand. MediaPipe's
21 landmarks are the same joints, so a hand box here is the landmark box times
`HAND_BOX_EXTENSION` and the crop is `crop_box_around` it (x `CROP_EXTENSION`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from repehand_ros.geometry.boxes import Box

HAND_BOX_EXTENSION = 1.25
"""A hand's box is its joints' (landmarks') tight box enlarged by this about its centre: the
official `get_bbox(..., extend_ratio=1.25)` of training."""

CROP_EXTENSION = 1.25
"""The square around the hand boxes is enlarged by this: the official `process_bbox`."""

TRAINING_CROP_FACTOR = HAND_BOX_EXTENSION * CROP_EXTENSION
"""Side of one hand's crop over the longer side of its tight joint box: 1.5625."""


def crop_box_around(
    boxes: Sequence[Box], scale: float = CROP_EXTENSION, aspect: float = 1.0
) -> Box:
    """The box the network should see: around all `boxes`, `aspect` (w / h), enlarged by `scale`.

    Centred on the union of the boxes; the shorter side is first grown to
    the aspect ratio (never shrunk, so no hand is cut), then both sides are
    multiplied by `scale`, as the official preprocessing does. The result may
    extend past the image border; the warp fills that part with black.
    """
    if len(boxes) == 0:
        raise ValueError("crop_box_around: need at least one box")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"crop_box_around: scale must be positive, got {scale}")
    if not (math.isfinite(aspect) and aspect > 0):
        raise ValueError(f"crop_box_around: aspect must be positive, got {aspect}")
    x_min = min(box.x_min for box in boxes)
    y_min = min(box.y_min for box in boxes)
    x_max = max(box.x_max for box in boxes)
    y_max = max(box.y_max for box in boxes)
    width, height = x_max - x_min, y_max - y_min
    if width <= 0 and height <= 0:
        raise ValueError(f"crop_box_around: the boxes cover a single point ({x_min}, {y_min})")
    if width > aspect * height:
        height = width / aspect
    else:
        width = height * aspect
    half_width, half_height = 0.5 * scale * width, 0.5 * scale * height
    cx, cy = 0.5 * (x_min + x_max), 0.5 * (y_min + y_max)
    return Box(cx - half_width, cy - half_height, cx + half_width, cy + half_height)


def heatmap_to_crop_pixels(points: np.ndarray, input_size: int, heatmap_size: int) -> np.ndarray:
    """Heatmap-cell coordinates (..., 2) to crop pixels: multiply by input_size / heatmap_size.

    Cell index i maps to crop pixel 32 i, the official convention the network
    was trained with; see the module docstring.
    """
    return np.asarray(points, dtype=np.float64) * (input_size / heatmap_size)


def _as_points(points: np.ndarray) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != 2:
        raise ValueError(f"expected points of shape (..., 2), got {array.shape}")
    return array


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class CropTransform:
    """The scale and shift from an image `box` to a `size` x `size` crop (official convention).

    `matrix` maps image pixels to crop pixels, `inverse` maps back; both are
    2x3 (the affine form cv2.warpAffine takes) and read-only. Boxes this
    package makes are square; a rectangular box (a box another program gives,
    such as InterHand2.6M's RootNet boxes) is stretched to the square crop, as
    the official code does.
    """

    box: Box
    size: int
    matrix: np.ndarray = field(init=False, repr=False, compare=False)
    inverse: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, (int, np.integer))
            or self.size <= 0
        ):
            raise ValueError(f"CropTransform: size must be a positive int, got {self.size!r}")
        width, height = self.box.width, self.box.height
        if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
            raise ValueError(f"CropTransform: the box has no area: {self.box}")
        scale_x, scale_y = self.size / width, self.size / height
        # box min -> 0 and box max -> size; the centre -> size / 2.
        matrix = np.array(
            [[scale_x, 0.0, -scale_x * self.box.x_min], [0.0, scale_y, -scale_y * self.box.y_min]]
        )
        inverse = np.array(
            [[1.0 / scale_x, 0.0, self.box.x_min], [0.0, 1.0 / scale_y, self.box.y_min]]
        )
        matrix.flags.writeable = False
        inverse.flags.writeable = False
        object.__setattr__(self, "size", int(self.size))
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "inverse", inverse)

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel (horizontally; the same vertically for a square box)."""
        return float(self.matrix[0, 0])

    def warp(self, image: np.ndarray) -> np.ndarray:
        """The (size, size, 3) uint8 crop of an H x W x 3 uint8 image: bilinear, black outside."""
        if not isinstance(image, np.ndarray):
            raise TypeError(f"warp: expected a numpy image, got {type(image).__name__}")
        if image.dtype != np.uint8:
            raise ValueError(f"warp: expected a uint8 image, got dtype {image.dtype}")
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"warp: expected an H x W x 3 image, got shape {image.shape}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"warp: the image is empty, shape {image.shape}")
        return cv2.warpAffine(
            image,
            np.asarray(self.matrix),
            (self.size, self.size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Image pixels (..., 2) to crop pixels (..., 2)."""
        return _apply(self.matrix, _as_points(points))

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Crop pixels (..., 2) to image pixels (..., 2)."""
        return _apply(self.inverse, _as_points(points))

    def heatmap_to_image(self, points: np.ndarray, heatmap_size: int) -> np.ndarray:
        """Network heatmap coordinates (..., 2) of this crop to image pixels (..., 2)."""
        return self.to_image(heatmap_to_crop_pixels(points, self.size, heatmap_size))
