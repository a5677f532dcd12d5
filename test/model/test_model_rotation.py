from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from repehand_ros.model.heads import sample_at_joints, soft_argmax_3d
from repehand_ros.model.rotation import rot6d_to_rotmat, rotmat_to_axis_angle


def test_rot6d_reads_a_row_major_3x2_matrix():
    # Columns (1, 0, 0) and (0, 1, 0) written row by row: 1 0 / 0 1 / 0 0.
    assert torch.allclose(rot6d_to_rotmat(torch.tensor([1.0, 0, 0, 1, 0, 0])), torch.eye(3))
    # Columns (0, 1, 0) and (-1, 0, 0): a +90 degree turn about z.
    turned = rot6d_to_rotmat(torch.tensor([0.0, -1, 1, 0, 0, 0]))
    expected = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    np.testing.assert_allclose(turned.numpy(), expected, atol=1e-6)


def test_rot6d_orthonormalises_arbitrary_input():
    rotmats = rot6d_to_rotmat(torch.randn(100, 6, generator=torch.Generator().manual_seed(0)))
    identity = torch.eye(3).expand(100, 3, 3)
    assert torch.allclose(rotmats.transpose(1, 2) @ rotmats, identity, atol=1e-5)
    assert torch.allclose(torch.linalg.det(rotmats), torch.ones(100), atol=1e-5)


def test_axis_angle_matches_scipy_including_edge_angles():
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(400, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate(
        (rng.uniform(0, np.pi - 1e-3, 394), [0.0, 1e-7, 1e-4, np.pi - 1e-3, np.pi - 1e-2, 3.0])
    )
    rotvecs = axes * angles[:, None]
    rotmats = torch.from_numpy(Rotation.from_rotvec(rotvecs).as_matrix()).float()
    np.testing.assert_allclose(rotmat_to_axis_angle(rotmats).numpy(), rotvecs, atol=2e-4)


def test_degenerate_matrix_gives_zero_not_nan():
    result = rotmat_to_axis_angle(torch.full((1, 3, 3), float("nan")))
    assert torch.equal(result, torch.zeros(1, 3))


def test_soft_argmax_finds_a_sharp_peak_on_each_axis():
    heatmaps = torch.full((1, 2, 7, 7, 7), -50.0)
    heatmaps[0, 0, 1, 2, 5] = 50.0  # depth 1, row 2, column 5 -> (x, y, z) = (5, 2, 1)
    heatmaps[0, 1, 6, 0, 3] = 50.0
    coords = soft_argmax_3d(heatmaps)
    torch.testing.assert_close(coords[0], torch.tensor([[5.0, 2.0, 1.0], [3.0, 0.0, 6.0]]))


def test_soft_argmax_of_a_flat_heatmap_is_the_grid_centre():
    coords = soft_argmax_3d(torch.zeros(1, 1, 7, 7, 7))
    torch.testing.assert_close(coords, torch.full((1, 1, 3), 3.0))


def test_sampling_at_joints_is_bilinear_in_cell_units():
    columns = torch.arange(7.0).expand(7, 7)  # value = column index x
    features = torch.stack((columns, columns.T))[None]  # channel 0 = x, channel 1 = y
    joints = torch.tensor([[[0.0, 0.0, 0.0], [2.5, 4.25, 1.0], [6.0, 6.0, 0.0]]])
    sampled = sample_at_joints(features, joints)
    torch.testing.assert_close(sampled, joints[..., :2])
