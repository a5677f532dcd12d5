"""3D hand-pose error metrics, vectorised numpy, lengths in whatever unit the inputs use (mm).

Shapes: points are (..., P, 3) with any leading batch dimensions; a `valid`
mask is (..., P) bool and says which points count. Joints are in RepeHand's
order (`repehand_ros.mano.joints.JOINT_NAMES`): wrist = 0, Middle_1 = 9.

Alignments (how a predicted hand is put on top of the ground truth before
distances are taken) are building blocks here; which protocol combines them
how, and how the numbers are averaged, is `repehand_ros.data.protocols`.
"""

from __future__ import annotations

import numpy as np

WRIST = 0
MIDDLE_1 = 9
"""Joint 9 of RepeHand's order: the middle finger's knuckle, the paper's alignment joint."""

_EPS = 1e-12


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distance between corresponding points: (..., P, 3) x 2 -> (..., P).

    Definition: e_p = || pred_p - gt_p ||_2.
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.shape[-1] != 3:
        raise ValueError(
            f"expected two (..., P, 3) arrays of one shape, got {pred.shape}, {gt.shape}"
        )
    return np.linalg.norm(pred - gt, axis=-1)


def masked_mean(values: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Mean of `values` where `valid` is true (all when None); NaN when nothing is valid.

    Definition: sum(v * m) / sum(m), pooled over every entry (no per-sample weighting).
    """
    values = np.asarray(values, dtype=np.float64)
    if valid is None:
        return float(values.mean()) if values.size else float("nan")
    valid = np.broadcast_to(np.asarray(valid, dtype=bool), values.shape)
    count = int(valid.sum())
    return float(values[valid].sum() / count) if count else float("nan")


def align_wrist(
    pred_joints: np.ndarray,
    gt_joints: np.ndarray,
    pred_points: np.ndarray | None = None,
    gt_points: np.ndarray | None = None,
    root: int = WRIST,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The InterWild convention: every point relative to its hand's joint `root`, no scaling.

    Definition: X' = X - J_root for the prediction and the ground truth alike.
    `pred_points`/`gt_points` (e.g. vertices, (..., V, 3)) move with their
    hand's joints (..., 21, 3). Returns (pred_joints, gt_joints, pred_points, gt_points).
    """
    pred_joints = np.asarray(pred_joints, dtype=np.float64)
    gt_joints = np.asarray(gt_joints, dtype=np.float64)
    pred_root = pred_joints[..., root : root + 1, :]
    gt_root = gt_joints[..., root : root + 1, :]
    return (
        pred_joints - pred_root,
        gt_joints - gt_root,
        None if pred_points is None else np.asarray(pred_points, dtype=np.float64) - pred_root,
        None if gt_points is None else np.asarray(gt_points, dtype=np.float64) - gt_root,
    )


def scale_factor(
    pred_joints: np.ndarray, gt_joints: np.ndarray, bone: tuple[int, int] = (WRIST, MIDDLE_1)
) -> np.ndarray:
    """The paper's scale: |J_b - J_a|_gt / |J_b - J_a|_pred for bone (a, b) = (0, 9); shape (...).

    A degenerate predicted bone (zero length) gives a factor of 1.
    """
    a, b = bone
    pred_length = np.linalg.norm(pred_joints[..., b, :] - pred_joints[..., a, :], axis=-1)
    gt_length = np.linalg.norm(gt_joints[..., b, :] - gt_joints[..., a, :], axis=-1)
    return np.where(pred_length > _EPS, gt_length / np.maximum(pred_length, _EPS), 1.0)


def align_scale_at_joint(
    pred_joints: np.ndarray,
    gt_joints: np.ndarray,
    pred_points: np.ndarray | None = None,
    gt_points: np.ndarray | None = None,
    root: int = MIDDLE_1,
    bone: tuple[int, int] = (WRIST, MIDDLE_1),
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The paper's convention: each hand relative to joint `root` (9), prediction scaled.

    Definition: X'_gt = X_gt - J9_gt and X'_pred = s (X_pred - J9_pred) with
    s = |J9 - J0|_gt / |J9 - J0|_pred, per hand; `pred_points` (vertices)
    get the same shift and scale as their hand's joints.
    Returns (pred_joints, gt_joints, pred_points, gt_points).
    """
    pred_joints, gt_joints, pred_points, gt_points = align_wrist(
        pred_joints, gt_joints, pred_points, gt_points, root=root
    )
    scale = scale_factor(pred_joints, gt_joints, bone)[..., None, None]
    return (
        pred_joints * scale,
        gt_joints,
        None if pred_points is None else pred_points * scale,
        gt_points,
    )


def procrustes_transform(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The similarity transform (scale s, rotation R, translation t) that best fits `pred` to `gt`.

    Definition: s, R (det R = +1) and t minimise sum_p m_p || s R pred_p + t - gt_p ||^2
    over the valid points m (Umeyama's closed form, one batched SVD); shapes
    (...), (..., 3, 3), (..., 3) for points (..., P, 3). Fewer than three valid
    points leave the fit underdetermined: s = 1 and R = I then (centroids matched).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(
            f"expected two (..., P, 3) arrays of one shape, got {pred.shape}, {gt.shape}"
        )
    weights = (
        np.ones(pred.shape[:-1])
        if valid is None
        else np.broadcast_to(np.asarray(valid, dtype=np.float64), pred.shape[:-1])
    )
    count = weights.sum(axis=-1, keepdims=True)[..., None]  # (..., 1, 1)
    w = weights[..., None]
    safe_count = np.maximum(count, 1.0)
    pred_mean = (w * pred).sum(axis=-2, keepdims=True) / safe_count
    gt_mean = (w * gt).sum(axis=-2, keepdims=True) / safe_count
    x, y = pred - pred_mean, gt - gt_mean
    covariance = np.einsum("...pi,...pj->...ij", w * y, x) / safe_count  # (..., 3, 3): gt x pred
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))
    sign = np.where(sign == 0, 1.0, sign)
    d = np.ones(singular.shape)
    d[..., -1] = sign
    rotation = (u * d[..., None, :]) @ vt
    variance = (w * x * x).sum(axis=(-2, -1)) / safe_count[..., 0, 0]
    scale = (singular * d).sum(axis=-1) / np.maximum(variance, _EPS)
    enough = (count[..., 0, 0] >= 3) & (variance > _EPS)
    rotation = np.where(enough[..., None, None], rotation, np.eye(3))
    scale = np.where(enough, scale, 1.0)
    translation = gt_mean[..., 0, :] - scale[..., None] * np.einsum(
        "...ij,...j->...i", rotation, pred_mean[..., 0, :]
    )
    return scale, rotation, translation


def apply_similarity(
    points: np.ndarray, scale: np.ndarray, rotation: np.ndarray, translation: np.ndarray
) -> np.ndarray:
    """s R x + t for points (..., P, 3) and a transform from `procrustes_transform`."""
    rotated = np.einsum("...ij,...pj->...pi", rotation, np.asarray(points, dtype=np.float64))
    return np.asarray(scale)[..., None, None] * rotated + np.asarray(translation)[..., None, :]


def procrustes_align(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None
) -> np.ndarray:
    """`pred` (..., P, 3) moved by the similarity transform that best fits it to `gt`
    (`procrustes_transform`, fitted on the valid points, applied to every point)."""
    return apply_similarity(pred, *procrustes_transform(pred, gt, valid))


def per_joint_error(errors: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Mean error of each joint over every sample (and hand): (..., J) -> (J,); NaN if never valid.

    Definition: E_j = sum_n m_nj e_nj / sum_n m_nj, leading dimensions pooled.
    """
    errors = np.asarray(errors, dtype=np.float64)
    joints = errors.shape[-1]
    flat = errors.reshape(-1, joints)
    mask = (
        np.ones(flat.shape, dtype=bool)
        if valid is None
        else np.broadcast_to(np.asarray(valid, dtype=bool), errors.shape).reshape(-1, joints)
    )
    counts = mask.sum(axis=0)
    sums = np.where(mask, flat, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def mrrpe(
    pred_right_to_left: np.ndarray,
    gt_right_to_left: np.ndarray,
) -> np.ndarray:
    """Mean relative-root position error terms: one distance per sample, (N, 3) x 2 -> (N,).

    Definition: MRRPE_n = || (W_left - W_right)_pred - (W_left - W_right)_gt ||,
    the error of the vector from the right wrist to the left wrist; MRRPE is
    the mean of these over the samples whose two wrists are valid (InterWild's
    convention; `repehand_ros.data.protocols.interwild_mrrpe`).
    """
    return point_errors(
        np.asarray(pred_right_to_left)[..., None, :], np.asarray(gt_right_to_left)[..., None, :]
    )[..., 0]


def pck_curve(
    errors: np.ndarray, thresholds: np.ndarray, valid: np.ndarray | None = None
) -> np.ndarray:
    """Percentage of correct keypoints at each threshold: (T,) fractions in [0, 1].

    Definition: PCK(t) = #{valid joints with e <= t} / #{valid joints}; NaN
    when nothing is valid.
    """
    errors = np.asarray(errors, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    selected = errors.reshape(-1) if valid is None else errors[np.broadcast_to(valid, errors.shape)]
    if selected.size == 0:
        return np.full(thresholds.shape, np.nan)
    ordered = np.sort(selected)
    return np.searchsorted(ordered, thresholds, side="right") / ordered.size


def pck_auc(thresholds: np.ndarray, pck: np.ndarray) -> float:
    """Area under the PCK curve, normalised by the threshold range: a value in [0, 1].

    Definition: AUC = integral of PCK(t) dt over [t_0, t_end] / (t_end - t_0) (trapezoids).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    pck = np.asarray(pck, dtype=np.float64)
    span = thresholds[-1] - thresholds[0]
    if thresholds.size < 2 or span <= 0 or np.isnan(pck).any():
        return float("nan")
    area = np.sum((pck[1:] + pck[:-1]) * np.diff(thresholds)) / 2.0
    return float(area / span)
