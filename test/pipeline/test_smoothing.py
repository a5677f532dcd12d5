"""One-Euro smoothing of the hands for teleoperation: less jitter, little lag, one hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import HandSide
from repehand_ros.pipeline.results import HandResult, TwoHandResult
from repehand_ros.pipeline.smoothing import HandSmoother, SmoothingConfig, TwoHandSmoother

CAMERA = PinholeCamera.default(640, 480)
RNG_SHAPE = np.random.default_rng(42)
SHAPE = RNG_SHAPE.normal(scale=0.03, size=(21, 3))
SHAPE[0] = 0.0
"""A hand's joints relative to its wrist, metres."""
REGRESSOR = np.zeros((21, 778))
for _row in REGRESSOR:
    _row[RNG_SHAPE.choice(778, size=8, replace=False)] = 1.0 / 8
"""Joints as a fixed linear map of the vertices, as MANO's regressor makes them."""
VERTEX_OFFSETS = RNG_SHAPE.normal(scale=0.04, size=(778, 3))


def _at(x: float, y: float, z: float) -> np.ndarray:
    """The hand's joints with its wrist at (x, y, z), metres."""
    return SHAPE + np.array([x, y, z])


def _irregular_times(count: int, rate: float = 30.0, seed: int = 0) -> np.ndarray:
    """Frame times at about `rate` Hz with +-30% jitter, as a real camera stream gives."""
    steps = np.random.default_rng(seed).uniform(0.7, 1.3, size=count) / rate
    return np.cumsum(steps)


def _hand(
    joints: np.ndarray,
    rotation: np.ndarray | None = None,
    vertices: np.ndarray | bool | None = True,
    side: HandSide = HandSide.RIGHT,
) -> HandResult:
    """A valid hand as a backend gives it: keypoints and box from its joints."""
    joints = np.asarray(joints, dtype=np.float64)
    if vertices is True:
        vertices = joints[0] + VERTEX_OFFSETS
    keypoints = CAMERA.project(joints)
    return HandResult(
        side=side,
        valid=True,
        confidence=0.9,
        joints=joints,
        vertices=None if vertices is False else vertices,
        wrist_rotation=np.eye(3) if rotation is None else rotation,
        wrist_position=joints[0],
        mano_pose=np.full(48, 0.1),
        mano_shape=np.full(10, 0.2),
        keypoints_2d=keypoints,
    )


def _run(smoother: HandSmoother, hands, times) -> list[HandResult]:
    return [smoother(hand, t, CAMERA) for hand, t in zip(hands, times, strict=True)]


def _jittery_hands(count: int, seed: int = 0) -> list[HandResult]:
    """A hand still at 0.6 m, its joints jittering 5 mm and its rotation 3 degrees."""
    rng = np.random.default_rng(seed)
    hands = []
    for _ in range(count):
        joints = _at(0.0, 0.0, 0.6) + rng.normal(scale=0.005, size=(21, 3))
        jitter = Rotation.from_rotvec(rng.normal(scale=np.radians(3.0), size=3))
        rotation = (jitter * Rotation.from_euler("z", 40, degrees=True)).as_matrix()
        hands.append(_hand(joints, rotation))
    return hands


def test_a_still_hand_stays_exactly_where_it_is():
    hand = _hand(_at(0.05, -0.02, 0.5))
    for out in _run(HandSmoother(), [hand] * 60, _irregular_times(60)):
        np.testing.assert_allclose(out.joints, hand.joints, atol=1e-6)
        np.testing.assert_allclose(out.vertices, hand.vertices, atol=1e-6)
        np.testing.assert_allclose(out.keypoints_2d, hand.keypoints_2d, atol=1e-3)


def test_jitter_of_a_still_hand_is_reduced_in_space_and_in_the_image():
    hands = _jittery_hands(150)
    out = _run(HandSmoother(), hands, _irregular_times(150))

    def spread(values):
        return float(np.mean(np.std(np.array(values[30:]), axis=0)))

    assert spread([h.joints for h in out]) < 0.5 * spread([h.joints for h in hands])
    assert spread([h.keypoints_2d for h in out]) < 0.5 * spread([h.keypoints_2d for h in hands])
    angles = [Rotation.from_matrix(h.wrist_rotation).as_rotvec()[2] for h in out[30:]]
    assert np.std(angles) < 0.5 * np.radians(3.0)
    for hand in out:
        rotation = hand.wrist_rotation.astype(np.float64)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(out[-1].mano_pose, hands[-1].mano_pose)  # this frame's


