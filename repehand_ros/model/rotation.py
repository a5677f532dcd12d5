"""Rotation conversions used by the regressors, written with export-friendly tensor ops."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812


def rot6d_to_rotmat(rot6d: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) from the continuous 6D representation (..., 6).

    The 6 numbers are a 3x2 matrix in row-major order (first column = entries
    0, 2, 4; second = 1, 3, 5), as the official model reads them; Gram-Schmidt
    makes the columns b1, b2 and b3 = b1 x b2 of the rotation.
    """
    columns = rot6d.reshape(*rot6d.shape[:-1], 3, 2)
    a1, a2 = columns[..., 0], columns[..., 1]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(dim=-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def rotmat_to_quaternion(rotmat: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4) as (w, x, y, z) with w >= 0 from rotation matrices (..., 3, 3).

    Each of the four textbook formulas is exact but loses precision when its
    pivot (1 + trace, or a dominant diagonal term) is small, so the one with the
    largest pivot is picked per matrix (no data-dependent control flow, so it
    exports to ONNX). Pivots are clamped before the square root so the unused
    formulas stay finite and cannot leak NaN gradients.
    """
    m = rotmat
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    pivots = torch.stack(
        (
            1.0 + m00 + m11 + m22,
            1.0 + m00 - m11 - m22,
            1.0 - m00 + m11 - m22,
            1.0 - m00 - m11 + m22,
        ),
        dim=-1,
    )
    candidates = torch.stack(
        (
            torch.stack((pivots[..., 0], m21 - m12, m02 - m20, m10 - m01), dim=-1),
            torch.stack((m21 - m12, pivots[..., 1], m10 + m01, m02 + m20), dim=-1),
            torch.stack((m02 - m20, m10 + m01, pivots[..., 2], m21 + m12), dim=-1),
            torch.stack((m10 - m01, m02 + m20, m21 + m12, pivots[..., 3]), dim=-1),
        ),
        dim=-2,
    )
    candidates = candidates / (2.0 * pivots.clamp(min=1e-12).sqrt()).unsqueeze(-1)
    best = pivots.argmax(dim=-1, keepdim=True)
    quaternion = torch.gather(candidates, -2, best.unsqueeze(-1).expand(*best.shape, 4))
    quaternion = quaternion.squeeze(-2)
    sign = torch.where(quaternion[..., :1] < 0, -1.0, 1.0)
    return F.normalize(quaternion * sign, dim=-1)


def rotmat_to_axis_angle(rotmat: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors (..., 3), angle in [0, pi] radians, from rotation matrices (..., 3, 3).

    NaN results (from a degenerate input matrix) are replaced by 0, as the
    official model does, so one bad joint cannot poison the MANO layer.
    """
    quaternion = rotmat_to_quaternion(rotmat)
    w, xyz = quaternion[..., :1], quaternion[..., 1:]
    sin_half = xyz.norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, w)
    # angle / sin(angle / 2) tends to 2 as the angle tends to 0.
    small = sin_half < 1e-6
    scale = torch.where(small, torch.full_like(angle, 2.0), angle / sin_half.clamp(min=1e-6))
    axis_angle = xyz * scale
    return torch.where(torch.isnan(axis_angle), torch.zeros_like(axis_angle), axis_angle)
