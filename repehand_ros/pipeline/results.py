"""What a reconstruction returns: both hands, in the camera frame, in metres.

These dataclasses are the boundary between the ROS-free library and its
users (the ROS node, the offline tools). Every array is numpy float32 with
the shape and unit stated on its field; 3D quantities are in the optical
frame of the camera that took the image (x right, y down, z forward).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.depth_fusion import DepthFit
from repehand_ros.hands import NUM_JOINTS, HandSide

MIN_HAND_DEPTH_M = 0.1
MAX_HAND_DEPTH_M = 5.0
"""A hand nearer or farther than these, metres, is no person's hand in front of a camera."""

NUM_VERTICES = 778
NUM_FACES = 1538
MANO_POSE_SIZE = 48
MANO_SHAPE_SIZE = 10


class Placement(str, enum.Enum):
    """Where a hand's distance from the camera (and so its size) comes from."""

    MONOCULAR = "monocular"
    """The image alone: the hand's size in pixels against the size the network predicts
    for it in metres (`geometry.placement`); a hand of another size is placed
    proportionally too far or too near."""
    DEPTH = "depth"
    """This frame's registered depth image corrected it (`geometry.depth_fusion`)."""
    DEPTH_HELD = "depth-held"
    """This frame's depth could not correct it (none in time, or the fit fell back), so a
    recent frame's correction is applied again: a flicker of the fit does not make the
    hand jump by centimetres (`ReconstructorConfig.depth_hold_s`)."""


class DepthStatus(str, enum.Enum):
    """What became of depth for one frame (TwoHandMesh.depth_status)."""

    OFF = "off"
    """No depth image was given (none configured), or the backend has no mesh to fit."""
    USED = "used"
    """A depth image was given with the frame and fitted to every valid hand with a mesh."""
    UNMATCHED = "unmatched"
    """Depth is configured and arriving, but no depth image's stamp is near this frame's
    (set by whoever pairs the images: the node, `repehand replay`)."""
    STALE = "stale"
    """Depth is configured but none has arrived recently (or ever)."""
    REFUSED = "refused"
    """The depth image of this frame could not be used (encoding, size): see
    TwoHandResult.depth_problem."""


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
    placement: Placement = Placement.MONOCULAR
    """Where the hand's distance comes from; MONOCULAR for a hand that is not valid."""
    depth_scale: float = 1.0
    """The factor about the camera centre applied to the monocular hand (joints, vertices,
    wrist): its size relative to MANO's hand of `mano_shape`. 1 when monocular, or in
    fusion mode "translate"."""
    depth_shift_m: float = 0.0
    """How much farther (negative: nearer) the hand's centre is than the monocular
    placement put it, metres; 0 when monocular."""
    depth_fit: DepthFit | None = None
    """This frame's fit of the hand to its depth image (pixel counts, residual, and why it
    fell back when `fused` is false); None when no depth was fitted to this hand (none
    given, no mesh, not valid). For a DEPTH_HELD hand it is the fit that failed."""

    def __post_init__(self) -> None:
        self.side = HandSide(self.side)
        self.placement = Placement(self.placement)
        self.depth_scale = float(self.depth_scale)
        self.depth_shift_m = float(self.depth_shift_m)
        if not (math.isfinite(self.depth_scale) and self.depth_scale > 0):
            raise ValueError(f"depth_scale must be a positive number, got {self.depth_scale}")
        if not math.isfinite(self.depth_shift_m):
            raise ValueError(f"depth_shift_m must be finite, got {self.depth_shift_m}")
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
    """MANO, placement and smoothing: everything after the network but the depth."""
    total_ms: float = 0.0
    depth_ms: float = 0.0
    """Fitting the hands to the depth image (0 without one); part of total_ms."""


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
    depth_status: DepthStatus = DepthStatus.OFF
    """What became of depth for this frame; each hand's `placement` says what it made of it."""
    depth_problem: str = ""
    """Why the depth image given with this frame could not be used at all (its type, its
    size against the camera's); empty when it was used or none was given."""

    def __post_init__(self) -> None:
        self.depth_status = DepthStatus(self.depth_status)
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