def test_the_speed_term_keeps_the_lag_small_on_a_fast_move():
    """A hand sweeping sideways at 1 m/s: a plain 1 Hz low-pass trails it by ~15 cm, the
    One-Euro filter by a few centimetres at most."""
    times = np.arange(1, 61) / 30.0
    hands = [_hand(_at(1.0 * t - 0.9, 0.0, 0.8)) for t in times]
    lags = {}
    for beta in (0.0, SmoothingConfig().beta):
        out = _run(HandSmoother(SmoothingConfig(min_cutoff=1.0, beta=beta)), hands, times)
        lags[beta] = hands[-1].wrist_position[0] - out[-1].wrist_position[0]
    assert lags[0.0] > 0.1
    assert lags[SmoothingConfig().beta] < 0.03


def test_the_frame_rate_does_not_change_the_response():
    """dt comes from the timestamps: a step looks the same at 30 and at 90 frames per second."""
    after = {}
    for rate in (30.0, 90.0):
        smoother = HandSmoother(SmoothingConfig(min_cutoff=1.0, beta=0.0))
        smoother(_hand(_at(0.0, 0.0, 0.5)), 0.0, CAMERA)
        frames = np.arange(1, int(0.5 * rate) + 1) / rate
        moved = _hand(_at(0.1, 0.0, 0.5))
        after[rate] = [smoother(moved, t, CAMERA).wrist_position[0] for t in frames][-1]
    assert 0.085 < after[30.0] < 0.1
    assert after[90.0] == pytest.approx(after[30.0], abs=0.003)


def test_everything_published_of_a_smoothed_hand_is_one_hand():
    """Joints, vertices, wrist, 2D keypoints and box of a moving, jittering hand agree after
    smoothing as they did before: the joints stay the regressed joints of the vertices, the
    wrist is the wrist joint, the keypoints are the joints projected and the box is theirs."""
    rng = np.random.default_rng(5)
    times = _irregular_times(90)
    hands = []
    for t in times:
        centre = np.array([0.3 * np.sin(3 * t), 0.1 * t, 0.6 + 0.1 * np.cos(2 * t)])
        vertices = VERTEX_OFFSETS + centre + rng.normal(scale=0.004, size=(778, 3))
        joints = REGRESSOR @ vertices
        hands.append(_hand(joints, vertices=vertices))
    outputs = _run(HandSmoother(), hands, times)
    for out in outputs:
        np.testing.assert_allclose(out.joints, REGRESSOR @ out.vertices, atol=2e-6)
        np.testing.assert_array_equal(out.wrist_position, out.joints[0])
        projected = CAMERA.project(out.joints.astype(np.float64))
        np.testing.assert_allclose(out.keypoints_2d, projected, atol=1e-3)
        low, high = projected.min(axis=0), projected.max(axis=0)
        box = out.box
        assert box is not None
        corners = [box.x_min, box.y_min, box.x_max, box.y_max]
        np.testing.assert_allclose(corners, [*low, *high], atol=1e-3)
    assert np.abs(outputs[-1].joints - hands[-1].joints).max() > 1e-3, "the hand was smoothed"


def test_a_hand_moving_rigidly_keeps_its_exact_shape():
    """One factor per hand: a fast fingertip cannot run ahead of a slow palm."""
    times = _irregular_times(60)
    hands = [_hand(_at(0.4 * np.sin(4 * t), 0.0, 0.7)) for t in times]
    for out in _run(HandSmoother(), hands, times):
        np.testing.assert_allclose(out.joints - out.joints[0], SHAPE, atol=1e-6)


def test_rotation_near_a_half_turn_does_not_swing_the_wrong_way():
    """Near 180 degrees the quaternion's sign flips between frames; the filter must not
    average q and -q (which would pass through the identity)."""
    smoother = HandSmoother(SmoothingConfig(beta=0.0))
    joints = _at(0.0, 0.0, 0.5)
    for frame, time in enumerate(_irregular_times(40)):
        angle = np.pi + (0.05 if frame % 2 else -0.05)
        rotation = Rotation.from_rotvec([0.0, angle, 0.0]).as_matrix()
        out = smoother(_hand(joints, rotation), time, CAMERA)
        difference = Rotation.from_matrix(out.wrist_rotation).inv() * Rotation.from_matrix(rotation)
        assert difference.magnitude() < 0.15


def test_losing_the_hand_resets_the_smoother():
    smoother = HandSmoother()
    times = _irregular_times(40)
    _run(smoother, _jittery_hands(30), times[:30])
    lost = smoother(HandResult(side=HandSide.RIGHT), times[30], CAMERA)
    assert not lost.valid
    moved = _hand(_at(0.3, 0.3, 0.9))
    back = smoother(moved, times[31], CAMERA)
    np.testing.assert_allclose(back.joints, moved.joints, atol=1e-6)  # no memory of before


