"""One-Euro smoothing of the hands for teleoperation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from repehand_ros.hands import HandSide
from repehand_ros.pipeline.results import HandResult, TwoHandResult
from repehand_ros.pipeline.smoothing import (
    HandSmoother,
    OneEuroFilter,
    SmoothingConfig,
    TwoHandSmoother,
)


def _irregular_times(count: int, rate: float = 30.0, seed: int = 0) -> np.ndarray:
    """Frame times at about `rate` Hz with +-30% jitter, as a real camera stream gives."""
    steps = np.random.default_rng(seed).uniform(0.7, 1.3, size=count) / rate
    return np.cumsum(steps)


def test_a_constant_signal_stays_constant():
    value = np.random.default_rng(0).normal(size=(21, 3))
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=20.0)
    for time in _irregular_times(100):
        np.testing.assert_allclose(one_euro(value, time), value, rtol=0, atol=1e-12)


def test_noise_on_a_slow_signal_is_reduced():
    times = _irregular_times(600)
    truth = 0.03 * np.sin(2 * np.pi * 0.05 * times)  # a hand drifting 3 cm over 20 s
    noisy = truth + np.random.default_rng(1).normal(scale=0.005, size=times.shape)
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=20.0)
    filtered = np.array([one_euro(np.array([x]), t)[0] for x, t in zip(noisy, times, strict=True)])
    settled = slice(30, None)
    raw_error = np.sqrt(np.mean((noisy - truth)[settled] ** 2))
    filtered_error = np.sqrt(np.mean((filtered - truth)[settled] ** 2))
    assert filtered_error < 0.5 * raw_error


def test_beta_keeps_the_lag_small_on_a_fast_move():
    times = np.arange(1, 61) / 30.0
    ramp = 1.0 * times  # 1 m/s
    lags = {}
    for beta in (0.0, 20.0):
        one_euro = OneEuroFilter(min_cutoff=1.0, beta=beta)
        filtered = [one_euro(np.array([x]), t)[0] for x, t in zip(ramp, times, strict=True)]
        lags[beta] = ramp[-1] - filtered[-1]
    assert lags[0.0] > 0.1  # a plain 1 Hz low-pass trails a 1 m/s hand by ~15 cm
    assert lags[20.0] < 0.03
    assert lags[20.0] < 0.2 * lags[0.0]


def test_the_frame_rate_does_not_change_the_response():
    """dt comes from the timestamps: a step looks the same at 30 and at 90 frames per second."""
    after = {}
    for rate in (30.0, 90.0):
        one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.0)
        one_euro(np.zeros(1), 0.0)
        frames = np.arange(1, int(0.5 * rate) + 1) / rate
        after[rate] = [one_euro(np.ones(1), t)[0] for t in frames][-1]
    assert 0.85 < after[30.0] < 1.0
    assert after[90.0] == pytest.approx(after[30.0], abs=0.03)


def test_time_going_backwards_restarts_the_filter():
    one_euro = OneEuroFilter()
    one_euro(np.zeros(3), 10.0)
    assert one_euro(np.ones(3), 10.1)[0] < 0.9  # smoothed
    np.testing.assert_array_equal(one_euro(np.full(3, 5.0), 2.0), np.full(3, 5.0))


@pytest.mark.parametrize("kwargs", [{"min_cutoff": 0.0}, {"beta": -1.0}, {"d_cutoff": np.nan}])
def test_bad_filter_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match="OneEuroFilter"):
        OneEuroFilter(**kwargs)


def _hand(joints: np.ndarray, rotation: np.ndarray, vertices: bool = True) -> HandResult:
    return HandResult(
        side=HandSide.RIGHT,
        valid=True,
        confidence=0.9,
        joints=joints,
        vertices=np.tile(joints[:1], (778, 1)) if vertices else None,
        wrist_rotation=rotation,
        wrist_position=joints[0],
        mano_pose=np.full(48, 0.1),
        mano_shape=np.full(10, 0.2),
        keypoints_2d=np.full((21, 2), 100.0),
    )


def _jittery_hands(count: int, seed: int = 0) -> list[HandResult]:
    """A hand still at 0.6 m, its joints jittering 5 mm and its rotation 3 degrees."""
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=0.05, size=(21, 3)) + np.array([0.0, 0.0, 0.6])
    base[0] = (0.0, 0.0, 0.6)
    hands = []
    for _ in range(count):
        joints = base + rng.normal(scale=0.005, size=(21, 3))
        jitter = Rotation.from_rotvec(rng.normal(scale=np.radians(3.0), size=3))
        hands.append(
            _hand(joints, (jitter * Rotation.from_euler("z", 40, degrees=True)).as_matrix())
        )
    return hands


def test_hand_smoother_reduces_jitter_and_keeps_rotations_proper():
    smoother = HandSmoother()
    hands = _jittery_hands(90)
    times = _irregular_times(90)
    out = [smoother(hand, t) for hand, t in zip(hands, times, strict=True)]

    def spread(values):
        return float(np.mean(np.std(np.array(values[30:]), axis=0)))

    assert spread([h.joints for h in out]) < 0.5 * spread([h.joints for h in hands])
    assert spread([h.wrist_position for h in out]) < 0.5 * spread([h.wrist_position for h in hands])
    np.testing.assert_allclose(out[-1].vertices[0], out[-1].joints[0], atol=1e-6)
    for hand in out:
        rotation = hand.wrist_rotation.astype(np.float64)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-5)
        assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-5)
    angles = [Rotation.from_matrix(h.wrist_rotation).as_rotvec()[2] for h in out[30:]]
    assert np.std(angles) < 0.5 * np.radians(3.0)
    np.testing.assert_array_equal(out[-1].mano_pose, hands[-1].mano_pose)  # passes through


def test_rotation_near_a_half_turn_does_not_swing_the_wrong_way():
    """Near 180 degrees the quaternion's sign flips between frames; the filter must not
    average q and -q (which would pass through the identity). Without the speed term the
    filter is a plain low-pass, which would show such averaging at once."""
    smoother = HandSmoother(SmoothingConfig(rotation_beta=0.0))
    joints = np.tile([0.0, 0.0, 0.5], (21, 1))
    joints[1:] += np.random.default_rng(3).normal(scale=0.05, size=(20, 3))
    for frame, time in enumerate(_irregular_times(40)):
        angle = np.pi + (0.05 if frame % 2 else -0.05)
        rotation = Rotation.from_rotvec([0.0, angle, 0.0]).as_matrix()
        out = smoother(_hand(joints, rotation), time)
        difference = Rotation.from_matrix(out.wrist_rotation).inv() * Rotation.from_matrix(rotation)
        assert difference.magnitude() < 0.15


def test_losing_the_hand_resets_the_smoother():
    smoother = HandSmoother()
    times = _irregular_times(40)
    for hand, t in zip(_jittery_hands(30), times[:30], strict=True):
        smoother(hand, t)
    lost = smoother(HandResult(side=HandSide.RIGHT), times[30])
    assert not lost.valid
    moved = _jittery_hands(1, seed=9)[0]
    moved_joints = moved.joints + 0.3
    back = smoother(_hand(moved_joints, moved.wrist_rotation), times[31])
    np.testing.assert_allclose(back.joints, moved_joints, atol=1e-6)  # no memory of before


def test_time_going_backwards_resets_the_hand_smoother(caplog):
    smoother = HandSmoother()
    hands = _jittery_hands(20)
    for index, hand in enumerate(hands[:10]):
        smoother(hand, 100.0 + index / 30.0)
    with caplog.at_level("WARNING"):
        out = smoother(hands[10], 5.0)  # a replayed bag started over
    assert "backwards" in caplog.text
    np.testing.assert_allclose(out.joints, hands[10].joints, atol=1e-6)


def test_disabled_smoothing_returns_the_input_values_as_new_objects():
    smoother = HandSmoother(SmoothingConfig(enabled=False))
    hands = _jittery_hands(5)
    for index, hand in enumerate(hands):
        out = smoother(hand, index / 30.0)
        assert out is not hand
        assert not np.shares_memory(out.joints, hand.joints)
        np.testing.assert_array_equal(out.joints, hand.joints)
        np.testing.assert_array_equal(out.wrist_rotation, hand.wrist_rotation)


def test_the_input_is_never_modified():
    smoother = HandSmoother()
    hands = _jittery_hands(10)
    before = [(h.joints.copy(), h.vertices.copy(), h.wrist_rotation.copy()) for h in hands]
    outputs = [smoother(hand, index / 30.0) for index, hand in enumerate(hands)]
    outputs[-1].joints[:] = 0.0  # nor shared with the output
    for hand, (joints, vertices, rotation) in zip(hands, before, strict=True):
        np.testing.assert_array_equal(hand.joints, joints)
        np.testing.assert_array_equal(hand.vertices, vertices)
        np.testing.assert_array_equal(hand.wrist_rotation, rotation)


def test_joint_only_hands_are_smoothed_without_vertices():
    smoother = HandSmoother()
    hands = _jittery_hands(3)
    for index, hand in enumerate(hands):
        out = smoother(_hand(hand.joints, hand.wrist_rotation, vertices=False), index / 30.0)
        assert out.vertices is None


def test_two_hand_smoother_keeps_the_relative_translation_on_the_wrists():
    smoother = TwoHandSmoother()
    rights = _jittery_hands(20, seed=1)
    lefts = _jittery_hands(20, seed=2)
    for index, (right, left) in enumerate(zip(rights, lefts, strict=True)):
        shifted = left.wrist_position + np.array([0.2, 0.0, 0.0])
        left = HandResult(**{**left.__dict__, "side": HandSide.LEFT, "wrist_position": shifted})
        result = TwoHandResult(right=right, left=left, relative_translation=(0.2, 0.0, 0.0))
        out = smoother(result, index / 30.0)
        np.testing.assert_allclose(
            out.relative_translation,
            out.left.wrist_position - out.right.wrist_position,
            atol=1e-6,
        )
    assert out.right.side is HandSide.RIGHT and out.left.side is HandSide.LEFT


def test_new_cutoffs_keep_what_is_filtered_so_far():
    """Retuned to a cut-off near zero, the next sample hardly moves the output: the filter
    went on from its state (a restart would have passed the sample unchanged)."""
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    for step in range(5):
        settled = one_euro(np.array([0.0]), step / 30)
    one_euro.retune(min_cutoff=1e-3, beta=0.0, d_cutoff=1.0)
    moved = one_euro(np.array([1.0]), 5 / 30)
    assert settled[0] == 0.0 and 0.0 < moved[0] < 1e-3
    with pytest.raises(ValueError, match="min_cutoff must be positive"):
        one_euro.retune(min_cutoff=0.0, beta=0.0, d_cutoff=1.0)
    assert one_euro.min_cutoff == 1e-3


def _two_hands_at(x: float) -> TwoHandResult:
    """Both hands still, moved `x` metres to the right."""
    base = _jittery_hands(1, seed=4)[0]
    right = _hand(base.joints + np.array([x, 0.0, 0.0]), base.wrist_rotation)
    left = HandResult(**{**right.__dict__, "side": HandSide.LEFT})
    return TwoHandResult(right=right, left=left, relative_translation=(0.0, 0.0, 0.0))


def test_a_smoother_reconfigured_between_frames():
    smoother = TwoHandSmoother(SmoothingConfig(min_cutoff=1.0, beta=0.0))
    smoother(_two_hands_at(0.0), 0.0)
    smoother(_two_hands_at(0.0), 0.1)
    slow = SmoothingConfig(min_cutoff=1e-3, beta=0.0, rotation_min_cutoff=1e-3)
    smoother.reconfigure(slow)
    held = smoother(_two_hands_at(0.05), 0.2)
    assert smoother.config == slow and smoother.right.config == slow
    assert np.abs(held.right.wrist_position - _two_hands_at(0.0).right.wrist_position).max() < 1e-4

    smoother.reconfigure(SmoothingConfig(enabled=False))
    np.testing.assert_array_equal(
        smoother(_two_hands_at(0.3), 0.3).right.wrist_position,
        _two_hands_at(0.3).right.wrist_position,
    )
    # Switched on again, it starts afresh: the first sample passes unchanged.
    smoother.reconfigure(slow)
    np.testing.assert_allclose(
        smoother(_two_hands_at(0.6), 0.4).right.wrist_position,
        _two_hands_at(0.6).right.wrist_position,
    )
    with pytest.raises(ValueError, match="beta must be >= 0"):
        smoother.reconfigure(SmoothingConfig(beta=-1.0))
    assert smoother.config == slow
