"""Temporal smoothing for teleoperation: the One-Euro filter on each hand.

A robot following a hand must not shake with the network's frame-to-frame
jitter, yet must follow fast moves without lag. The One-Euro filter (Casiez,
Roussel and Vogel, CHI 2012) is a low-pass filter whose cut-off frequency
rises with the signal's speed: slow motion is smoothed hard (jitter gone),
fast motion passes with little lag. Evaluation turns it off.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np

from repehand_ros.geometry.rotations import matrix_from_quaternion, quaternion_from_matrix
from repehand_ros.pipeline.results import HandResult, TwoHandResult

_LOG = logging.getLogger(__name__)


def _check_filter_settings(min_cutoff: float, beta: float, d_cutoff: float) -> None:
    for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"OneEuroFilter: {name} must be positive, got {value}")
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"OneEuroFilter: beta must be >= 0, got {beta}")


def _smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Exponential smoothing factor of a first-order low-pass at `cutoff` Hz over `dt` s."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over arrays of any fixed shape, element by element.

    min_cutoff (Hz): cut-off at rest; lower removes more jitter, adds lag.
    beta (1 / signal unit): how fast the cut-off rises with speed; higher
    follows fast moves with less lag. d_cutoff (Hz): cut-off of the speed
    estimate. Time comes from the timestamps (seconds), so frames may come at
    any rate. The filter restarts from the new sample when time does not
    move forward or the array's shape changes.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        self.retune(min_cutoff, beta, d_cutoff)
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def retune(self, min_cutoff: float, beta: float, d_cutoff: float) -> None:
        """New settings from the next sample on; the filtered state is kept (no jump)."""
        _check_filter_settings(min_cutoff, beta, d_cutoff)
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff

    def reset(self) -> None:
        """Forget the past: the next sample passes unchanged."""
        self._value = None
        self._speed = None

    def __call__(self, value: np.ndarray, timestamp: float) -> np.ndarray:
        """The filtered value (a new float64 array) of `value` observed at `timestamp` seconds."""
        sample = np.array(value, dtype=np.float64)
        if self._value is not None and sample.shape != self._value.shape:
            self.reset()
        if self._value is not None and timestamp <= self._time:
            _LOG.debug(
                "time did not move forward (%.6f -> %.6f): restarting", self._time, timestamp
            )
            self.reset()
        if self._value is None or self._speed is None:
            self._value = sample
            self._speed = np.zeros_like(sample)
            self._time = timestamp
            return sample.copy()
        dt = timestamp - self._time
        speed = (sample - self._value) / dt
        self._speed = self._speed + _smoothing_factor(self.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        self._value = self._value + _smoothing_factor(cutoff, dt) * (sample - self._value)
        self._time = timestamp
        return self._value.copy()


@dataclass(frozen=True)
class SmoothingConfig:
    """Filter settings for the hands; positions in metres, rotations as unit quaternions.

    The defaults suit teleoperation at 15-60 frames per second: at rest the
    cut-off is 1 Hz (millimetre jitter is removed); a hand moving at 1 m/s
    raises it to 21 Hz, so the lag stays near 10 ms.
    """

    enabled: bool = True
    min_cutoff: float = 1.0
    """Hz, positions (joints, vertices, wrist) at rest."""
    beta: float = 20.0
    """Per metre: cut-off rise per m/s of speed, positions."""
    d_cutoff: float = 1.0
    """Hz, cut-off of the speed estimate."""
    rotation_min_cutoff: float = 1.0
    """Hz, wrist rotation at rest."""
    rotation_beta: float = 10.0
    """Cut-off rise per unit/s of quaternion change: turning at 2 rad/s moves the
    quaternion's components by up to 1/s, raising the cut-off to about 11 Hz."""


def check_smoothing(config: SmoothingConfig) -> None:
    """ValueError naming the first setting of `config` a One-Euro filter cannot take."""
    _check_filter_settings(config.min_cutoff, config.beta, config.d_cutoff)
    _check_filter_settings(config.rotation_min_cutoff, config.rotation_beta, config.d_cutoff)


