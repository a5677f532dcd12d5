"""The paper's training losses: seven L1 terms on MANO parameters, joints and the hands' relation.

Every term is a masked L1: `mean(|prediction - target| * valid)` over all
elements of both hands together (right and left concatenated), the
normalisation of the official code base, so a masked-out element counts as a
zero error rather than being dropped from the mean. Each term is multiplied
by its weight in `LOSS_WEIGHTS`; the training loss is their sum.

The terms (names are the keys of `LOSS_WEIGHTS` and of `compute_losses`' result):

- `mano_pose` (x1): MANO pose, root orientation + 15 finger joints, axis-angle
  radians (B, 2 x 48), against the annotated MANO pose.
- `mano_shape` (x1): MANO shape coefficients (B, 2 x 10).
- `rel_trans` (x1): left wrist minus right wrist, metres (B, 3), where both
  wrists are annotated.
- `joint_cam` (x10): the 21 joints of the MANO mesh made from the predicted
  parameters, wrist-relative metres, against the dataset's annotated 3D joints.
- `mano_joint_cam` (x10): the same predicted joints against the joints of the
  mesh made from the annotated MANO parameters (where MANO is annotated).
- `joint_img` (x1): the soft-argmax joint coordinates (x, y in heatmap cells
  of the crop, z the depth cell around the wrist) against the annotated
  joints in the same units, where they fall inside the 7 x 7 x 7 grid.
- `joint_proj` (x1): the weak-perspective 2D projection of the predicted
  3D joints, x = X * scale + tx, y = Y * scale + ty (heatmap cells), against
  the annotated 2D joints.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from repehand_ros.mano.layer import ManoPair
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput

HANDS: tuple[str, str] = ("right", "left")

LOSS_WEIGHTS: dict[str, float] = {
    "mano_pose": 1.0,
    "mano_shape": 1.0,
    "rel_trans": 1.0,
    "joint_cam": 10.0,
    "mano_joint_cam": 10.0,
    "joint_img": 1.0,
    "joint_proj": 1.0,
}
"""The paper's weight of each L1 term."""


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """mean(|prediction - target| * valid), `valid` broadcast over trailing dimensions."""
    while valid.ndim < prediction.ndim:
        valid = valid.unsqueeze(-1)
    return ((prediction - target).abs() * valid.to(prediction.dtype)).mean()


def weak_perspective(joints: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """2D projection (B, J, 2) of joints (B, J, 3) by the camera (B, 3) = (scale, tx, ty)."""
    return joints[..., :2] * cam[:, None, :1] + cam[:, None, 1:]


def _both(batch: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
    return torch.cat([batch[f"{hand}_{key}"] for hand in HANDS], dim=1)


def _per_joint(batch: Mapping[str, torch.Tensor], key: str, joints: int) -> torch.Tensor:
    """A per-hand scalar flag (B,) as a per-joint mask (B, 2 x joints)."""
    return torch.cat([batch[f"{hand}_{key}"][:, None].expand(-1, joints) for hand in HANDS], dim=1)


def predicted_pose(hand: HandPrediction) -> torch.Tensor:
    """The prediction's MANO pose (B, 48): root orientation then finger joints, axis-angle."""
    return torch.cat((hand.root_pose, hand.hand_pose), dim=1)


def compute_losses(
    output: RepeHandOutput,
    batch: Mapping[str, torch.Tensor],
    mano: ManoPair,
    weights: Mapping[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """The weighted loss terms of one batch, plus their sum under `total`.

    `weights` overrides some of `LOSS_WEIGHTS` (the others keep the paper's value).
    `batch` holds the targets of `repehand_ros.training.augmentation.SAMPLE_KEYS`
    (batched, on the network's device); `mano` gives the predicted and the
    annotated MANO joints.
    """
    unknown = sorted(set(weights or {}) - set(LOSS_WEIGHTS))
    if unknown:
        raise ValueError(f"unknown loss terms {unknown}: expected some of {sorted(LOSS_WEIGHTS)}")
    weights = {**LOSS_WEIGHTS, **(weights or {})}
    layers = {"right": mano.right, "left": mano.left}
    hands = {"right": output.right, "left": output.left}

    joints, target_mano_joints, projections = [], [], []
    for name in HANDS:
        hand = hands[name]
        joints_3d = layers[name](hand.root_pose, hand.hand_pose, hand.shape).joints
        joints.append(joints_3d)
        projections.append(weak_perspective(joints_3d, hand.cam))
        with torch.no_grad():
            pose = batch[f"{name}_mano_pose"]
            target = layers[name](pose[:, :3], pose[:, 3:], batch[f"{name}_mano_shape"])
        target_mano_joints.append(target.joints)
    pred_joints = torch.cat(joints, dim=1)
    num_joints = joints[0].shape[1]

    terms = {
        "mano_pose": masked_l1(
            torch.cat([predicted_pose(hands[h]) for h in HANDS], dim=1),
            _both(batch, "mano_pose"),
            _per_joint(batch, "mano_valid", batch["right_mano_pose"].shape[1]),
        ),
        "mano_shape": masked_l1(
            torch.cat([hands[h].shape for h in HANDS], dim=1),
            _both(batch, "mano_shape"),
            _per_joint(batch, "mano_valid", batch["right_mano_shape"].shape[1]),
        ),
        "rel_trans": masked_l1(
            output.relative_translation, batch["rel_trans"], batch["rel_trans_valid"][:, None]
        ),
        "joint_cam": masked_l1(pred_joints, _both(batch, "joint_cam"), _both(batch, "joint_valid")),
        "mano_joint_cam": masked_l1(
            pred_joints,
            torch.cat(target_mano_joints, dim=1),
            _per_joint(batch, "mano_valid", num_joints),
        ),
        "joint_img": masked_l1(
            torch.cat([hands[h].joints_hm for h in HANDS], dim=1),
            _both(batch, "joint_img"),
            _both(batch, "joint_img_valid"),
        ),
        "joint_proj": masked_l1(
            torch.cat(projections, dim=1),
            _both(batch, "joint_img")[..., :2],
            _both(batch, "joint_proj_valid"),
        ),
    }
    weighted = {name: value * weights[name] for name, value in terms.items()}
    weighted["total"] = torch.stack(list(weighted.values())).sum()
    return weighted
