"""The evaluation protocols' rules (`scoring_rules`, `summaries`), each against a small case
worked out by hand.

The meshes here are "hands" of 21 vertices and the evaluation regressor is the
identity, so vertex k is joint k (RepeHand order: 0 wrist, 4 thumb tip,
8 index tip, 9 middle_1). InterHand2.6M's joint order, which `joint_trunc`
uses, is spelled out where it matters: per hand 0 thumb tip, 1 thumb_3,
2 thumb_2, 3 thumb_1, 4 index tip, 5 index_3, ..., 20 wrist; the left hand is
+21. Coordinates are integers, so the alignments are exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from repehand_ros.data import protocols, scoring_rules, summaries
from repehand_ros.data.scores import EvaluationBatch, ProtocolSummary, SampleScores

IDENTITY = np.stack([np.eye(21), np.eye(21)])

# Vectors with integer lengths 3, 7, 9, 9, 11, 11, 13, 15, 17, 17.
INTEGER_LENGTH_VECTORS = np.array(
    [
        (1, 2, 2),
        (2, 3, 6),
        (1, 4, 8),
        (4, 4, 7),
        (2, 6, 9),
        (6, 6, 7),
        (3, 4, 12),
        (2, 10, 11),
        (1, 12, 12),
        (8, 9, 12),
    ],
    dtype=float,
)
SIGNS = np.array([(1, 1, 1), (-1, 1, 1), (1, -1, 1), (1, 1, -1)], dtype=float)


def _hand(shift: float = 0.0) -> np.ndarray:
    """An integer-valued hand (21, 3): wrist 90 mm below middle_1, other joints spread."""
    joints = np.zeros((21, 3))
    joints[0] = (0.0, 90.0, 0.0)
    others = [j for j in range(1, 21) if j != 9]
    for k, j in enumerate(others):
        joints[j] = INTEGER_LENGTH_VECTORS[k % 10] * SIGNS[k % 4] * 3.0
    joints[9] = (0.0, 0.0, 0.0)
    return joints + shift


def _batch(
    hand_type: list[str],
    pred: np.ndarray,
    gt: np.ndarray,
    trunc: np.ndarray | None = None,
    fitted: np.ndarray | None = None,
    annotated: np.ndarray | None = None,
    relative: np.ndarray | None = None,
) -> EvaluationBatch:
    """A batch whose meshes are the joints themselves (identity regressor)."""
    count = len(hand_type)
    fitted = np.ones((count, 2), bool) if fitted is None else np.asarray(fitted)
    gt = np.where(fitted[:, :, None, None], gt, 0.0)
    return EvaluationBatch(
        hand_type=np.array(hand_type),
        joint_trunc=np.ones((count, 42), bool) if trunc is None else np.asarray(trunc),
        mano_fitted=fitted,
        pred_vertices=pred,
        gt_vertices=gt,
        pred_joints=pred,
        annotated_joints=gt if annotated is None else annotated,
        pred_relative_translation=np.zeros((count, 3)) if relative is None else relative,
    )


def _two_hands(count: int = 1) -> np.ndarray:
    """(count, 2, 21, 3): the integer hand for both hands, each sample shifted."""
    return np.stack(
        [np.stack((_hand(100.0 + 10 * n), _hand(-100.0 - 10 * n))) for n in range(count)]
    )


def _official(batch: EvaluationBatch) -> ProtocolSummary:
    return summaries.summarize_official(scoring_rules.official_scores(batch, IDENTITY))


def _corrected(batch: EvaluationBatch) -> ProtocolSummary:
    return summaries.summarize_corrected(scoring_rules.corrected_scores(batch, IDENTITY))


# --- rule 1: the evaluation regressor ---


def test_evaluation_joints_are_the_regressor_times_each_hands_mesh():
    vertices = np.arange(2 * 2 * 3 * 3, dtype=float).reshape(2, 2, 3, 3)
    regressors = np.zeros((2, 21, 3))
    regressors[0, :, 0] = 1.0  # right hand: every joint is vertex 0
    regressors[1, :, 1] = 0.5  # left hand: half of vertex 1 plus half of vertex 2
    regressors[1, :, 2] = 0.5
    joints = scoring_rules.regress_evaluation_joints(vertices, regressors)
    np.testing.assert_array_equal(joints[1, 0, 20], vertices[1, 0, 0])
    np.testing.assert_array_equal(joints[0, 1, 7], (vertices[0, 1, 1] + vertices[0, 1, 2]) / 2)


# --- rule 2: joint 9 alignment and bone scale ---


def test_prediction_is_moved_to_joint_9_and_scaled_by_the_bone_ratio():
    gt = _two_hands()
    pred = 0.5 * gt + np.array([100.0, -20.0, 300.0])
    pred[0, 0, 4] += (0.0, 0.0, 3.0)  # right thumb tip 3 mm off, at half the scale
    scores = scoring_rules.official_scores(_batch(["interacting"], pred, gt), IDENTITY)
    expected = np.zeros(42)
    expected[4] = 6.0  # the 3 mm doubled with the rest of the hand
    np.testing.assert_allclose(scores.joint_errors[0], expected, atol=1e-9)
    # vertices are the joints here: the right hand's mean vertex error is 6 / 21
    np.testing.assert_allclose(scores.vertex_errors[0], [6.0 / 21, 0.0], atol=1e-9)
    assert _official(_batch(["interacting"], pred, gt)).mpvpe_mm.interacting == pytest.approx(
        (6.0 / 21 + 0.0) / 2
    )


# --- rule 3: joint_trunc used in InterHand2.6M's order on RepeHand-ordered joints ---


def test_joint_trunc_order_quirk_changes_the_number():
    gt = _two_hands(2)
    pred = gt.copy()
    pred[1, 0, 4] += (0.0, 12.0, 0.0)  # sample 2: the right THUMB tip is 12 mm off
    trunc = np.ones((2, 42), bool)
    trunc[1, 4] = False  # sample 2: InterHand joint 4, the right INDEX tip, is invalid
    batch = _batch(["interacting", "interacting"], pred, gt, trunc)
    # Official: the flag of InterHand joint 4 removes predicted joint 4, the thumb tip,
    # so the 12 mm error is never seen.
    scores = scoring_rules.official_scores(batch, IDENTITY)
    assert not scores.joint_scored[1, 4] and scores.joint_scored[1, 8]
    assert _official(batch).mpjpe_mm.interacting == 0.0
    # Corrected: the index tip (RepeHand 8) is dropped instead; the thumb tip's per-joint
    # mean is (0 + 12) / 2 = 6, the other 41 means are 0: 6 / 42.
    assert _corrected(batch).mpjpe_mm.interacting == pytest.approx(6.0 / 42)


def test_official_mask_takes_the_wrist_flag_for_the_pinky_tip():
    trunc = np.ones((1, 42), bool)
    trunc[0, 20] = False  # InterHand 20: the right wrist
    official = scoring_rules.official_joint_mask(trunc)
    corrected = scoring_rules.corrected_joint_mask(trunc, np.ones((1, 2), bool))
    assert not official[0, 20] and official[0, 0]  # RepeHand 20 = right pinky tip
    assert not corrected[0, 0] and corrected[0, 20]  # RepeHand 0 = right wrist


# --- a hand without a MANO fit: zero ground truth, prediction scaled by 0 ---


def test_hand_without_mano_fit_scores_zero_error_through_zero_scale():
    gt = _two_hands()
    pred = gt.copy()
    pred[0, 1] = _hand(37.0) * 1.7  # a left hand that matches nothing
    pred[0, 0, 4] += (0.0, 12.0, 0.0)  # right thumb tip 12 mm off
    batch = _batch(["interacting"], pred, gt, fitted=[[True, False]])
    aligned_pred, aligned_gt, _, _ = scoring_rules.align_at_middle_knuckle(
        pred, batch.gt_vertices, pred, batch.gt_vertices
    )
    np.testing.assert_array_equal(aligned_pred[0, 1], 0.0)  # scaled by 0 / |bone| = 0
    np.testing.assert_array_equal(aligned_gt[0, 1], 0.0)
    official, corrected = _official(batch), _corrected(batch)
    # Official: the 21 left joints count with 0 mm; per-joint means 12 (thumb tip) and 41 zeros.
    assert official.mpjpe_mm.interacting == pytest.approx(12.0 / 42)
    assert official.f5_percent.interacting == pytest.approx(100.0 * 41 / 42)
    assert math.isnan(official.mpvpe_mm.interacting)  # needs both hands' fits
    # Corrected: the left hand is not scored at all.
    assert corrected.mpjpe_mm.interacting == pytest.approx(12.0 / 21)
    assert corrected.f5_percent.interacting == pytest.approx(100.0 * 20 / 21)


# --- averaging: per-joint means, then their mean ---


def test_mpjpe_is_the_mean_of_per_joint_means_not_of_all_errors():
    gt = _two_hands(2)
    pred = gt.copy()
    pred[1, 0, 4] += (0.0, 0.0, 12.0)
    trunc = np.ones((2, 42), bool)
    trunc[1] = False
    trunc[1, [4, 9]] = True  # sample 2 scores only joints 4 and 9
    summary = _official(_batch(["interacting", "interacting"], pred, gt, trunc))
    # joint 4: (0 + 12) / 2 = 6; 41 other joints 0: 6 / 42. (All 44 errors pooled: 12 / 44.)
    assert summary.mpjpe_mm.interacting == pytest.approx(6.0 / 42)
    assert summary.mpjpe_mm.interacting != pytest.approx(12.0 / 44)
    assert summary.per_joint_mpjpe_interacting_mm[4] == pytest.approx(6.0)


def test_all_is_the_mean_of_the_84_per_joint_means_of_both_lists():
    gt = _two_hands(2)
    pred = gt.copy()
    pred[0, 0, 4] += (0.0, 0.0, 21.0)  # single-hand sample: 21 mm on one joint
    trunc = np.ones((2, 42), bool)
    summary = _official(_batch(["right", "interacting"], pred, gt, trunc))
    assert summary.mpjpe_mm.single == pytest.approx(21.0 / 42)
    assert summary.mpjpe_mm.interacting == 0.0
    assert summary.mpjpe_mm.all == pytest.approx(21.0 / 84)


def test_a_joint_never_scored_makes_official_mpjpe_nan_and_is_skipped_when_corrected():
    gt = _two_hands()
    pred = gt.copy()
    pred[0, 0, 4] += (0.0, 0.0, 12.0)
    trunc = np.ones((1, 42), bool)
    trunc[0, 5] = False  # InterHand 5 (right index_3): RepeHand 5 officially, 7 corrected
    batch = _batch(["interacting"], pred, gt, trunc)
    official = _official(batch)
    assert math.isnan(official.mpjpe_mm.interacting) and math.isnan(official.mpjpe_mm.all)
    assert math.isnan(official.mpjpe_mm.single)  # no single-hand samples at all
    assert _corrected(batch).mpjpe_mm.interacting == pytest.approx(12.0 / 41)


# --- F@5 and F@15 ---


def test_f_scores_count_errors_strictly_under_the_threshold_per_joint():
    gt = _two_hands(2)
    pred = gt.copy()
    pred[0, 0, 4] += (0.0, 0.0, 4.0)  # thumb tip 4 mm, then 10 mm: F@5 1/2, F@15 1
    pred[1, 0, 4] += (0.0, 0.0, 10.0)
    pred[:, 0, 8] += (3.0, 4.0, 0.0)  # index tip exactly 5 mm in both: F@5 0, F@15 1
    trunc = np.ones((2, 42), bool)
    trunc[:, 30] = False  # InterHand 30 (left middle_3) never valid
    batch = _batch(["interacting", "interacting"], pred, gt, trunc)
    official, corrected = _official(batch), _corrected(batch)
    # Official: 42 per-joint values, the never-scored joint (index 30) counting 0.0.
    assert official.f5_percent.interacting == pytest.approx(100.0 * (39 + 0.5 + 0.0) / 42)
    assert official.f15_percent.interacting == pytest.approx(100.0 * 41 / 42)
    # Corrected: the never-scored joint (RepeHand 32, left middle_3) left out: 41 values.
    assert corrected.f5_percent.interacting == pytest.approx(100.0 * (39 + 0.5 + 0.0) / 41)
    assert corrected.f15_percent.interacting == pytest.approx(100.0)
    # No single-hand samples: official F-scores average 42 zeros, corrected has nothing.
    assert official.f5_percent.single == 0.0 and math.isnan(corrected.f5_percent.single)


# --- rule 4: PA, one rigid transform on both hands, its scale not applied ---


def test_rigid_transform_scale_is_in_its_translation():
    source = _hand()[1:]
    scale, rotation, translation = scoring_rules.official_rigid_transform(source, 2.0 * source)
    assert scale == pytest.approx(2.0)
    np.testing.assert_allclose(rotation, np.eye(3), atol=1e-12)
    # t = mean(B) - c R mean(A) = 2 mean(A) - 2 mean(A) = 0 (not mean(A), the scale-free fit)
    np.testing.assert_allclose(translation, 0.0, atol=1e-9)


def test_pa_applies_rotation_and_translation_but_not_the_scale():
    pred = np.stack((_hand(), _hand()))[None]  # middle_1 at the origin
    gt = 2.0 * pred  # every joint twice as far from middle_1 ...
    gt[:, :, 0] = pred[:, :, 0]  # ... except the wrists: the bone ratio is 1, no rescaling
    trunc = np.ones((1, 42), bool)
    trunc[0, [0, 21]] = False  # keeps the wrists (RepeHand 0 and 21) out of the fit
    summary = _official(_batch(["interacting"], pred, gt, trunc))
    # The fit maps A onto B = 2 A: c = 2, R = I, t = 0; applied without c, each scored
    # joint stays off by |2 p - p| = |p|. The 19 non-zero joints of a hand have lengths
    # 3 x (3+7+9+9+11+11+13+15+17+17 + 3+7+9+9+11+11+13+15+17) = 3 x 207; both hands:
    # 2 x 621 over the 40 scored joints (middle_1 of each hand: 0 mm).
    assert summary.pa_mpjpe_mm.interacting == pytest.approx(2 * 621 / 40)
    # Vertices (= joints) of both hands; the wrists are 0 mm off: 621 / 21 per hand.
    assert summary.pa_mpvpe_mm.interacting == pytest.approx(621 / 21)
    # The never-scored wrists make MPJPE NaN but are only left out of PA-MPJPE.
    assert math.isnan(summary.mpjpe_mm.interacting)


def test_pa_fits_both_hands_with_one_rotation():
    gt = _two_hands()
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 deg about z
    pred = gt.copy()
    pred[0, 0] = (gt[0, 0] - gt[0, 0, 9]) @ turn.T + gt[0, 0, 9]  # only the right hand turned
    batch = _batch(["interacting"], pred, gt)
    assert _corrected(batch).pa_mpjpe_mm.interacting == pytest.approx(0.0, abs=1e-9)
    assert _official(batch).pa_mpjpe_mm.interacting > 10.0  # one rotation cannot fit both


def test_pa_vertex_error_covers_both_hands_and_needs_three_joints():
    gt = _two_hands(2)
    pred = gt.copy()
    others = [j for j in range(21) if j not in (0, 9)]
    pred[0, 1, others] += (3.0, 4.0, 0.0)  # sample 1 (right-hand): the LEFT hand 5 mm off
    pred[1] += 50.0 * np.random.default_rng(0).normal(size=(2, 21, 3))
    trunc = np.zeros((2, 42), bool)
    trunc[0, :21] = True  # sample 1 scores the right hand: an exact fit, R = I, t = 0
    trunc[1, :2] = True  # sample 2: two joints, too few for a fit
    batch = _batch(["right", "left"], pred, gt, trunc, fitted=[[True, True], [True, False]])
    official = _official(batch)
    # Per sample, the mean over both hands' vertices: (0 + 5 x 19 / 21) / 2.
    assert official.pa_mpvpe_mm.single == pytest.approx(5.0 * 19 / 21 / 2)
    assert official.mpvpe_mm.single == pytest.approx(0.0)  # MPVPE: the right hand only
    # No interacting samples: PA averages fall back to 0.0, the others are NaN.
    assert official.pa_mpvpe_mm.interacting == 0.0 and official.pa_mpjpe_mm.interacting == 0.0
    assert math.isnan(official.mpvpe_mm.interacting)
    assert _corrected(batch).pa_mpvpe_mm.single == pytest.approx(0.0, abs=1e-9)


# --- MPVPE: one value per sample ---


def test_mpvpe_per_sample_needs_the_annotated_hands_fits():
    gt = _two_hands(3)
    pred = gt.copy()
    others = [j for j in range(21) if j not in (0, 9)]  # keep the alignment joints exact
    pred[0, 0, others] += (2.0, 0.0, 0.0)  # right-hand sample: 2 mm on 19 of 21 vertices
    pred[0, 1, others] += 50.0  # its left hand is not scored
    pred[2, 0, others] += (2.0, 0.0, 0.0)  # interacting sample: right 2 mm ...
    pred[2, 1, others] += (0.0, 4.0, 0.0)  # ... left 4 mm
    fitted = np.array([[True, True], [True, False], [True, True]])  # left-hand sample: no fit
    batch = _batch(["right", "left", "interacting"], pred, gt, fitted=fitted)
    for summary in (_official(batch), _corrected(batch)):
        assert summary.mpvpe_mm.single == pytest.approx(2.0 * 19 / 21)
        assert summary.mpvpe_mm.interacting == pytest.approx((2.0 + 4.0) / 2 * 19 / 21)
        assert summary.mpvpe_mm.all == pytest.approx((2.0 + 3.0) / 2 * 19 / 21)


# --- InterWild: wrist-relative, annotated joints, per-hand meshes; MRRPE ---


def test_interwild_scores_wrist_relative_unscaled_joints_and_each_fitted_hand():
    annotated = _two_hands(2)
    wrist = annotated[:, :, :1]
    pred_joints = 1.1 * (annotated - wrist) + np.array([5.0, 6.0, 7.0])
    meshes = _two_hands(2)
    pred_meshes = meshes.copy()
    pred_meshes[0, 0, 1:] += (2.0, 0.0, 0.0)  # sample 1: right 2 mm on 20 of 21 vertices
    pred_meshes[0, 1, 1:] += (0.0, 4.0, 0.0)  # left 4 mm
    pred_meshes[1, 0, 1:] += (0.0, 0.0, 6.0)  # sample 2: right 6 mm, left not fitted
    batch = EvaluationBatch(
        hand_type=np.array(["interacting", "interacting"]),
        joint_trunc=np.ones((2, 42), bool),
        mano_fitted=np.array([[True, True], [True, False]]),
        pred_vertices=pred_meshes,
        gt_vertices=meshes,
        pred_joints=pred_joints,
        annotated_joints=annotated,
        pred_relative_translation=np.zeros((2, 3)),
    )
    summary = summaries.summarize_interwild(scoring_rules.interwild_scores(batch, IDENTITY))
    # 0.1 x each joint's distance from its wrist (the scale is not undone)
    distances = np.linalg.norm(annotated - wrist, axis=-1).reshape(2, 42)
    assert summary.mpjpe_mm.interacting == pytest.approx(0.1 * distances.mean(axis=0).mean())
    # one value per fitted hand: 2, 4 and 6 mm on 20 of 21 vertices
    assert summary.mpvpe_mm.interacting == pytest.approx((2.0 + 4.0 + 6.0) / 3 * 20 / 21)
    assert summary.f5_percent is None and summary.pa_mpjpe_mm is None


def test_mrrpe_uses_annotated_wrists_where_both_are_valid():
    annotated = _two_hands(3)
    gt_relative = annotated[:, 1, 0] - annotated[:, 0, 0]
    trunc = np.ones((3, 42), bool)
    trunc[2, 41] = False  # sample 3: left wrist (InterHand 41) invalid
    batch = _batch(
        ["interacting", "right", "interacting"],
        annotated,
        annotated,
        trunc,
        relative=gt_relative + np.array([3.0, 4.0, 12.0]),
    )
    scores = scoring_rules.official_scores(batch, IDENTITY)
    np.testing.assert_allclose(scores.mrrpe[:2], 13.0)
    assert math.isnan(scores.mrrpe[2])
    summary = summaries.summarize_official(scores)
    assert summary.mrrpe_mm == pytest.approx(13.0) and summary.mrrpe_samples == 2


def test_scores_of_batches_concatenate_in_order():
    gt = _two_hands(2)
    first = scoring_rules.official_scores(_batch(["right"], gt[:1], gt[:1]), IDENTITY)
    second = scoring_rules.official_scores(_batch(["interacting"], gt[1:], gt[1:]), IDENTITY)
    joined = SampleScores.concatenate([first, second])
    assert len(joined) == 2 and joined.single.tolist() == [True, False]
    assert len(SampleScores.concatenate([])) == 0


def test_every_protocol_is_registered_with_official_the_default():
    assert set(protocols.PROTOCOLS) == {"official", "corrected", "interwild"}
    assert protocols.DEFAULT_PROTOCOL == "official"
