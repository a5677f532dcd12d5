"""The eight official L1 terms: known answers for each, the official masks and NaN handling."""

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
JOINTS = 21
HANDS = ("right", "left")
CAMERA = (8.0, 3.0, 3.5)  # scale, tx, ty: heatmap cells per metre and cells


@pytest.fixture(scope="module")
def mano(mano_dir) -> ManoPair:
    return ManoPair.from_dir(mano_dir)


def _perfect(mano: ManoPair) -> tuple[RepeHandOutput, dict[str, torch.Tensor]]:
    """A prediction and targets that agree exactly, every mask set.

    The 2D targets are the official projection: the MANO-frame joints (wrist
    not subtracted) through the camera.
    """
    generator = torch.Generator().manual_seed(0)
    batch: dict[str, torch.Tensor] = {}
    hands = {}
    for name, layer in (("right", mano.right), ("left", mano.left)):
        pose = 0.3 * torch.randn(BATCH, 48, generator=generator)
        shape = 0.5 * torch.randn(BATCH, 10, generator=generator)
        cam = torch.tensor([CAMERA]).repeat(BATCH, 1)
        with torch.no_grad():
            mesh = layer(pose[:, :3], pose[:, 3:], shape)
        projected = weak_perspective(mesh.mano_frame_joints, cam)
        depth = 3.0 + torch.rand(BATCH, JOINTS, 1, generator=generator)
        joint_img = torch.cat((projected, depth), dim=-1)
        batch.update(
            {
                f"{name}_joint_img": joint_img,
                f"{name}_joint_trunc": torch.ones(BATCH, JOINTS),
                f"{name}_joint_cam": mesh.joints.clone(),
                f"{name}_joint_valid": torch.ones(BATCH, JOINTS),
                f"{name}_mano_joint_img": joint_img.clone(),
                f"{name}_mano_joint_trunc": torch.ones(BATCH, JOINTS),
                f"{name}_mano_joint_cam": mesh.joints.clone(),
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


def _offset(batch: dict[str, torch.Tensor], key: str, offset: float) -> None:
    for hand in HANDS:
        batch[f"{hand}_{key}"] = batch[f"{hand}_{key}"] + offset


def test_official_terms_weights_and_order() -> None:
    assert list(LOSS_WEIGHTS.items()) == [
        ("rel_trans", 1.0),
        ("mano_pose", 1.0),
        ("mano_shape", 1.0),
        ("joint_cam", 10.0),
        ("mano_joint_cam", 10.0),
        ("joint_img", 1.0),
        ("mano_joint_img", 1.0),
        ("joint_proj", 1.0),
    ]


def test_every_term_is_zero_for_a_perfect_prediction(mano) -> None:
    output, batch = _perfect(mano)
    losses = compute_losses(output, batch, mano)
    assert set(losses.terms) == set(LOSS_WEIGHTS)
    for name, value in losses.terms.items():
        assert float(value) == pytest.approx(0.0, abs=1e-6), name
    assert float(losses.total) == pytest.approx(0.0, abs=1e-5)
    assert int(losses.nan_elements) == 0


def test_rel_trans_mano_pose_and_shape_known_answers(mano) -> None:
    output, batch = _perfect(mano)
    output.relative_translation = output.relative_translation + torch.tensor([0.01, -0.02, 0.03])
    batch["rel_trans_valid"] = torch.tensor([1.0, 1.0, 0.0])  # the third sample has no pair
    _offset(batch, "mano_pose", 0.1)
    _offset(batch, "mano_shape", -0.2)
    batch["left_mano_valid"] = torch.tensor([1.0, 0.0, 0.0])
    terms = compute_losses(output, batch, mano).terms
    # mean over (B, 3): 2 of 3 samples count, each with |err| summing to 0.06 over 3 axes.
    assert float(terms["rel_trans"]) == pytest.approx(2 * 0.06 / 9, rel=1e-5)
    # mean over (B, 96): right hands all valid (3 x 48), left only sample 0 (48).
    assert float(terms["mano_pose"]) == pytest.approx(0.1 * 4 * 48 / (3 * 96), rel=1e-4)
    assert float(terms["mano_shape"]) == pytest.approx(0.2 * 4 * 10 / (3 * 20), rel=1e-4)


def test_joint_cam_and_mano_joint_cam_known_answers(mano) -> None:
    output, batch = _perfect(mano)
    _offset(batch, "joint_cam", 0.01)  # 1 cm on every axis of every joint
    _offset(batch, "mano_joint_cam", -0.002)
    batch["right_joint_valid"][:, 5:] = 0.0  # 5 of the right hand's 21 joints count
    batch["left_mano_valid"] = torch.zeros(BATCH)
    terms = compute_losses(output, batch, mano).terms
    assert float(terms["joint_cam"]) == pytest.approx(10 * 0.01 * (5 + 21) / 42, rel=1e-4)
    assert float(terms["mano_joint_cam"]) == pytest.approx(10 * 0.002 * 21 / 42, rel=1e-4)


def test_joint_img_is_masked_by_joint_trunc_and_mano_joint_img_by_mano_joint_trunc(mano) -> None:
    output, batch = _perfect(mano)
    _offset(batch, "joint_img", 0.5)  # all three axes, as the official (is_3D = 1) counts z
    _offset(batch, "mano_joint_img", 1.0)
    batch["left_joint_trunc"] = torch.zeros(BATCH, JOINTS)  # outside the grid
    batch["right_mano_joint_trunc"][:, 10:] = 0.0  # 10 of 42 joints inside
    batch["left_mano_joint_trunc"] = torch.zeros(BATCH, JOINTS)
    terms = compute_losses(output, batch, mano).terms
    assert float(terms["joint_img"]) == pytest.approx(0.5 * 21 / 42, rel=1e-5)
    assert float(terms["mano_joint_img"]) == pytest.approx(1.0 * 10 / 42, rel=1e-5)
    # joint_valid is not joint_img's mask, nor joint_trunc joint_proj's.
    assert float(terms["joint_proj"]) == pytest.approx(0.5, rel=1e-5)


def test_joint_proj_projects_the_joints_in_manos_frame(mano) -> None:
    """Targets made from wrist-relative joints differ by s * root: the loss must see it."""
    output, batch = _perfect(mano)
    scale = CAMERA[0]
    roots = []
    for hand, layer in (("right", mano.right), ("left", mano.left)):
        prediction = getattr(output, hand)
        with torch.no_grad():
            mesh = layer(prediction.root_pose, prediction.hand_pose, prediction.shape)
        relative = weak_perspective(mesh.joints, prediction.cam)
        batch[f"{hand}_joint_img"] = torch.cat(
            (relative, batch[f"{hand}_joint_img"][..., 2:]), dim=-1
        )
        roots.append(mesh.root[:, :2])
    terms = compute_losses(output, batch, mano).terms
    # Every joint of a hand is off by s * root_xy (the same for its 21 joints).
    expected = float(torch.cat(roots, dim=1).abs().mean()) * scale
    assert expected > 0.1  # the fixture's MANO frame is not centred on the wrist
    assert float(terms["joint_proj"]) == pytest.approx(expected, rel=1e-4)


def test_joint_proj_counts_valid_joints_outside_the_grid(mano) -> None:
    output, batch = _perfect(mano)
    for hand in HANDS:
        batch[f"{hand}_joint_img"][:, 0, :2] -= 20.0  # the wrists move far off the grid
        batch[f"{hand}_joint_trunc"][:, 0] = 0.0  # so they are truncated for joint_img
    terms = compute_losses(output, batch, mano).terms
    assert float(terms["joint_img"]) == pytest.approx(0.0, abs=1e-6)
    assert float(terms["joint_proj"]) == pytest.approx(20.0 * 2 / 42, rel=1e-5)


def test_nan_elements_count_as_zero_are_counted_and_pass_no_gradient(mano) -> None:
    output, batch = _perfect(mano)
    batch["right_joint_cam"][0, 3, 1] = float("nan")  # a valid element
    batch["left_mano_pose"][1, 7] = float("nan")
    batch["left_mano_valid"] = torch.tensor([1.0, 0.0, 1.0])  # NaN * 0 is NaN too
    batch["rel_trans"][2, 0] = float("inf")
    batch["rel_trans_valid"] = torch.tensor([1.0, 1.0, 0.0])  # inf * 0 = NaN
    losses = compute_losses(output, batch, mano)
    assert int(losses.nan_elements) == 3
    assert torch.isfinite(losses.total)
    assert float(losses.terms["joint_cam"]) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.terms["rel_trans"]) == pytest.approx(0.0, abs=1e-7)
    shape = output.right.shape.clone().requires_grad_(True)
    output.right.shape = shape
    output.relative_translation.requires_grad_(True)
    compute_losses(output, batch, mano).total.backward()
    assert torch.isfinite(shape.grad).all()
    assert torch.isfinite(output.relative_translation.grad).all()


def test_masked_l1_broadcasts_the_mask_and_keeps_masked_elements_in_the_mean() -> None:
    prediction = torch.zeros(2, 4, 3)
    target = torch.full((2, 4, 3), 2.0)
    valid = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    value, nan = masked_l1(prediction, target, valid)
    assert float(value) == pytest.approx(2.0 * 6 / 8)
    assert int(nan) == 0


def test_weight_overrides_and_unknown_terms(mano) -> None:
    output, batch = _perfect(mano)
    _offset(batch, "joint_cam", 0.01)
    losses = compute_losses(output, batch, mano, weights={"joint_cam": 1.0})
    assert float(losses.terms["joint_cam"]) == pytest.approx(0.01, rel=1e-4)
    assert float(losses.total) == pytest.approx(0.01, rel=1e-4)
    with pytest.raises(ValueError, match="unknown loss terms"):
        compute_losses(output, batch, mano, weights={"vertices": 1.0})


def test_gradients_reach_every_predicted_quantity(mano) -> None:
    output, batch = _perfect(mano)
    leaves = []
    for hand in (output.right, output.left):
        for name in ("joints_hm", "root_pose", "hand_pose", "shape", "cam"):
            leaf = (getattr(hand, name) + 0.05).requires_grad_(True)
            setattr(hand, name, leaf)
            leaves.append(leaf)
    output.relative_translation = (output.relative_translation + 0.05).requires_grad_(True)
    leaves.append(output.relative_translation)
    compute_losses(output, batch, mano).total.backward()
    for leaf in leaves:
        assert leaf.grad is not None and torch.count_nonzero(leaf.grad) > 0
