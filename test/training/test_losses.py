"""The paper's L1 losses: zero for perfect predictions, the known value for known offsets."""

from __future__ import annotations

import pytest
import torch

from repehand_ros.mano.layer import ManoPair
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput
from repehand_ros.training.losses import (
    LOSS_WEIGHTS,
    compute_losses,
    masked_l1,
    weak_perspective,
)

BATCH = 3
HANDS = ("right", "left")


@pytest.fixture(scope="module")
def mano(mano_dir) -> ManoPair:
    return ManoPair.from_dir(mano_dir)


def _perfect(mano: ManoPair) -> tuple[RepeHandOutput, dict[str, torch.Tensor]]:
    """A prediction and targets that agree exactly, every mask set."""
    generator = torch.Generator().manual_seed(0)
    batch: dict[str, torch.Tensor] = {}
    hands = {}
    for name, layer in (("right", mano.right), ("left", mano.left)):
        pose = 0.3 * torch.randn(BATCH, 48, generator=generator)
        shape = 0.5 * torch.randn(BATCH, 10, generator=generator)
        cam = torch.tensor([[8.0, 3.0, 3.5]]).repeat(BATCH, 1)
        with torch.no_grad():
            joints = layer(pose[:, :3], pose[:, 3:], shape).joints
        projected = weak_perspective(joints, cam)
        depth = 3.0 + torch.rand(BATCH, 21, 1, generator=generator)
        joint_img = torch.cat((projected, depth), dim=-1)
        batch.update(
            {
                f"{name}_joint_img": joint_img,
                f"{name}_joint_img_valid": torch.ones(BATCH, 21),
                f"{name}_joint_proj_valid": torch.ones(BATCH, 21),
                f"{name}_joint_cam": joints.clone(),
                f"{name}_joint_valid": torch.ones(BATCH, 21),
                f"{name}_mano_pose": pose,
                f"{name}_mano_shape": shape,
                f"{name}_mano_valid": torch.ones(BATCH),
            }
        )
        hands[name] = HandPrediction(
            joints_hm=joint_img.clone(),
            root_rotmat=None,
            pose_rotmat=None,
            root_pose=pose[:, :3].clone(),
            hand_pose=pose[:, 3:].clone(),
            shape=shape.clone(),
            cam=cam,
        )
    batch["rel_trans"] = torch.randn(BATCH, 3, generator=generator) * 0.1
    batch["rel_trans_valid"] = torch.ones(BATCH)
    output = RepeHandOutput(hands["right"], hands["left"], batch["rel_trans"].clone())
    return output, batch


def test_every_term_is_zero_for_a_perfect_prediction(mano) -> None:
    output, batch = _perfect(mano)
    losses = compute_losses(output, batch, mano)
    assert set(losses) == {*LOSS_WEIGHTS, "total"}
    for name, value in losses.items():
        assert float(value) == pytest.approx(0.0, abs=1e-6), name


def test_paper_weights() -> None:
    assert LOSS_WEIGHTS == {
        "mano_pose": 1.0,
        "mano_shape": 1.0,
        "rel_trans": 1.0,
        "joint_cam": 10.0,
        "mano_joint_cam": 10.0,
        "joint_img": 1.0,
        "joint_proj": 1.0,
    }


