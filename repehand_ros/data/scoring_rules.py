"""Each evaluation protocol's per-sample rules: from an `EvaluationBatch` to `SampleScores`.

- "official": RepeHand's `InterHand26M.evaluate()`, rules 1-4 below, quirks
  included.
- "corrected": the same rules with the quirks fixed: the validity mask
  mapped to the joints it describes, hands without a MANO fit not scored, a
  similarity Procrustes per hand.
- "interwild": InterWild's `evaluate()`: the network's own joints against the
  annotated 3D joints, wrist-relative, no scaling; no PA.

Every protocol also gives InterWild's MRRPE per sample (`interwild_mrrpe`).
How the scores are then averaged: `repehand_ros.data.summaries`.
"""

from __future__ import annotations

import numpy as np

from repehand_ros.data.interhand_joints import (
    INTERHAND_JOINTS_PER_HAND,
    INTERHAND_WRIST,
    interhand_to_repehand,
)
from repehand_ros.data.metrics import (
    WRIST,
    align_scale_at_joint,
    apply_similarity,
    point_errors,
    procrustes_transform,
)
from repehand_ros.data.scores import TWO_HAND_JOINTS, EvaluationBatch, SampleScores
from repehand_ros.hands import NUM_JOINTS

MIN_RIGID_FIT_JOINTS = 3
"""PA needs at least this many valid joints in a fit, as the official code requires."""

_INTERHAND_WRISTS = (INTERHAND_WRIST, INTERHAND_JOINTS_PER_HAND + INTERHAND_WRIST)


# --------------------------------------------------------------------------- the official rules


def regress_evaluation_joints(vertices: np.ndarray, regressors: np.ndarray) -> np.ndarray:
    """Rule 1, the evaluation regressor (official `Jr`): joints (B, 2, 21, 3) = R_hand @ mesh.

    `regressors` (2, 21, V) is each hand's MANO J_regressor plus fingertip
    vertices 745, 317, 444, 556, 673 in RepeHand order
    (`repehand_ros.mano.layer.EVALUATION_FINGERTIP_VERTICES`): the middle tip
    is vertex 444 here, where training used 445.
    """
    return np.einsum("hjv,bhvc->bhjc", regressors, np.asarray(vertices, dtype=np.float64))


