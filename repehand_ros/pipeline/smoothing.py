"""Temporal smoothing for teleoperation: a One-Euro filter per hand that keeps the hand whole.

A robot following a hand must not shake with the network's frame-to-frame
jitter, yet must follow fast moves without lag. The One-Euro filter (Casiez,
Roussel and Vogel, CHI 2012) is a first-order low-pass whose cut-off rises
with the signal's speed: a still hand is smoothed hard, a fast one passes
with little lag.

Here the filter runs per hand, not per number. One smoothing factor per hand
and frame, from the speed of the hand's fastest joint, is applied alike to
the joints, the vertices and the wrist orientation. Exponential smoothing
with one factor is linear, so whatever linear relation holds in every raw
frame holds in the smoothed one too: the joints stay the MANO joints of the
smoothed vertices (the joints are a fixed linear map of the vertices), the
wrist position stays the wrist joint, and the hand keeps its proportions
(per-number filters let a fast fingertip run ahead of a slow palm). The
published 2D keypoints and box are then the smoothed joints projected into
the image, so all that is published of a hand is one hand. MANO's pose and
shape stay this frame's network output. Evaluation turns smoothing off.

For one factor alpha over a frame interval dt (the discrete first-order
low-pass y += alpha (x - y)): alpha = 1 / (1 + tau / dt), tau = 1 / (2 pi fc),
fc = min_cutoff + beta * speed. A hand moving steadily at speed v is trailed
by v * dt (1 - alpha) / alpha = v * tau: the lag in time is tau, about
1 / (2 pi beta v) once beta v outgrows min_cutoff. `bench/smoothing.py`
measures jitter and lag for the defaults and chose them.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.rotations import matrix_from_quaternion, quaternion_from_matrix
from repehand_ros.hands import WRIST
from repehand_ros.pipeline.results import HandResult, TwoHandResult

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmoothingConfig:
    """One-Euro settings for the hands (positions in metres, time in seconds).

    The defaults come from `bench/smoothing.py` (see config/hands.yaml for its numbers).
    """

    enabled: bool = True
    min_cutoff: float = 0.25
    """Hz: the cut-off for a still hand; lower removes more jitter and adds lag at rest."""
    beta: float = 10.0
    """Hz per m/s: how fast the cut-off rises with the hand's speed; higher follows fast
    moves with less lag and lets more jitter through while moving."""
    d_cutoff: float = 0.5
    """Hz: cut-off of the speed estimate (the speed must not itself follow the jitter)."""

    def __post_init__(self) -> None:
        check_smoothing(self)


def check_smoothing(config: SmoothingConfig) -> None:
    """ValueError naming the first setting of `config` the filter cannot take."""
    for name in ("min_cutoff", "d_cutoff"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"smoothing: {name} must be positive, got {value}")
    if not (math.isfinite(config.beta) and config.beta >= 0):
        raise ValueError(f"smoothing: beta must be >= 0, got {config.beta}")


def smoothing_factor(cutoff: float, dt: float) -> float:
    """The factor alpha of a first-order low-pass at `cutoff` Hz over `dt` seconds:
    y += alpha (x - y) with alpha = 1 / (1 + tau / dt), tau = 1 / (2 pi cutoff)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class HandSmoother:
    """Smooths one hand over time: joints, vertices, wrist pose, and so its 2D keypoints and box.

    Restarts (the next hand passes unchanged) when the hand is lost (valid
    False), when time goes backwards or repeats, and when vertices appear or
    vanish (another backend). Returns new HandResult objects; the input is
    never modified.
    """

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self._joints: np.ndarray | None = None
        self._vertices: np.ndarray | None = None
        self._quaternion = np.array([0.0, 0.0, 0.0, 1.0])
        self._velocity = np.zeros((21, 3))
        self._time = 0.0
        self._last_time: float | None = None
        self.speed = 0.0
        """The speed (m/s) the last factor was taken for: the fastest joint's, filtered."""

    def reset(self) -> None:
        """Forget the past: the next hand passes unchanged."""
        self._joints = None
        self._vertices = None
        self._last_time = None
        self.speed = 0.0

    def reconfigure(self, config: SmoothingConfig) -> None:
        """`config` from the next sample on. New cut-offs keep what is filtered so far (the
        hand does not jump); switching smoothing on or off starts afresh."""
        check_smoothing(config)
        if config.enabled != self.config.enabled:
            self.reset()
        self.config = config

    def __call__(self, hand: HandResult, timestamp: float, camera: PinholeCamera) -> HandResult:
        """The smoothed copy of `hand`, observed at `timestamp` seconds through `camera`."""
        if not self.config.enabled or not hand.valid:
            if not hand.valid:
                self.reset()
            return _copy(hand)
        if self._last_time is not None and timestamp < self._last_time:
            _LOG.warning(
                "%s hand: time went backwards (%.3f -> %.3f s): smoothing restarts",
                hand.side.name.lower(),
                self._last_time,
                timestamp,
            )
            self.reset()
        if self._joints is not None and (hand.vertices is None) != (self._vertices is None):
            self.reset()
        if self._joints is not None and timestamp <= self._time:
            _LOG.debug("time did not move forward (%.6f): smoothing restarts", timestamp)
            self.reset()
        self._last_time = timestamp
        quaternion = quaternion_from_matrix(hand.wrist_rotation).astype(np.float64)
        joints = hand.joints.astype(np.float64)
        if self._joints is None:
            self._start(hand, quaternion, timestamp)
        else:
            self._step(hand, joints, quaternion, timestamp)
        assert self._joints is not None
        return _smoothed_copy(
            hand,
            joints=self._joints,
            vertices=self._vertices,
            rotation=matrix_from_quaternion(self._quaternion),
            camera=camera,
        )

    def _start(self, hand: HandResult, quaternion: np.ndarray, timestamp: float) -> None:
        self._joints = hand.joints.astype(np.float64)
        self._vertices = None if hand.vertices is None else hand.vertices.astype(np.float64)
        self._quaternion = quaternion
        self._velocity = np.zeros_like(self._joints)
        self._time = timestamp
        self.speed = 0.0

    def _step(
        self, hand: HandResult, joints: np.ndarray, quaternion: np.ndarray, timestamp: float
    ) -> None:
        """One One-Euro step with one factor for the whole hand."""
        assert self._joints is not None
        config = self.config
        dt = timestamp - self._time
        velocity = (joints - self._joints) / dt
        self._velocity += smoothing_factor(config.d_cutoff, dt) * (velocity - self._velocity)
        self.speed = float(np.linalg.norm(self._velocity, axis=1).max())
        alpha = smoothing_factor(config.min_cutoff + config.beta * self.speed, dt)
        self._joints = self._joints + alpha * (joints - self._joints)
        if self._vertices is not None and hand.vertices is not None:
            self._vertices = self._vertices + alpha * (hand.vertices - self._vertices)
        if np.dot(quaternion, self._quaternion) < 0:
            quaternion = -quaternion  # q and -q are one rotation: blend along the short way
        blended = self._quaternion + alpha * (quaternion - self._quaternion)
        self._quaternion = blended / np.linalg.norm(blended)
        self._time = timestamp