class HandSmoother:
    """Smooths one hand's joints, vertices and wrist pose over time.

    Filters joints (21, 3), vertices (778, 3) when present, the wrist position
    and the wrist rotation (a quaternion kept on the same hemisphere as the
    last one, filtered and renormalised, so it stays a proper rotation). MANO
    pose and shape, keypoints, box and confidence pass through unchanged (they
    describe the network's view of this frame). It restarts when the hand is
    lost (valid False), when time goes backwards or repeats, and when vertices
    appear or vanish. Returns new HandResult objects; the input is never modified.
    """

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        positions = (self.config.min_cutoff, self.config.beta, self.config.d_cutoff)
        self._joints = OneEuroFilter(*positions)
        self._vertices = OneEuroFilter(*positions)
        self._wrist = OneEuroFilter(*positions)
        self._rotation = OneEuroFilter(
            self.config.rotation_min_cutoff, self.config.rotation_beta, self.config.d_cutoff
        )
        self._last_time: float | None = None
        self._last_quaternion: np.ndarray | None = None
        self._had_vertices = False

    def reset(self) -> None:
        for one_euro in (self._joints, self._vertices, self._wrist, self._rotation):
            one_euro.reset()
        self._last_time = None
        self._last_quaternion = None

    def reconfigure(self, config: SmoothingConfig) -> None:
        """`config` from the next sample on. New cut-offs keep what is filtered so far (the
        hand does not jump); switching smoothing on or off starts the filters afresh."""
        check_smoothing(config)
        if config.enabled != self.config.enabled:
            self.reset()
        for one_euro in (self._joints, self._vertices, self._wrist):
            one_euro.retune(config.min_cutoff, config.beta, config.d_cutoff)
        self._rotation.retune(config.rotation_min_cutoff, config.rotation_beta, config.d_cutoff)
        self.config = config

    def __call__(self, hand: HandResult, timestamp: float) -> HandResult:
        """The smoothed copy of `hand`, observed at `timestamp` seconds."""
        if not self.config.enabled:
            return _copy(hand)
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
        has_vertices = hand.vertices is not None
        if self._last_time is not None and has_vertices != self._had_vertices:
            self.reset()
        self._last_time = timestamp
        self._had_vertices = has_vertices

        quaternion = quaternion_from_matrix(hand.wrist_rotation)
        if self._last_quaternion is not None and np.dot(quaternion, self._last_quaternion) < 0:
            quaternion = -quaternion
        quaternion = self._rotation(quaternion, timestamp)
        quaternion /= np.linalg.norm(quaternion)
        self._last_quaternion = quaternion

        return _copy(
            hand,
            joints=self._joints(hand.joints, timestamp),
            vertices=None if hand.vertices is None else self._vertices(hand.vertices, timestamp),
            wrist_position=self._wrist(hand.wrist_position, timestamp),
            wrist_rotation=matrix_from_quaternion(quaternion),
        )


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
        nothing changed, for settings a filter cannot take."""
        check_smoothing(config)
        self.right.reconfigure(config)
        self.left.reconfigure(config)
        self.config = config

    def __call__(self, result: TwoHandResult, timestamp: float) -> TwoHandResult:
        """The smoothed copy of `result`, observed at `timestamp` seconds."""
        right = self.right(result.right, timestamp)
        left = self.left(result.left, timestamp)
        relative = result.relative_translation.copy()
        if self.config.enabled and right.valid and left.valid:
            relative = left.wrist_position - right.wrist_position
        return dataclasses.replace(
            result,
            right=right,
            left=left,
            relative_translation=relative,
            times=dataclasses.replace(result.times),
        )


def _copy(
    hand: HandResult,
    joints: np.ndarray | None = None,
    vertices: np.ndarray | None = None,
    wrist_position: np.ndarray | None = None,
    wrist_rotation: np.ndarray | None = None,
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
        keypoints_2d=own(hand.keypoints_2d),
    )