def align_at_middle_knuckle(
    pred_joints: np.ndarray,
    gt_joints: np.ndarray,
    pred_vertices: np.ndarray,
    gt_vertices: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rule 2, per hand: subtract joint 9 (Middle_1), scale the prediction by
    |J9-J0|gt / |J9-J0|pred, joints and vertices alike.

    A hand without a MANO fit has an all-zero ground truth, so its ground-truth
    bone is 0 and the prediction is scaled to a point at the origin: its
    joints then score 0 mm wherever `joint_trunc` marks them valid (the
    official code does exactly this). A zero-length predicted bone, which no
    MANO mesh has, would give inf/NaN there; `metrics.scale_factor` gives 1.
    """
    pred_j, gt_j, pred_v, gt_v = align_scale_at_joint(
        pred_joints, gt_joints, pred_vertices, gt_vertices
    )
    assert pred_v is not None and gt_v is not None
    return pred_j, gt_j, pred_v, gt_v


def official_joint_mask(joint_trunc: np.ndarray) -> np.ndarray:
    """Rule 3, the order quirk: `joint_trunc` (InterHand2.6M order) used index by index on
    the 42 predicted joints (RepeHand order), without reordering.

    So predicted joint j counts when InterHand joint j is valid: the right
    wrist (RepeHand 0) by the right thumb tip's flag (InterHand 0), the right
    pinky tip (RepeHand 20) by the right wrist's (InterHand 20). The paper's
    numbers were computed so.
    """
    return np.asarray(joint_trunc, dtype=bool)


def official_vertex_mask(hand_type: np.ndarray, mano_fitted: np.ndarray) -> np.ndarray:
    """Which hands' vertex errors count, (B, 2): the annotated hand of a single-hand sample
    when it has a fit; both hands of an interacting sample when both have one."""
    hand_type = np.asarray(hand_type)
    fitted = np.asarray(mano_fitted, dtype=bool)
    both = (hand_type == "interacting") & fitted.all(axis=1)
    return np.stack(
        ((hand_type == "right") & fitted[:, 0] | both, (hand_type == "left") & fitted[:, 1] | both),
        axis=1,
    )


def official_rigid_transform(
    source: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The official `rigid_transform_3D(A, B)`: (c, R, t) for points (P, 3).

    Umeyama's fit with the covariance divided by P, a reflection flipped by
    negating the last singular vector, c = sum of the singular values over
    the summed per-axis variance of `source`, and t = mean(B) - c R mean(A):
    the translation includes the scale, although the caller applies only R
    and t. All-identical source points give c = NaN, and so NaN errors.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    covariance = (source - source_mean).T @ (target - target_mean) / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    flip = np.ones(3)
    if np.linalg.det(vt.T @ u.T) < 0:
        flip[-1] = -1.0
    rotation = vt.T @ np.diag(flip) @ u.T
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = float(np.sum(singular * flip) / source.var(axis=0).sum())
    translation = target_mean - scale * rotation @ source_mean
    return scale, rotation, translation


def official_procrustes(
    pred_joints: np.ndarray,
    gt_joints: np.ndarray,
    pred_vertices: np.ndarray,
    gt_vertices: np.ndarray,
    scored: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Rule 4, PA for one sample: one rigid transform for both hands, scale not applied.

    `official_rigid_transform` fitted on the scored joints of both hands
    together (42, 3), then x -> R x + t applied to all 42 joints and to both
    hands' vertices (2, V, 3). Returns (joint errors (42,), each hand's mean
    vertex error (2,)), or None with fewer than three scored joints (the
    official code then scores no PA joint and a NaN PA vertex error, dropped).
    Both hands' vertices count whatever the hand type and fits: the official
    PA-MPVPE is the mean over all 2 x 778 vertices.
    """
    scored = np.asarray(scored, dtype=bool)
    if scored.sum() < MIN_RIGID_FIT_JOINTS:
        return None
    _, rotation, translation = official_rigid_transform(pred_joints[scored], gt_joints[scored])
    with np.errstate(invalid="ignore"):
        joints = pred_joints @ rotation.T + translation
        vertices = pred_vertices @ rotation.T + translation
    return point_errors(joints, gt_joints), point_errors(vertices, gt_vertices).mean(axis=-1)


def interwild_mrrpe(batch: EvaluationBatch) -> np.ndarray:
    """MRRPE terms, InterWild's convention (not in RepeHand's official numbers): (B,) mm.

    || (left wrist - right wrist)_pred - (left wrist - right wrist)_annotated ||
    with the annotated `_joint_3d.json` wrists, for every sample whose two
    wrists `joint_trunc` marks valid, whatever its hand type; NaN elsewhere.
    """
    gt = batch.annotated_joints[:, 1, WRIST] - batch.annotated_joints[:, 0, WRIST]
    errors = np.linalg.norm(batch.pred_relative_translation - gt, axis=-1)
    applies = np.asarray(batch.joint_trunc, dtype=bool)[:, list(_INTERHAND_WRISTS)].all(axis=1)
    return np.where(applies, errors, np.nan)


def _aligned_evaluation_joints(
    batch: EvaluationBatch, regressors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rules 1 and 2: evaluation joints of both meshes, aligned at joint 9 and bone-scaled."""
    pred_joints = regress_evaluation_joints(batch.pred_vertices, regressors)
    gt_joints = regress_evaluation_joints(batch.gt_vertices, regressors)
    return align_at_middle_knuckle(pred_joints, gt_joints, batch.pred_vertices, batch.gt_vertices)


def official_scores(batch: EvaluationBatch, regressors: np.ndarray) -> SampleScores:
    """The official `evaluate()` on one batch, sample by sample (rules 1-4)."""
    pred_j, gt_j, pred_v, gt_v = _aligned_evaluation_joints(batch, regressors)
    count = len(batch.hand_type)
    pred_42 = pred_j.reshape(count, TWO_HAND_JOINTS, 3)
    gt_42 = gt_j.reshape(count, TWO_HAND_JOINTS, 3)
    joint_scored = official_joint_mask(batch.joint_trunc)
    pa_joint_errors = np.full((count, TWO_HAND_JOINTS), np.nan)
    pa_vertex_errors = np.full((count, 2), np.nan)
    pa_fitted = np.zeros(count, dtype=bool)
    for n in range(count):
        fit = official_procrustes(pred_42[n], gt_42[n], pred_v[n], gt_v[n], joint_scored[n])
        if fit is not None:
            pa_joint_errors[n], pa_vertex_errors[n] = fit
            pa_fitted[n] = True
    return SampleScores(
        single=batch.single,
        joint_errors=point_errors(pred_42, gt_42),
        joint_scored=joint_scored,
        vertex_errors=point_errors(pred_v, gt_v).mean(axis=-1),
        vertex_scored=official_vertex_mask(batch.hand_type, batch.mano_fitted),
        pa_joint_errors=pa_joint_errors,
        pa_joint_scored=joint_scored & pa_fitted[:, None],
        pa_vertex_errors=pa_vertex_errors,
        pa_vertex_scored=np.repeat(pa_fitted[:, None], 2, axis=1),
        mrrpe=interwild_mrrpe(batch),
    )


# --------------------------------------------------------------------------- corrected variants


def corrected_joint_mask(joint_trunc: np.ndarray, mano_fitted: np.ndarray) -> np.ndarray:
    """`joint_trunc` moved to the joints it describes (RepeHand order), and only on hands
    with a MANO fit (a hand without one has no ground truth to score against): (B, 42)."""
    per_hand = interhand_to_repehand(np.asarray(joint_trunc, dtype=bool)[..., None])[..., 0]
    per_hand = per_hand & np.asarray(mano_fitted, dtype=bool)[:, :, None]
    return per_hand.reshape(len(per_hand), TWO_HAND_JOINTS)


def corrected_scores(batch: EvaluationBatch, regressors: np.ndarray) -> SampleScores:
    """The official rules with the mask mapped (`corrected_joint_mask`) and PA per hand:
    the similarity transform (scale applied) fitted on that hand's scored joints,
    applied to its joints and vertices; PA vertex errors where MPVPE counts them."""
    pred_j, gt_j, pred_v, gt_v = _aligned_evaluation_joints(batch, regressors)
    count = len(batch.hand_type)
    joint_scored = corrected_joint_mask(batch.joint_trunc, batch.mano_fitted)
    per_hand_scored = joint_scored.reshape(count, 2, NUM_JOINTS)
    transform = procrustes_transform(pred_j, gt_j, per_hand_scored)
    hand_fitted = per_hand_scored.sum(axis=-1) >= MIN_RIGID_FIT_JOINTS
    vertex_scored = official_vertex_mask(batch.hand_type, batch.mano_fitted)
    pa_joints = apply_similarity(pred_j, *transform)
    pa_vertices = apply_similarity(pred_v, *transform)
    return SampleScores(
        single=batch.single,
        joint_errors=point_errors(pred_j, gt_j).reshape(count, TWO_HAND_JOINTS),
        joint_scored=joint_scored,
        vertex_errors=point_errors(pred_v, gt_v).mean(axis=-1),
        vertex_scored=vertex_scored,
        pa_joint_errors=point_errors(pa_joints, gt_j).reshape(count, TWO_HAND_JOINTS),
        pa_joint_scored=(per_hand_scored & hand_fitted[..., None]).reshape(count, -1),
        pa_vertex_errors=point_errors(pa_vertices, gt_v).mean(axis=-1),
        pa_vertex_scored=vertex_scored & hand_fitted,
        mrrpe=interwild_mrrpe(batch),
    )


def interwild_scores(batch: EvaluationBatch, regressors: np.ndarray) -> SampleScores:
    """InterWild's `evaluate()`: the network's joints against the annotated joints, both
    wrist-relative, unscaled, with `joint_trunc` mapped to RepeHand order; meshes
    wrist-relative (wrist = MANO's regressed wrist). An interacting sample scores
    each hand's mesh that has a fit, separately. No PA."""
    count = len(batch.hand_type)
    pred = np.asarray(batch.pred_joints, dtype=np.float64)
    gt = np.asarray(batch.annotated_joints, dtype=np.float64)
    joint_errors = point_errors(pred - pred[:, :, :1], gt - gt[:, :, :1])
    joint_scored = interhand_to_repehand(np.asarray(batch.joint_trunc, dtype=bool)[..., None])
    pred_wrist = regress_evaluation_joints(batch.pred_vertices, regressors)[:, :, WRIST, None]
    gt_wrist = regress_evaluation_joints(batch.gt_vertices, regressors)[:, :, WRIST, None]
    vertex_errors = point_errors(batch.pred_vertices - pred_wrist, batch.gt_vertices - gt_wrist)
    hand_type = np.asarray(batch.hand_type)
    fitted = np.asarray(batch.mano_fitted, dtype=bool)
    annotated = np.stack((hand_type != "left", hand_type != "right"), axis=1)
    return SampleScores(
        single=batch.single,
        joint_errors=joint_errors.reshape(count, TWO_HAND_JOINTS),
        joint_scored=joint_scored[..., 0].reshape(count, TWO_HAND_JOINTS),
        vertex_errors=vertex_errors.mean(axis=-1),
        vertex_scored=annotated & fitted,
        pa_joint_errors=np.full((count, TWO_HAND_JOINTS), np.nan),
        pa_joint_scored=np.zeros((count, TWO_HAND_JOINTS), dtype=bool),
        pa_vertex_errors=np.full((count, 2), np.nan),
        pa_vertex_scored=np.zeros((count, 2), dtype=bool),
        mrrpe=interwild_mrrpe(batch),
    )


__all__ = [
    "MIN_RIGID_FIT_JOINTS",
    "align_at_middle_knuckle",
    "corrected_joint_mask",
    "corrected_scores",
    "interwild_mrrpe",
    "interwild_scores",
    "official_joint_mask",
    "official_procrustes",
    "official_rigid_transform",
    "official_scores",
    "official_vertex_mask",
    "regress_evaluation_joints",
]
