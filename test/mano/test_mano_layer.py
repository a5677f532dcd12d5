from __future__ import annotations

import pytest
import torch

from repehand_ros.mano.joints import JOINT_NAMES
from repehand_ros.mano.layer import ManoPair


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


@pytest.mark.parametrize("hand", ["right", "left"])
def test_21_joints_in_repehand_order_relative_to_the_wrist(pair, hand):
    ours, raw = _mano_output(pair, hand)
    assert ours.vertices.shape == (2, 778, 3) and ours.joints.shape == (2, 21, 3)
    wrist = raw.joints[:, 0]
    assert torch.equal(ours.joints[:, 0], torch.zeros(2, 3))
    torch.testing.assert_close(ours.vertices, raw.vertices - wrist[:, None])
    # MANO's own joints: 13-15 thumb, 1-3 index, 4-6 middle, 10-12 ring, 7-9 pinky.
    mano_index = {"thumb": 13, "index": 1, "middle": 4, "ring": 10, "pinky": 7}
    tips = {"thumb": 745, "index": 317, "middle": 445, "ring": 556, "pinky": 673}
    for finger, first in mano_index.items():
        for k in range(1, 4):
            joint = JOINT_NAMES.index(f"{finger}_{k}")
            torch.testing.assert_close(ours.joints[:, joint], raw.joints[:, first + k - 1] - wrist)
        tip = JOINT_NAMES.index(f"{finger}_4")
        torch.testing.assert_close(ours.joints[:, tip], raw.vertices[:, tips[finger]] - wrist)


def test_zero_pose_is_the_mean_hand_not_a_flat_one(pair, mano_arrays):
    assert torch.count_nonzero(pair.right.layer.pose_mean[3:]) == 45
    flat = pair.right(torch.zeros(1, 3), torch.zeros(1, 45), torch.zeros(1, 10))
    assert pair.right.faces.shape == (1538, 3)
    assert flat.vertices.abs().sum() > 0
