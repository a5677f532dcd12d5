"""What the network returns: per-hand predictions and the two-hand relation, as dataclasses.

The flat names (`right_joints_hm`, ...) are the ONNX output names, so a PyTorch
result and an ONNX Runtime result convert to the same dataclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

HANDS: tuple[str, str] = ("right", "left")


@dataclass
class HandPrediction:
    """The network's estimate for one hand (B = batch size).

    Attributes:
        joints_hm: (B, 21, 3) soft-argmax joint positions (x, y, z) in heatmap cells
            (0..D-1 on each axis of the D x D x D grid, D = input size / 32: 7 at 224;
            cell i of x, y is crop pixel 32 i), `repehand_ros.mano.joints.JOINT_NAMES` order.
        root_rotmat: (B, 3, 3) global (wrist) rotation of the MANO hand.
        pose_rotmat: (B, 15, 3, 3) rotations of the 15 finger joints, MANO joint order.
        root_pose: (B, 3) `root_rotmat` as an axis-angle vector in radians.
        hand_pose: (B, 45) `pose_rotmat` as 15 axis-angle vectors in radians, flattened.
        shape: (B, 10) MANO shape coefficients (betas).
        cam: (B, 3) weak-perspective camera (scale, tx, ty) in heatmap units: it projects
            the MANO joints in MANO's own frame, x = scale * X + tx, y = scale * Y + ty
            (`repehand_ros.mano.layer.ManoHandOutput.mano_frame_joints`).
    """

    joints_hm: Any
    root_rotmat: Any
    pose_rotmat: Any
    root_pose: Any
    hand_pose: Any
    shape: Any
    cam: Any


HAND_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(HandPrediction))

OUTPUT_NAMES: tuple[str, ...] = (
    *(f"{hand}_{field}" for hand in HANDS for field in HAND_FIELDS),
    "relative_translation",
)
"""The network's outputs as a flat, ordered list of names (the ONNX output names)."""


@dataclass
class RepeHandOutput:
    """Both hands as the official model defines them.

    Attributes:
        right: the right hand's prediction.
        left: the left hand's prediction.
        relative_translation: (B, 3) left wrist minus right wrist, in metres.

    The fields are torch tensors when the network runs in PyTorch and numpy
    arrays when they come from ONNX Runtime (`from_named`).
    """

    right: HandPrediction
    left: HandPrediction
    relative_translation: Any

    def to_named(self) -> dict[str, Any]:
        """The outputs keyed by `OUTPUT_NAMES`, in that order."""
        named = {
            f"{hand}_{field}": getattr(getattr(self, hand), field)
            for hand in HANDS
            for field in HAND_FIELDS
        }
        named["relative_translation"] = self.relative_translation
        return named

    @classmethod
    def from_named(cls, named: Mapping[str, Any]) -> RepeHandOutput:
        """Rebuild the dataclass from outputs keyed by `OUTPUT_NAMES` (e.g. ONNX Runtime's)."""
        missing = [name for name in OUTPUT_NAMES if name not in named]
        if missing:
            raise KeyError(f"network outputs missing: {', '.join(missing)}")
        hands = {
            hand: HandPrediction(**{field: named[f"{hand}_{field}"] for field in HAND_FIELDS})
            for hand in HANDS
        }
        return cls(
            right=hands["right"],
            left=hands["left"],
            relative_translation=named["relative_translation"],
        )