class TwoHandSmoother:
    """A HandSmoother per side; the relative translation follows the smoothed wrists."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self.right = HandSmoother(self.config)
        self.left = HandSmoother(self.config)

    def reset(self) -> None:
        self.right.reset()
        self.left.reset()

    def reconfigure(self, config: SmoothingConfig) -> None:
        """`config` from the next frame on (see HandSmoother.reconfigure); ValueError, with
        nothing changed, for settings the filter cannot take."""
        check_smoothing(config)
        self.right.reconfigure(config)
        self.left.reconfigure(config)
        self.config = config

    def __call__(
        self, result: TwoHandResult, timestamp: float, camera: PinholeCamera
    ) -> TwoHandResult:
        """The smoothed copy of `result`, observed at `timestamp` seconds through `camera`."""
        right = self.right(result.right, timestamp, camera)
        left = self.left(result.left, timestamp, camera)
        relative = result.relative_translation.copy()
        if right.valid and left.valid:
            relative = left.wrist_position - right.wrist_position
        return dataclasses.replace(
            result,
            right=right,
            left=left,
            relative_translation=relative,
            times=dataclasses.replace(result.times),
        )


def _smoothed_copy(
    hand: HandResult,
    joints: np.ndarray,
    vertices: np.ndarray | None,
    rotation: np.ndarray,
    camera: PinholeCamera,
) -> HandResult:
    """`hand` with smoothed joints, vertices and orientation; the wrist, the 2D keypoints and
    the box follow from the joints, so everything published of the hand agrees."""
    keypoints = camera.project(joints)
    if not np.all(np.isfinite(keypoints)):
        # Smoothed joints are convex blends of joints in front of the camera: never here.
        raise ValueError(f"{hand.side.name.lower()} hand: smoothed joints left the view")
    low, high = keypoints.min(axis=0), keypoints.max(axis=0)
    return _copy(
        hand,
        joints=joints,
        vertices=vertices,
        wrist_position=joints[WRIST],
        wrist_rotation=rotation,
        keypoints_2d=keypoints,
        box=Box(float(low[0]), float(low[1]), float(high[0]), float(high[1])),
    )


def _copy(
    hand: HandResult,
    joints: np.ndarray | None = None,
    vertices: np.ndarray | None = None,
    wrist_position: np.ndarray | None = None,
    wrist_rotation: np.ndarray | None = None,
    keypoints_2d: np.ndarray | None = None,
    box: Box | None = None,
) -> HandResult:
    """A HandResult with its own arrays (none shared with `hand`), the given ones replaced."""

    def own(array: np.ndarray) -> np.ndarray:
        return np.array(array, dtype=np.float32)

    new_vertices = hand.vertices if vertices is None else vertices
    return dataclasses.replace(
        hand,
        joints=own(hand.joints if joints is None else joints),
        vertices=None if new_vertices is None else own(new_vertices),
        wrist_rotation=own(hand.wrist_rotation if wrist_rotation is None else wrist_rotation),
        wrist_position=own(hand.wrist_position if wrist_position is None else wrist_position),
        mano_pose=own(hand.mano_pose),
        mano_shape=own(hand.mano_shape),
        keypoints_2d=own(hand.keypoints_2d if keypoints_2d is None else keypoints_2d),
        box=hand.box if box is None else box,
    )
