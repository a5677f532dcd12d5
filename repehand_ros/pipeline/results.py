"""What a reconstruction returns: both hands, in the camera frame, in metres.

These dataclasses are the boundary between the ROS-free library and its
users (the ROS node, the offline tools). Every array is numpy float32 with
the shape and unit stated on its field; 3D quantities are in the optical
frame of the camera that took the image (x right, y down, z forward).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import NUM_JOINTS, HandSide

MIN_HAND_DEPTH_M = 0.1
MAX_HAND_DEPTH_M = 5.0
"""A hand nearer or farther than these, metres, is no person's hand in front of a camera."""

NUM_VERTICES = 778
NUM_FACES = 1538
MANO_POSE_SIZE = 48
MANO_SHAPE_SIZE = 10


def _zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)


def _as_float32(name: str, value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=np.float32)
    if array.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {array.shape}")
    return array


@dataclass
class HandResult:
    """One hand. When `valid` is false the hand was not found: arrays are zero."""

    side: HandSide
    valid: bool = False
    confidence: float = 0.0
    """How sure detection/tracking is that the hand is there, in [0, 1]."""
    side_confidence: float = 0.0
    """How sure `side` is, in [0, 1] (0.5: no evidence either way; see
    detection.handedness); 0 when the hand is not valid."""
    joints: np.ndarray = field(default_factory=lambda: _zeros(NUM_JOINTS, 3))
    """(21, 3) joints in the camera frame, metres, order of mano.joints.JOINT_NAMES."""
    vertices: np.ndarray | None = None
    """(778, 3) MANO vertices in the camera frame, metres; None for joint-only backends."""
    wrist_rotation: np.ndarray = field(default_factory=lambda: np.eye(3, dtype=np.float32))
    """(3, 3) global hand orientation (MANO root rotation) in the camera frame."""
    wrist_position: np.ndarray = field(default_factory=lambda: _zeros(3))
    """(3,) wrist joint position in the camera frame, metres."""
    mano_pose: np.ndarray = field(default_factory=lambda: _zeros(MANO_POSE_SIZE))
    """(48,) axis-angle, radians: 3 global orientation, then 45 for the 15 finger joints."""
    mano_shape: np.ndarray = field(default_factory=lambda: _zeros(MANO_SHAPE_SIZE))
    """(10,) MANO shape coefficients."""
    keypoints_2d: np.ndarray = field(default_factory=lambda: _zeros(NUM_JOINTS, 2))
    """(21, 2) joints projected into the source image, pixels (u, v)."""
    box: Box | None = None
    """The hand's box in the source image, pixels; None when not found."""
    reason: str = ""
    """Why the hand is not valid ("not detected", "implausible result", ...); empty if valid."""

    def __post_init__(self) -> None:
        self.side = HandSide(self.side)
        self.valid = bool(self.valid)
        self.confidence = float(self.confidence)
        self.side_confidence = float(self.side_confidence)
        for name in ("confidence", "side_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.joints = _as_float32("joints", self.joints, (NUM_JOINTS, 3))
        if self.vertices is not None:
            self.vertices = _as_float32("vertices", self.vertices, (NUM_VERTICES, 3))
        self.wrist_rotation = _as_float32("wrist_rotation", self.wrist_rotation, (3, 3))
        self.wrist_position = _as_float32("wrist_position", self.wrist_position, (3,))
        self.mano_pose = _as_float32("mano_pose", self.mano_pose, (MANO_POSE_SIZE,))
        self.mano_shape = _as_float32("mano_shape", self.mano_shape, (MANO_SHAPE_SIZE,))
        self.keypoints_2d = _as_float32("keypoints_2d", self.keypoints_2d, (NUM_JOINTS, 2))
        if self.valid:
            self._check_finite()

    def _check_finite(self) -> None:
        arrays = {
            "joints": self.joints,
            "vertices": self.vertices,
            "wrist_rotation": self.wrist_rotation,
            "wrist_position": self.wrist_position,
            "mano_pose": self.mano_pose,
            "mano_shape": self.mano_shape,
            "keypoints_2d": self.keypoints_2d,
        }
        for name, array in arrays.items():
            if array is not None and not np.all(np.isfinite(array)):
                raise ValueError(f"{self.side.name.lower()} hand: {name} contains NaN or infinity")


@dataclass
class StageTimes:
    """Milliseconds spent on one image, per stage and in all."""

    detection_ms: float = 0.0
    network_ms: float = 0.0
    mano_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class TwoHandResult:
    """Both hands of one person from one image."""

    right: HandResult
    left: HandResult
    relative_translation: np.ndarray = field(default_factory=lambda: _zeros(3))
    """(3,) left wrist minus right wrist, camera frame, metres; zero unless both are valid."""
    crops: tuple[Box, ...] = ()
    """The crop(s) the network saw: one around both hands, or one per hand, or none."""
    backend: str = ""
    """Which model produced this, e.g. "repehand-5m/torch-cpu" or "mediapipe-keypoints"."""
    times: StageTimes = field(default_factory=StageTimes)

    def __post_init__(self) -> None:
        if self.right.side is not HandSide.RIGHT or self.left.side is not HandSide.LEFT:
            raise ValueError("TwoHandResult: `right` must be the right hand and `left` the left")
        self.relative_translation = _as_float32(
            "relative_translation", self.relative_translation, (3,)
        )
        self.crops = tuple(self.crops)
        if len(self.crops) > 2:
            raise ValueError(f"at most two crops (one per hand), got {len(self.crops)}")

    @property
    def hands(self) -> tuple[HandResult, HandResult]:
        return (self.right, self.left)