def test_time_going_backwards_resets_the_hand_smoother(caplog):
    smoother = HandSmoother()
    hands = _jittery_hands(20)
    for index, hand in enumerate(hands[:10]):
        smoother(hand, 100.0 + index / 30.0, CAMERA)
    with caplog.at_level("WARNING"):
        out = smoother(hands[10], 5.0, CAMERA)  # a replayed bag started over
    assert "backwards" in caplog.text
    np.testing.assert_allclose(out.joints, hands[10].joints, atol=1e-6)


def test_disabled_smoothing_returns_the_input_values_as_new_objects():
    smoother = HandSmoother(SmoothingConfig(enabled=False))
    hands = _jittery_hands(5)
    for index, hand in enumerate(hands):
        out = smoother(hand, index / 30.0, CAMERA)
        assert out is not hand
        assert not np.shares_memory(out.joints, hand.joints)
        np.testing.assert_array_equal(out.joints, hand.joints)
        np.testing.assert_array_equal(out.keypoints_2d, hand.keypoints_2d)
        np.testing.assert_array_equal(out.wrist_rotation, hand.wrist_rotation)


def test_the_input_is_never_modified():
    hands = _jittery_hands(10)
    before = [(h.joints.copy(), h.vertices.copy(), h.keypoints_2d.copy()) for h in hands]
    outputs = _run(HandSmoother(), hands, np.arange(10) / 30.0)
    outputs[-1].joints[:] = 0.0  # nor shared with the output
    for hand, (joints, vertices, keypoints) in zip(hands, before, strict=True):
        np.testing.assert_array_equal(hand.joints, joints)
        np.testing.assert_array_equal(hand.vertices, vertices)
        np.testing.assert_array_equal(hand.keypoints_2d, keypoints)


def test_joint_only_hands_are_smoothed_without_vertices():
    hands = [_hand(h.joints, h.wrist_rotation, vertices=False) for h in _jittery_hands(5)]
    outputs = _run(HandSmoother(), hands, np.arange(5) / 30.0)
    assert all(out.vertices is None for out in outputs)
    assert np.abs(outputs[-1].joints - hands[-1].joints).max() > 1e-4


def test_two_hand_smoother_keeps_the_relative_translation_on_the_wrists():
    smoother = TwoHandSmoother()
    rights = _jittery_hands(20, seed=1)
    lefts = _jittery_hands(20, seed=2)
    for index, (right, left) in enumerate(zip(rights, lefts, strict=True)):
        left = _hand(left.joints + np.array([0.2, 0.0, 0.0]), side=HandSide.LEFT)
        result = TwoHandResult(right=right, left=left, relative_translation=(0.2, 0.0, 0.0))
        out = smoother(result, index / 30.0, CAMERA)
        np.testing.assert_allclose(
            out.relative_translation,
            out.left.wrist_position - out.right.wrist_position,
            atol=1e-6,
        )
    assert out.right.side is HandSide.RIGHT and out.left.side is HandSide.LEFT


def _two_hands_at(x: float) -> TwoHandResult:
    """Both hands still, moved `x` metres to the right."""
    right = _hand(_at(x, 0.0, 0.6))
    left = dataclasses.replace(right, side=HandSide.LEFT)
    return TwoHandResult(right=right, left=left, relative_translation=(0.0, 0.0, 0.0))


def test_new_cutoffs_keep_what_is_filtered_so_far_and_switching_restarts():
    smoother = TwoHandSmoother(SmoothingConfig(min_cutoff=1.0, beta=0.0))
    smoother(_two_hands_at(0.0), 0.0, CAMERA)
    smoother(_two_hands_at(0.0), 0.1, CAMERA)
    slow = SmoothingConfig(min_cutoff=1e-3, beta=0.0)
    smoother.reconfigure(slow)
    held = smoother(_two_hands_at(0.05), 0.2, CAMERA)
    assert smoother.config == slow and smoother.right.config == slow
    start = _two_hands_at(0.0).right.wrist_position
    assert np.abs(held.right.wrist_position - start).max() < 1e-4

    smoother.reconfigure(SmoothingConfig(enabled=False))
    np.testing.assert_array_equal(
        smoother(_two_hands_at(0.3), 0.3, CAMERA).right.wrist_position,
        _two_hands_at(0.3).right.wrist_position,
    )
    # Switched on again, it starts afresh: the first sample passes unchanged.
    smoother.reconfigure(slow)
    np.testing.assert_allclose(
        smoother(_two_hands_at(0.6), 0.4, CAMERA).right.wrist_position,
        _two_hands_at(0.6).right.wrist_position,
    )
    with pytest.raises(ValueError, match="min_cutoff must be positive"):
        smoother.reconfigure(dataclasses.replace(slow, min_cutoff=0.0))
