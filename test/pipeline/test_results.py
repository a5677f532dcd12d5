"""The result dataclasses refuse what a user of them could not rely on."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide
from repehand_ros.pipeline.results import HandResult, TwoHandResult


def test_a_missing_hand_has_zero_arrays_of_the_documented_shapes():
    hand = HandResult(side=HandSide.LEFT)
    assert not hand.valid
    assert hand.joints.shape == (21, 3) and hand.joints.dtype == np.float32
    assert hand.keypoints_2d.shape == (21, 2)
    assert hand.mano_pose.shape == (48,) and hand.mano_shape.shape == (10,)
    assert hand.vertices is None and hand.box is None


def test_wrong_shapes_are_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"joints: expected shape \(21, 3\), got \(20, 3\)"):
        HandResult(side=HandSide.RIGHT, joints=np.zeros((20, 3)))
    with pytest.raises(ValueError, match=r"vertices: expected shape \(778, 3\)"):
        HandResult(side=HandSide.RIGHT, vertices=np.zeros((777, 3)))


def test_nan_in_a_valid_hand_is_refused_naming_hand_and_field():
    joints = np.zeros((21, 3))
    joints[5, 2] = np.nan
    with pytest.raises(ValueError, match="right hand: joints contains NaN"):
        HandResult(side=HandSide.RIGHT, valid=True, confidence=0.9, joints=joints)


def test_confidence_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match=r"confidence must be in \[0, 1\]"):
        HandResult(side=HandSide.RIGHT, confidence=1.5)
    with pytest.raises(ValueError, match="side_confidence"):
        HandResult(side=HandSide.RIGHT, side_confidence=float("nan"))


def test_hands_must_be_on_their_own_side():
    right, left = HandResult(side=HandSide.RIGHT), HandResult(side=HandSide.LEFT)
    with pytest.raises(ValueError, match="`right` must be the right hand"):
        TwoHandResult(right=left, left=right)


def test_boxes_refuse_negative_size_and_nan():
    assert Box(1, 2, 5, 10).width == 4 and Box(1, 2, 5, 10).center == (3.0, 6.0)
    with pytest.raises(ValueError, match="negative size"):
        Box(5, 0, 1, 1)
    with pytest.raises(ValueError, match="finite"):
        Box(0, 0, float("nan"), 1)
