"""The network's input crop: a square box of the image warped to 224 x 224, and back.

Pixel convention. Image and crop coordinates both follow OpenCV (and the
camera matrix of sensor_msgs/CameraInfo): the centre of pixel (i, j) is at
(u, v) = (i, j), so an image W pixels wide spans u in [-0.5, W - 0.5]. The
crop transform maps the box's edges onto the crop's outer pixel edges: x_min
goes to -0.5 and x_max to size - 0.5, the box centre to the crop centre
((size - 1) / 2). The same 2x3 matrix warps the image and maps points, so a
point the network reports at crop pixel p is at `to_image(p)` in the image,
whatever box convention a detector uses.

Heatmap units. The network reports 2D positions (soft-argmax joints and the
weak-perspective projection x = X * s + tx) in heatmap cells of the 7 x 7 grid
over the 224 crop. The official code turns them into crop pixels by
multiplying by input_size / heatmap_size = 32, and trained on targets made
the same way (crop pixel / 32), so cell index i means crop pixel i * 32, not
the cell centre (i + 0.5) * 32. `heatmap_to_crop_pixels` does exactly that;
adding the half cell would shift every keypoint by 16 crop pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from repehand_ros.geometry.boxes import Box

INPUT_SIZE = 224
"""Side of the square crop the network takes, pixels (TinyViT-5M variant)."""

HEATMAP_SIZE = 7
"""Side of the network's heatmap grid: INPUT_SIZE / 32 cells."""

CROP_SCALE = 1.25
"""How much the box around the hands is enlarged, as in the official training."""

_SQUARE_TOLERANCE = 1e-6


def crop_box_around(boxes: Sequence[Box], scale: float = CROP_SCALE, aspect: float = 1.0) -> Box:
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


def heatmap_to_crop_pixels(
    points: np.ndarray, input_size: int = INPUT_SIZE, heatmap_size: int = HEATMAP_SIZE
) -> np.ndarray:
    """Heatmap-cell coordinates (..., 2) to crop pixels: multiply by input_size / heatmap_size.

    Cell index i maps to crop pixel i * 32 (for 224 / 7), the official
    convention the network was trained with; see the module docstring.
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
    """The similarity (scale and shift) from a square image `box` to a `size` x `size` crop.

    `matrix` maps image pixels to crop pixels, `inverse` maps back; both are
    2x3 (the affine form cv2.warpAffine takes) and read-only.
    """

    box: Box
    size: int = INPUT_SIZE
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
        if width <= 0 or height <= 0:
            raise ValueError(f"CropTransform: the box has no area: {self.box}")
        if abs(width - height) > _SQUARE_TOLERANCE * max(width, height):
            raise ValueError(
                f"CropTransform: the box must be square (use crop_box_around), got "
                f"{width:.3f} x {height:.3f} pixels"
            )
        scale = self.size / width
        # x_min -> -0.5 and x_max -> size - 0.5: box edges onto the crop's outer pixel edges.
        matrix = np.array(
            [
                [scale, 0.0, -0.5 - scale * self.box.x_min],
                [0.0, scale, -0.5 - scale * self.box.y_min],
            ]
        )
        inverse = np.array(
            [
                [1.0 / scale, 0.0, self.box.x_min + 0.5 / scale],
                [0.0, 1.0 / scale, self.box.y_min + 0.5 / scale],
            ]
        )
        matrix.flags.writeable = False
        inverse.flags.writeable = False
        object.__setattr__(self, "size", int(self.size))
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "inverse", inverse)

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel."""
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

    def heatmap_to_image(self, points: np.ndarray, heatmap_size: int = HEATMAP_SIZE) -> np.ndarray:
        """Network heatmap coordinates (..., 2) of this crop to image pixels (..., 2)."""
        return self.to_image(heatmap_to_crop_pixels(points, self.size, heatmap_size))