def test_known_offsets_give_their_l1_times_the_weight(mano) -> None:
    output, batch = _perfect(mano)
    for hand in HANDS:
        batch[f"{hand}_joint_cam"] = batch[f"{hand}_joint_cam"] + 0.01  # 1 cm on every axis
        batch[f"{hand}_mano_pose"] = batch[f"{hand}_mano_pose"] + 0.1
        batch[f"{hand}_mano_shape"] = batch[f"{hand}_mano_shape"] - 0.2
    output.right.joints_hm = output.right.joints_hm + torch.tensor([0.0, 0.0, 0.5])
    output.left.joints_hm = output.left.joints_hm + torch.tensor([0.0, 0.0, 0.5])
    output.relative_translation = output.relative_translation + torch.tensor([0.01, -0.02, 0.03])
    losses = compute_losses(output, batch, mano)
    assert float(losses["joint_cam"]) == pytest.approx(10 * 0.01, rel=1e-4)
    assert float(losses["mano_pose"]) == pytest.approx(0.1, rel=1e-4)
    assert float(losses["mano_shape"]) == pytest.approx(0.2, rel=1e-4)
    assert float(losses["joint_img"]) == pytest.approx(0.5 / 3, rel=1e-4)  # z only: 1 of 3 axes
    assert float(losses["rel_trans"]) == pytest.approx(0.02, rel=1e-4)
    assert float(losses["joint_proj"]) == pytest.approx(0.0, abs=1e-6)
    assert float(losses["mano_joint_cam"]) > 0  # the annotated MANO mesh moved


def test_projection_offset_counts_in_pixels_of_the_heatmap(mano) -> None:
    output, batch = _perfect(mano)
    for hand in HANDS:
        batch[f"{hand}_joint_img"] = batch[f"{hand}_joint_img"] + torch.tensor([1.0, 1.0, 0.0])
    losses = compute_losses(output, batch, mano)
    assert float(losses["joint_proj"]) == pytest.approx(1.0, rel=1e-5)
    assert float(losses["joint_img"]) == pytest.approx(2.0 / 3.0, rel=1e-5)


def test_masked_elements_count_as_zero_error(mano) -> None:
    output, batch = _perfect(mano)
    batch["left_mano_pose"] = batch["left_mano_pose"] + 1.0
    batch["left_mano_valid"] = torch.zeros(BATCH)
    batch["right_mano_pose"] = batch["right_mano_pose"] + 0.1
    batch["rel_trans"] = batch["rel_trans"] + 5.0
    batch["rel_trans_valid"] = torch.zeros(BATCH)
    losses = compute_losses(output, batch, mano)
    # Official normalisation: the mean over both hands' elements, the masked half counting 0.
    assert float(losses["mano_pose"]) == pytest.approx(0.1 / 2, rel=1e-4)
    assert float(losses["rel_trans"]) == pytest.approx(0.0, abs=1e-7)


def test_weight_overrides_and_unknown_terms(mano) -> None:
    output, batch = _perfect(mano)
    for hand in HANDS:
        batch[f"{hand}_joint_cam"] = batch[f"{hand}_joint_cam"] + 0.01
    losses = compute_losses(output, batch, mano, weights={"joint_cam": 1.0})
    assert float(losses["joint_cam"]) == pytest.approx(0.01, rel=1e-4)
    assert float(losses["total"]) == pytest.approx(0.01, rel=1e-4)
    with pytest.raises(ValueError, match="unknown loss terms"):
        compute_losses(output, batch, mano, weights={"vertices": 1.0})


def test_masked_l1_broadcasts_the_mask() -> None:
    prediction = torch.zeros(2, 4, 3)
    target = torch.full((2, 4, 3), 2.0)
    valid = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    assert float(masked_l1(prediction, target, valid)) == pytest.approx(2.0 * 6 / 8)


def test_gradients_reach_every_predicted_quantity(mano) -> None:
    output, batch = _perfect(mano)
    hands = (output.right, output.left)
    leaves = []
    for hand in hands:
        for name in ("joints_hm", "root_pose", "hand_pose", "shape", "cam"):
            leaf = (getattr(hand, name) + 0.05).requires_grad_(True)
            setattr(hand, name, leaf)
            leaves.append(leaf)
    output.relative_translation = (output.relative_translation + 0.05).requires_grad_(True)
    leaves.append(output.relative_translation)
    compute_losses(output, batch, mano)["total"].backward()
    for leaf in leaves:
        assert leaf.grad is not None and torch.count_nonzero(leaf.grad) > 0
