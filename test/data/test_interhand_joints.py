"""InterHand2.6M's joint order and RepeHand's: the mapping and the conversions."""

from __future__ import annotations

import numpy as np

from repehand_ros.data.interhand_joints import (
    INTERHAND_JOINT_NAMES,
    REPEHAND_FROM_INTERHAND,
    interhand_to_repehand,
    repehand_to_interhand,
)
from repehand_ros.hands import JOINT_NAMES


def test_joint_order_mapping_matches_interhand_skeleton():
    # InterHand2.6M, one hand: 0 thumb4 (tip), 1 thumb3, 2 thumb2, 3 thumb1, 4 index4 ...,
    # 8 middle4, 11 middle1, 12 ring4, 16 pinky4, 19 pinky1, 20 wrist.
    assert INTERHAND_JOINT_NAMES[0] == "thumb_4"
    assert INTERHAND_JOINT_NAMES[3] == "thumb_1"
    assert INTERHAND_JOINT_NAMES[11] == "middle_1"
    assert INTERHAND_JOINT_NAMES[16] == "pinky_4"
    assert INTERHAND_JOINT_NAMES[20] == "wrist"
    assert REPEHAND_FROM_INTERHAND[JOINT_NAMES.index("wrist")] == 20
    assert REPEHAND_FROM_INTERHAND[JOINT_NAMES.index("thumb_4")] == 0
    assert REPEHAND_FROM_INTERHAND[JOINT_NAMES.index("middle_1")] == 11
    assert REPEHAND_FROM_INTERHAND[JOINT_NAMES.index("pinky_1")] == 19
    assert sorted(REPEHAND_FROM_INTERHAND) == list(range(21))


def test_interhand_to_repehand_splits_hands_and_reorders():
    joints = np.arange(42, dtype=float)[:, None] * np.ones(3)
    reordered = interhand_to_repehand(joints)
    assert reordered.shape == (2, 21, 3)
    assert reordered[0, 0, 0] == 20  # right wrist
    assert reordered[1, 0, 0] == 41  # left wrist
    assert reordered[0, 4, 0] == 0  # right thumb tip
    assert reordered[1, 9, 0] == 21 + 11  # left middle_1


def test_repehand_to_interhand_undoes_interhand_to_repehand():
    joints = np.random.default_rng(0).normal(size=(5, 42, 3))
    np.testing.assert_array_equal(repehand_to_interhand(interhand_to_repehand(joints)), joints)
