"""InterHand2.6M's joint order and RepeHand's, and the conversions between them.

InterHand2.6M lists the right hand's 21 joints (0-20), then the left hand's
(21-41); within a hand: thumb tip (thumb4), thumb3, thumb2, thumb1, then
index 4..1, middle 4..1, ring 4..1, pinky 4..1 (tip first, knuckle nearest
the palm last), and the wrist last (20 / 41). RepeHand's order
(`repehand_ros.hands.JOINT_NAMES`) is wrist first, then each finger from its
knuckle to its tip. `REPEHAND_FROM_INTERHAND[k]` is the InterHand index
(within one hand) of RepeHand joint k:

    wrist -> 20; thumb_1..4 -> 3, 2, 1, 0; index_1..4 -> 7, 6, 5, 4;
    middle_1..4 -> 11, 10, 9, 8; ring_1..4 -> 15, 14, 13, 12;
    pinky_1..4 -> 19, 18, 17, 16.
"""

from __future__ import annotations

import numpy as np

from repehand_ros.hands import FINGERS, JOINT_NAMES

HANDS: tuple[str, str] = ("right", "left")
"""The order hands are stacked in everywhere in `repehand_ros.data`."""
HAND_TYPES: tuple[str, ...] = ("right", "left", "interacting")
"""The `hand_type` values of an annotation."""

INTERHAND_JOINTS_PER_HAND = 21
INTERHAND_WRIST = 20

INTERHAND_JOINT_NAMES: tuple[str, ...] = (
    *(f"{finger}_{k}" for finger in FINGERS for k in (4, 3, 2, 1)),
    "wrist",
)
"""One hand's joints in InterHand2.6M's order (names as RepeHand spells them)."""

REPEHAND_FROM_INTERHAND: tuple[int, ...] = tuple(
    INTERHAND_JOINT_NAMES.index(name) for name in JOINT_NAMES
)
"""For each RepeHand joint, its index among one InterHand2.6M hand's 21 joints."""


def interhand_to_repehand(joints: np.ndarray) -> np.ndarray:
    """InterHand2.6M joints (..., 42, D) to RepeHand order, hands stacked: (..., 2, 21, D)."""
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != 2 * INTERHAND_JOINTS_PER_HAND:
        raise ValueError(f"expected (..., 42, D) InterHand2.6M joints, got shape {joints.shape}")
    per_hand = joints.reshape(*joints.shape[:-2], 2, INTERHAND_JOINTS_PER_HAND, joints.shape[-1])
    return per_hand[..., list(REPEHAND_FROM_INTERHAND), :]


def repehand_to_interhand(joints: np.ndarray) -> np.ndarray:
    """The inverse of `interhand_to_repehand`: (..., 2, 21, D) hands to (..., 42, D)."""
    joints = np.asarray(joints)
    if joints.ndim < 3 or joints.shape[-3:-1] != (2, INTERHAND_JOINTS_PER_HAND):
        raise ValueError(f"expected (..., 2, 21, D) RepeHand joints, got shape {joints.shape}")
    per_hand = np.empty_like(joints)
    per_hand[..., list(REPEHAND_FROM_INTERHAND), :] = joints
    return per_hand.reshape(*joints.shape[:-3], 2 * INTERHAND_JOINTS_PER_HAND, joints.shape[-1])


__all__ = [
    "HANDS",
    "HAND_TYPES",
    "INTERHAND_JOINTS_PER_HAND",
    "INTERHAND_JOINT_NAMES",
    "INTERHAND_WRIST",
    "REPEHAND_FROM_INTERHAND",
    "interhand_to_repehand",
    "repehand_to_interhand",
]
