"""The words every part of the package shares: which hand, and its 21 joints.

Order of the joints: wrist, then thumb, index, middle, ring and pinky, each
from the knuckle nearest the palm (_1) to the fingertip (_4). This is the
order of HandMesh.joints and HandMesh.keypoints_2d, of the network's heatmaps
and of the 21 joints regressed from the MANO mesh. Nothing here imports
anything: this module is the bottom floor of the package.
"""

from __future__ import annotations

import enum


class HandSide(enum.IntEnum):
    """The person's right or left hand (values match HandMesh.RIGHT / LEFT)."""

    RIGHT = 0
    LEFT = 1

    @property
    def other(self) -> HandSide:
        """The other hand: what a mirror shows this one as."""
        return HandSide.LEFT if self is HandSide.RIGHT else HandSide.RIGHT


FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")

JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    *(f"{finger}_{k}" for finger in FINGERS for k in range(1, 5)),
)

NUM_JOINTS = len(JOINT_NAMES)

WRIST = 0

# Parent of each joint along the kinematic chain (-1 for the wrist root): each
# finger's first joint hangs off the wrist, the others off the previous joint.
JOINT_PARENTS: tuple[int, ...] = (
    -1,
    *(WRIST if k == 0 else 4 * f + k for f in range(len(FINGERS)) for k in range(4)),
)

# The bones of the hand skeleton as (parent, child) index pairs.
BONES: tuple[tuple[int, int], ...] = tuple(
    (parent, child) for child, parent in enumerate(JOINT_PARENTS) if parent >= 0
)
