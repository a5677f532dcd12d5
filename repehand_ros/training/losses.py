"""The official training losses: eight L1 terms on MANO parameters, joints and the hands' relation.

Every term is a masked L1 as the official `CoordLoss` / `ParamLoss` compute it,
`|prediction - target| * valid` per element, with NaN elements set to zero
("prevent NaN loss"), then the mean over all elements of both hands together
(right and left concatenated; the official trainer's `loss[k].mean()`), so a
masked-out element counts as a zero error rather than leaving the mean. A NaN
element set to zero also passes no gradient (torch's sign(NaN) is 0). Each
term is multiplied by its weight in `LOSS_WEIGHTS`; the training loss is
their sum. How many elements were NaN is reported (`Losses.nan_elements`).

The predicted joints come from the MANO layer as the official `get_coord`
makes them (`repehand_ros.mano.layer.ManoHand`): joints regressed from the
posed mesh in MANO's frame, projected by the weak-perspective camera there,
then made wrist-relative. The terms, in the official order (names are the
keys of `LOSS_WEIGHTS`; targets and masks are the sample keys of
`repehand_ros.training.augmentation.HAND_KEYS`):

- `rel_trans` (x1): left wrist minus right wrist (B, 3), metres; mask `rel_trans_valid`.
- `mano_pose` (x1): root orientation + 15 finger joints, axis-angle (B, 2 x 48); `mano_valid`.
- `mano_shape` (x1): shape coefficients (B, 2 x 10); `mano_valid`.
- `joint_cam` (x10): the predicted wrist-relative joints (metres) against the
  annotated 3D joints; mask `joint_valid` (the official also multiplies by
  `is_3D`, 1 for InterHand2.6M, the only training set).
- `mano_joint_cam` (x10): the same joints against the MANO fit's joints; `mano_valid`.
- `joint_img` (x1): the soft-argmax joints (x, y heatmap cells, z depth cell)
  against the annotated ones; mask `joint_trunc` (valid and inside the grid).
- `mano_joint_img` (x1): the soft-argmax joints against the MANO fit's joints
  in the same units; mask `mano_joint_trunc` (inside the grid).
- `joint_proj` (x1): x = s X + tx, y = s Y + ty of the predicted joints in
  MANO's frame (heatmap cells) against the annotated 2D joints; mask
  `joint_valid`, joints outside the grid included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from repehand_ros.mano.layer import ManoHandOutput, ManoPair
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput

HANDS: tuple[str, str] = ("right", "left")

LOSS_WEIGHTS: dict[str, float] = {
    "rel_trans": 1.0,
    "mano_pose": 1.0,
    "mano_shape": 1.0,
    "joint_cam": 10.0,
    "mano_joint_cam": 10.0,
    "joint_img": 1.0,
    "mano_joint_img": 1.0,
    "joint_proj": 1.0,
}
"""The official weight of each L1 term, in the official order."""


@dataclass
class Losses:
    """One batch's loss.

    Attributes:
        terms: each term of `LOSS_WEIGHTS`, weighted, a scalar tensor.
        total: their sum, the loss to minimise.
        nan_elements: how many loss elements were NaN and counted as zero
            (an integer scalar tensor, kept on the device).
    """

    terms: dict[str, torch.Tensor]
    total: torch.Tensor
    nan_elements: torch.Tensor


def masked_l1(
    prediction: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """mean(|prediction - target| * valid) with NaN elements as zero, and how many were NaN.

    `valid` is broadcast over trailing dimensions.
    """
    while valid.ndim < prediction.ndim:
        valid = valid.unsqueeze(-1)
    error = (prediction - target).abs() * valid.to(prediction.dtype)
    nan = torch.isnan(error)
    return error.masked_fill(nan, 0.0).mean(), nan.sum()


def weak_perspective(joints: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """2D projection (B, J, 2) of joints (B, J, 3) by the camera (B, 3) = (scale, tx, ty)."""
    return joints[..., :2] * cam[:, None, :1] + cam[:, None, 1:]


def predicted_pose(hand: HandPrediction) -> torch.Tensor:
    """The prediction's MANO pose (B, 48): root orientation then finger joints, axis-angle."""
    return torch.cat((hand.root_pose, hand.hand_pose), dim=1)


