"""MeshReg: 3D joint heatmaps and the MANO parameter regressors built on them."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from repehand_ros.hands import NUM_JOINTS
from repehand_ros.model.outputs import HandPrediction
from repehand_ros.model.rotation import rot6d_to_rotmat, rotmat_to_axis_angle

NUM_FINGER_JOINTS = 15
"""MANO's articulated finger joints (its 16 joints minus the wrist)."""

NUM_SHAPE_COEFFS = 10


def soft_argmax_3d(heatmaps: torch.Tensor) -> torch.Tensor:
    """Expected (x, y, z) cell index (B, J, 3) of heatmaps (B, J, D, H, W).

    Softmax over all D*H*W cells, then the expectation of the integer cell
    indices on each axis: differentiable, and sub-cell precise.
    """
    batch, joints, depth, height, width = heatmaps.shape
    probabilities = torch.softmax(heatmaps.reshape(batch, joints, -1), dim=-1)
    probabilities = probabilities.reshape(batch, joints, depth, height, width)
    x = probabilities.sum(dim=(2, 3)) @ torch.arange(
        width, dtype=heatmaps.dtype, device=heatmaps.device
    )
    y = probabilities.sum(dim=(2, 4)) @ torch.arange(
        height, dtype=heatmaps.dtype, device=heatmaps.device
    )
    z = probabilities.sum(dim=(3, 4)) @ torch.arange(
        depth, dtype=heatmaps.dtype, device=heatmaps.device
    )
    return torch.stack((x, y, z), dim=-1)


class JointLocalizer(nn.Module):
    """Per hand, a 1x1 conv to 21 depth-stacked heatmaps and their soft-argmax."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.depth = depth
        self.right_heatmap = nn.Conv2d(channels, NUM_JOINTS * depth, 1)
        self.left_heatmap = nn.Conv2d(channels, NUM_JOINTS * depth, 1)

    def _locate(self, conv: nn.Conv2d, features: torch.Tensor) -> torch.Tensor:
        heatmaps = conv(features)
        batch, _, height, width = heatmaps.shape
        return soft_argmax_3d(heatmaps.reshape(batch, NUM_JOINTS, self.depth, height, width))

    def forward(
        self, right_features: torch.Tensor, left_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint coordinates (B, 21, 3) in heatmap cells, right hand then left hand."""
        return (
            self._locate(self.right_heatmap, right_features),
            self._locate(self.left_heatmap, left_features),
        )


def sample_at_joints(features: torch.Tensor, joints_hm: torch.Tensor) -> torch.Tensor:
    """Bilinearly samples features (B, R, H, W) at each joint's (x, y) cell -> (B, J, R)."""
    height, width = features.shape[-2:]
    grid = torch.stack(
        (joints_hm[..., 0] / (width - 1) * 2 - 1, joints_hm[..., 1] / (height - 1) * 2 - 1),
        dim=-1,
    ).unsqueeze(2)  # (B, J, 1, 2)
    sampled = F.grid_sample(features, grid, mode="bilinear", align_corners=True)  # (B, R, J, 1)
    return sampled.squeeze(-1).transpose(1, 2)


class HandParameterHead(nn.Module):
    """MANO shape, weak-perspective camera and joint rotations of one hand.

    Shape and camera come from the globally pooled hand features; rotations
    from features sampled at the hand's own 2D joint positions plus the joint
    coordinates, so each joint's rotation sees its local image evidence.
    """

    def __init__(self, channels: int, joint_features: int) -> None:
        super().__init__()
        self.feature_conv = nn.Conv2d(channels, joint_features, 1)
        self.feature_bn = nn.BatchNorm2d(joint_features)
        self.relu = nn.ReLU(inplace=True)
        self.shape = nn.Linear(channels, NUM_SHAPE_COEFFS)
        self.camera = nn.Linear(channels, 3)
        flat = NUM_JOINTS * (joint_features + 3)
        self.root_pose = nn.Linear(flat, 6)
        self.finger_pose = nn.Linear(flat, NUM_FINGER_JOINTS * 6)

    def forward(
        self, features: torch.Tensor, pooled: torch.Tensor, joints_hm: torch.Tensor
    ) -> HandPrediction:
        # The heatmap branch is trained by its own losses: rotations must not pull on it.
        located = joints_hm.detach()
        joint_features = self.relu(self.feature_bn(self.feature_conv(features)))
        sampled = sample_at_joints(joint_features, located)
        flat = torch.cat((sampled, located), dim=-1).flatten(1)
        batch = flat.shape[0]
        root_rotmat = rot6d_to_rotmat(self.root_pose(flat))
        pose_rotmat = rot6d_to_rotmat(self.finger_pose(flat).reshape(batch, NUM_FINGER_JOINTS, 6))
        return HandPrediction(
            joints_hm=joints_hm,
            root_rotmat=root_rotmat,
            pose_rotmat=pose_rotmat,
            root_pose=rotmat_to_axis_angle(root_rotmat),
            hand_pose=rotmat_to_axis_angle(pose_rotmat).reshape(batch, NUM_FINGER_JOINTS * 3),
            shape=self.shape(pooled),
            cam=self.camera(pooled),
        )


class RelativeTranslationHead(nn.Module):
    """Left wrist relative to the right wrist (B, 3), metres, from both pooled features."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(2 * channels, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.out = nn.Linear(hidden, 3)

    def forward(self, right_pooled: torch.Tensor, left_pooled: torch.Tensor) -> torch.Tensor:
        return self.out(self.relu(self.hidden(torch.cat((right_pooled, left_pooled), dim=1))))
