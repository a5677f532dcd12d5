"""Both hands drawn over the image they came from: skeleton, joints and, when known, the mesh.

ROS-free: the functions take a TwoHandResult, or anything shaped like a
TwoHandMesh message (the rclpy class, the rosbags dataclass read from a bag,
...): only `right`/`left` with `valid`, `keypoints_2d` and `vertices` are
read. Images are H x W x 3 uint8 RGB, as everywhere in the library; they are
drawn on in place and returned.

Colours follow the RViz markers: warm (orange) for the person's right hand,
cool (blue) for the left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import BONES, NUM_JOINTS, HandSide
from repehand_ros.pipeline.results import NUM_VERTICES, HandResult, TwoHandResult

# RGB, 0..255: the same hues as repehand_ros.ros.markers.HAND_RGB.
HAND_COLOURS: dict[HandSide, tuple[int, int, int]] = {
    HandSide.RIGHT: (242, 140, 64),
    HandSide.LEFT: (64, 153, 242),
}
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def _scale(image: np.ndarray) -> float:
    """Line widths and radii grow with the image: 1 for 640 x 480."""
    return max(0.5, max(image.shape[:2]) / 640.0)


def _check_image(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"need an H x W x 3 uint8 image, got {image.shape} {image.dtype}")
    if not image.flags.c_contiguous or not image.flags.writeable:
        raise ValueError("the image must be C-contiguous and writeable (it is drawn on in place)")
    return image


def draw_hand(
    image: np.ndarray,
    keypoints_2d: np.ndarray | Sequence[float],
    side: HandSide,
    vertices_2d: np.ndarray | None = None,
    label: str | None = None,
) -> np.ndarray:
    """One hand: projected vertices (faint dots) if given, bones, then joints with a dark rim.

    `keypoints_2d` is (21, 2) or the 42 flat u, v of HandMesh.keypoints_2d, in pixels.
    """
    _check_image(image)
    points = np.asarray(keypoints_2d, dtype=np.float64).reshape(-1, 2)
    if points.shape[0] != NUM_JOINTS:
        raise ValueError(f"keypoints_2d must hold {NUM_JOINTS} points, got {points.shape[0]}")
    if not np.all(np.isfinite(points)):
        return image
    colour = HAND_COLOURS[HandSide(side)]
    scale = _scale(image)
    if vertices_2d is not None and len(vertices_2d):
        mesh = image.copy()
        for u, v in np.round(vertices_2d).astype(int).tolist():
            cv2.circle(mesh, (u, v), max(1, round(1.5 * scale)), colour, -1, cv2.LINE_AA)
        cv2.addWeighted(mesh, 0.45, image, 0.55, 0.0, dst=image)
    pixels = np.round(points).astype(int)
    for parent, child in BONES:
        start, end = tuple(pixels[parent].tolist()), tuple(pixels[child].tolist())
        cv2.line(image, start, end, colour, max(1, round(3 * scale)), cv2.LINE_AA)
    radius = max(2, round(4 * scale))
    for u, v in pixels.tolist():
        cv2.circle(image, (u, v), radius + 1, BLACK, -1, cv2.LINE_AA)
        cv2.circle(image, (u, v), radius, colour, -1, cv2.LINE_AA)
    if label:
        u, v = pixels[:, 0].min(), pixels[:, 1].min()
        _text(image, label, (int(u), max(12, int(v) - 8)), colour, scale)
    return image


def _text(image, text: str, origin: tuple[int, int], colour, scale: float) -> None:
    size = 0.5 * scale
    thickness = max(1, round(scale))
    for ink, width in ((BLACK, thickness + 2), (colour, thickness)):
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, ink, width, cv2.LINE_AA)


def _label(side: HandSide, confidence: float | None) -> str:
    name = side.name.lower()
    return name if confidence is None else f"{name} {confidence:.2f}"


def _projected(vertices: np.ndarray | None, camera: PinholeCamera | None) -> np.ndarray | None:
    if vertices is None or camera is None:
        return None
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    in_front = vertices[vertices[:, 2] > 1e-3]
    return camera.project(in_front) if len(in_front) else None


def draw_result(
    image: np.ndarray, result: TwoHandResult, camera: PinholeCamera | None = None
) -> np.ndarray:
    """Both hands of a TwoHandResult; the mesh too when it has vertices and `camera` is given."""
    hand: HandResult
    for hand in result.hands:
        if hand.valid:
            draw_hand(
                image,
                hand.keypoints_2d,
                hand.side,
                _projected(hand.vertices, camera),
                _label(hand.side, hand.confidence),
            )
    return image


def draw_message(
    image: np.ndarray, message: Any, camera: PinholeCamera | None = None
) -> np.ndarray:
    """Both hands of a TwoHandMesh-shaped message (keypoints_2d; vertices if sent and `camera`)."""
    for hand, side in ((message.right, HandSide.RIGHT), (message.left, HandSide.LEFT)):
        if not hand.valid or len(hand.keypoints_2d) != 2 * NUM_JOINTS:
            continue
        sent = np.asarray(hand.vertices, dtype=np.float32)
        vertices = sent if sent.size == 3 * NUM_VERTICES else None
        draw_hand(
            image,
            np.asarray(hand.keypoints_2d, dtype=np.float64),
            side,
            _projected(vertices, camera),
            _label(side, float(hand.confidence)),
        )
    return image


def draw_status(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """A few lines of text at the top left (frame number, backend, ...)."""
    _check_image(image)
    scale = _scale(image)
    step = round(18 * scale)
    for number, line in enumerate(lines):
        _text(image, line, (round(6 * scale), step * (number + 1)), WHITE, scale)
    return image


def fit_into(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A new `size` (width, height) image: `image` scaled to fit, centred on black."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    scaled = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - scaled.shape[0]) // 2, (width - scaled.shape[1]) // 2
    canvas[top : top + scaled.shape[0], left : left + scaled.shape[1]] = scaled
    return canvas