def _both(batch: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
    return torch.cat([batch[f"{hand}_{key}"] for hand in HANDS], dim=1)


def _per_element(batch: Mapping[str, torch.Tensor], key: str, count: int) -> torch.Tensor:
    """A per-hand flag (B,) as a mask (B, 2 x count) over both hands' elements."""
    return torch.cat([batch[f"{hand}_{key}"][:, None].expand(-1, count) for hand in HANDS], dim=1)


def compute_losses(
    output: RepeHandOutput,
    batch: Mapping[str, torch.Tensor],
    mano: ManoPair,
    weights: Mapping[str, float] | None = None,
) -> Losses:
    """The weighted loss terms of one batch, their sum and the NaN count.

    `weights` overrides some of `LOSS_WEIGHTS` (the others keep the official
    value). `batch` holds the targets of
    `repehand_ros.training.augmentation.SAMPLE_KEYS` (batched, on the
    network's device); `mano` makes the predicted meshes.
    """
    unknown = sorted(set(weights or {}) - set(LOSS_WEIGHTS))
    if unknown:
        raise ValueError(f"unknown loss terms {unknown}: expected some of {sorted(LOSS_WEIGHTS)}")
    weights = {**LOSS_WEIGHTS, **(weights or {})}
    layers = {"right": mano.right, "left": mano.left}
    hands = {"right": output.right, "left": output.left}
    meshes: dict[str, ManoHandOutput] = {
        name: layers[name](hands[name].root_pose, hands[name].hand_pose, hands[name].shape)
        for name in HANDS
    }
    joint_cam = torch.cat([meshes[h].joints for h in HANDS], dim=1)
    joint_proj = torch.cat(
        [weak_perspective(meshes[h].mano_frame_joints, hands[h].cam) for h in HANDS], dim=1
    )
    joint_img = torch.cat([hands[h].joints_hm for h in HANDS], dim=1)
    joints = joint_cam.shape[1] // 2
    pose_size, shape_size = batch["right_mano_pose"].shape[1], batch["right_mano_shape"].shape[1]

    parts = {
        "rel_trans": masked_l1(
            output.relative_translation, batch["rel_trans"], batch["rel_trans_valid"][:, None]
        ),
        "mano_pose": masked_l1(
            torch.cat([predicted_pose(hands[h]) for h in HANDS], dim=1),
            _both(batch, "mano_pose"),
            _per_element(batch, "mano_valid", pose_size),
        ),
        "mano_shape": masked_l1(
            torch.cat([hands[h].shape for h in HANDS], dim=1),
            _both(batch, "mano_shape"),
            _per_element(batch, "mano_valid", shape_size),
        ),
        "joint_cam": masked_l1(joint_cam, _both(batch, "joint_cam"), _both(batch, "joint_valid")),
        "mano_joint_cam": masked_l1(
            joint_cam, _both(batch, "mano_joint_cam"), _per_element(batch, "mano_valid", joints)
        ),
        "joint_img": masked_l1(joint_img, _both(batch, "joint_img"), _both(batch, "joint_trunc")),
        "mano_joint_img": masked_l1(
            joint_img, _both(batch, "mano_joint_img"), _both(batch, "mano_joint_trunc")
        ),
        "joint_proj": masked_l1(
            joint_proj, _both(batch, "joint_img")[..., :2], _both(batch, "joint_valid")
        ),
    }
    terms = {name: value * weights[name] for name, (value, _) in parts.items()}
    return Losses(
        terms=terms,
        total=torch.stack(list(terms.values())).sum(),
        nan_elements=torch.stack([nan for _, nan in parts.values()]).sum(),
    )


__all__ = [
    "LOSS_WEIGHTS",
    "Losses",
    "compute_losses",
    "masked_l1",
    "predicted_pose",
    "weak_perspective",
]
