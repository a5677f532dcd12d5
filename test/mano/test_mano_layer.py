from __future__ import annotations

import numpy as np
import pytest
import torch

from repehand_ros.hands import JOINT_NAMES
from repehand_ros.mano.layer import EVALUATION_FINGERTIP_VERTICES, ManoPair, joint_regressor


@pytest.fixture(scope="module")
def pair(mano_dir, mano_arrays) -> ManoPair:
    return ManoPair.from_dir(mano_dir)


def test_left_shape_bug_is_fixed(pair, mano_arrays):
    right_x = torch.as_tensor(mano_arrays["right"]["shapedirs"][:, 0, :], dtype=torch.float32)
    torch.testing.assert_close(pair.right.layer.shapedirs[:, 0, :], right_x)
    torch.testing.assert_close(pair.left.layer.shapedirs[:, 0, :], -right_x)


def _mano_output(pair, hand, batch=2):
    generator = torch.Generator().manual_seed(3)
    root = 0.5 * torch.randn(batch, 3, generator=generator)
    pose = 0.3 * torch.randn(batch, 45, generator=generator)
    shape = torch.randn(batch, 10, generator=generator)
    layer = getattr(pair, hand)
    return layer(root, pose, shape), layer.layer(betas=shape, global_orient=root, hand_pose=pose)


# MANO's own 16 joints: 0 wrist, 1-3 index, 4-6 middle, 7-9 pinky, 10-12 ring, 13-15 thumb.
_MANO_FIRST_KNUCKLE = {"thumb": 13, "index": 1, "middle": 4, "ring": 10, "pinky": 7}
_TIPS = {"thumb": 745, "index": 317, "middle": 445, "ring": 556, "pinky": 673}


def _regressed_by_hand(regressor: np.ndarray, vertices: torch.Tensor) -> torch.Tensor:
    """The 21 official joints written out joint by joint: MANO's rows, then the tip vertices."""
    mano = torch.einsum("jv,bvc->bjc", torch.as_tensor(regressor, dtype=vertices.dtype), vertices)
    joints = [mano[:, 0]]
    for finger, first in _MANO_FIRST_KNUCKLE.items():
        joints += [mano[:, first], mano[:, first + 1], mano[:, first + 2]]
        joints.append(vertices[:, _TIPS[finger]])
    return torch.stack(joints, dim=1)


@pytest.mark.parametrize("hand", ["right", "left"])
def test_21_joints_are_regressed_from_the_posed_mesh_relative_to_their_wrist(
    pair, mano_arrays, hand
):
    ours, raw = _mano_output(pair, hand)
    assert ours.vertices.shape == (2, 778, 3) and ours.joints.shape == (2, 21, 3)
    assert ours.root.shape == (2, 3)
    expected = _regressed_by_hand(mano_arrays[hand]["J_regressor"], raw.vertices)
    assert JOINT_NAMES[0] == "wrist" and JOINT_NAMES[4] == "thumb_4"
    torch.testing.assert_close(ours.root, expected[:, 0])
    torch.testing.assert_close(ours.joints, expected - expected[:, :1])
    torch.testing.assert_close(ours.vertices, raw.vertices - expected[:, :1])
    torch.testing.assert_close(ours.mano_frame_joints, expected)
    assert torch.equal(ours.joints[:, 0], torch.zeros(2, 3))


@pytest.mark.parametrize("hand", ["right", "left"])
def test_the_kinematic_skeleton_is_not_what_the_joints_are(pair, hand):
    """smplx's posed skeleton (the old joints) differs from the regressed joints on a bent hand:
    the test can tell the two apart."""
    ours, raw = _mano_output(pair, hand)
    skeleton_wrist = raw.joints[:, 0]
    assert (ours.root - skeleton_wrist).norm(dim=-1).max() > 1e-4
    skeleton_index_2 = raw.joints[:, 2] - skeleton_wrist
    assert (ours.joints[:, JOINT_NAMES.index("index_2")] - skeleton_index_2).norm(
        dim=-1
    ).max() > 1e-4


def test_regressor_rows_and_the_evaluation_variant(mano_arrays):
    regressor = mano_arrays["right"]["J_regressor"]
    rows = joint_regressor(regressor)
    assert rows.shape == (21, 778)
    np.testing.assert_array_equal(rows[JOINT_NAMES.index("ring_1")], regressor[10])
    np.testing.assert_array_equal(rows[JOINT_NAMES.index("thumb_3")], regressor[15])
    assert rows[JOINT_NAMES.index("middle_4"), 445] == 1.0 and rows[12].sum() == 1.0
    evaluation = joint_regressor(regressor, EVALUATION_FINGERTIP_VERTICES)
    assert evaluation[JOINT_NAMES.index("middle_4"), 444] == 1.0
    different = np.flatnonzero(np.any(evaluation != rows, axis=1))
    assert different.tolist() == [JOINT_NAMES.index("middle_4")]
    with pytest.raises(ValueError, match=r"\(16, 778\)"):
        joint_regressor(regressor[:15])


def test_zero_pose_is_the_mean_hand_not_a_flat_one(pair, mano_arrays):
    assert torch.count_nonzero(pair.right.layer.pose_mean[3:]) == 45
    flat = pair.right(torch.zeros(1, 3), torch.zeros(1, 45), torch.zeros(1, 10))
    assert pair.right.faces.shape == (1538, 3)
    assert flat.vertices.abs().sum() > 0
