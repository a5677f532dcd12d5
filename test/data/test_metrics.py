"""The evaluation metrics, each against an answer known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from repehand_ros.data import metrics


def _hands(count: int = 6, seed: int = 0) -> np.ndarray:
    """Random hands (count, 21, 3) in mm with a non-degenerate wrist-to-middle_1 bone."""
    rng = np.random.default_rng(seed)
    hands = rng.normal(0.0, 40.0, (count, 21, 3))
    hands[:, metrics.MIDDLE_1] = hands[:, metrics.WRIST] + np.array([0.0, -90.0, 0.0])
    return hands


def test_point_errors_of_a_known_offset_are_that_offset():
    gt = _hands()
    errors = metrics.point_errors(gt + np.array([3.0, 4.0, 12.0]), gt)
    np.testing.assert_allclose(errors, 13.0)
    assert metrics.masked_mean(errors) == pytest.approx(13.0)


def test_interwild_finger_offset_gives_the_offset_on_every_joint_but_the_wrist():
    gt = _hands()
    pred = gt.copy()
    pred[:, 1:] += np.array([0.0, 6.0, 8.0])  # everything but the wrist moves by 10 mm
    pred += np.array([100.0, -50.0, 700.0])  # and the hand as a whole: ignored
    joints = metrics.point_errors(*metrics.align_wrist(pred, gt)[:2])
    np.testing.assert_allclose(joints[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(joints[:, 1:], 10.0)
    assert metrics.masked_mean(joints) == pytest.approx(10.0 * 20 / 21)


def test_paper_protocol_thumb_tip_offset_shows_on_that_joint_only():
    gt = _hands()
    pred = gt + np.array([5.0, -3.0, 40.0])  # whole-hand translation: removed at joint 9
    pred[:, 4] += np.array([0.0, 0.0, 7.0])  # thumb_4 alone is 7 mm off
    joints = metrics.point_errors(*metrics.align_scale_at_joint(pred, gt)[:2])
    expected = np.zeros(21)
    expected[4] = 7.0
    np.testing.assert_allclose(metrics.per_joint_error(joints), expected, atol=1e-9)
    assert metrics.masked_mean(joints) == pytest.approx(7.0 / 21)


def test_vertex_offset_gives_that_mpvpe_under_both_alignments():
    gt_joints = _hands(4)
    rng = np.random.default_rng(1)
    gt_vertices = rng.normal(0.0, 50.0, (4, 778, 3))
    pred_vertices = gt_vertices + np.array([2.0, 0.0, 0.0])
    for align in (metrics.align_scale_at_joint, metrics.align_wrist):
        pred_j, gt_j, pred_v, gt_v = align(gt_joints, gt_joints, pred_vertices, gt_vertices)
        assert metrics.masked_mean(metrics.point_errors(pred_j, gt_j)) == pytest.approx(0.0)
        assert metrics.masked_mean(metrics.point_errors(pred_v, gt_v)) == pytest.approx(2.0)


def test_scaled_prediction_is_exact_under_the_paper_protocol_but_not_interwild():
    gt = _hands()
    centre = np.array([10.0, 20.0, 500.0])
    pred = centre + 1.7 * (gt - centre)
    vertices_gt = np.random.default_rng(2).normal(0.0, 50.0, (6, 778, 3))
    vertices_pred = centre + 1.7 * (vertices_gt - centre)
    pred_j, gt_j, pred_v, gt_v = metrics.align_scale_at_joint(pred, gt, vertices_pred, vertices_gt)
    np.testing.assert_allclose(metrics.point_errors(pred_j, gt_j), 0.0, atol=1e-9)
    np.testing.assert_allclose(metrics.point_errors(pred_v, gt_v), 0.0, atol=1e-9)
    joints = metrics.point_errors(*metrics.align_wrist(pred, gt)[:2])
    # wrist-relative, unscaled: each joint is off by 0.7 times its distance from the wrist
    expected = 0.7 * np.linalg.norm(gt - gt[:, :1], axis=-1)
    np.testing.assert_allclose(joints, expected, rtol=1e-9)


def test_paper_scale_factor_is_the_ratio_of_the_wrist_to_middle_1_bones():
    gt = _hands(2)
    pred = gt * 0.5
    np.testing.assert_allclose(metrics.scale_factor(pred, gt), 2.0)


def test_rotated_scaled_shifted_prediction_is_exact_after_procrustes():
    gt = _hands()
    rotation = Rotation.from_euler("xyz", [30.0, -50.0, 110.0], degrees=True).as_matrix()
    pred = 0.8 * gt @ rotation.T + np.array([30.0, -20.0, 400.0])
    np.testing.assert_allclose(metrics.procrustes_align(pred, gt), gt, atol=1e-8)
    scale, fitted, _ = metrics.procrustes_transform(pred, gt)
    np.testing.assert_allclose(scale, 1.0 / 0.8)
    np.testing.assert_allclose(fitted, np.broadcast_to(rotation.T, fitted.shape), atol=1e-12)


def test_procrustes_ignores_invalid_joints_in_the_fit():
    gt = _hands(3)
    rotation = Rotation.from_euler("z", 40.0, degrees=True).as_matrix()
    pred = gt @ rotation.T
    pred[:, 5] += 300.0  # a wild joint, marked invalid
    valid = np.ones((3, 21), dtype=bool)
    valid[:, 5] = False
    aligned = metrics.procrustes_align(pred, gt, valid)
    errors = metrics.point_errors(aligned, gt)
    np.testing.assert_allclose(errors[valid], 0.0, atol=1e-8)
    assert metrics.masked_mean(errors, valid) == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(errors[:, 5], np.linalg.norm([300.0] * 3), rtol=1e-9)


def test_procrustes_does_not_reflect():
    gt = _hands(2)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    aligned = metrics.procrustes_align(mirrored, gt)
    assert metrics.masked_mean(metrics.point_errors(aligned, gt)) > 1.0


def test_mrrpe_of_a_known_wrist_offset():
    gt_right_to_left = np.array([[120.0, 0.0, 30.0], [-80.0, 10.0, 0.0]])
    pred = gt_right_to_left + np.array([3.0, 4.0, 12.0])
    np.testing.assert_allclose(metrics.mrrpe(pred, gt_right_to_left), [13.0, 13.0])


def test_per_joint_error_averages_each_joint_over_its_valid_entries():
    errors = np.array([[1.0, 2.0, 3.0], [3.0, 100.0, 5.0]])
    valid = np.array([[True, True, False], [True, False, False]])
    result = metrics.per_joint_error(errors, valid)
    np.testing.assert_allclose(result[:2], [2.0, 2.0])
    assert math.isnan(result[2])


def test_pck_curve_and_auc():
    errors = np.array([1.0, 2.0, 3.0, 4.0, 999.0])
    valid = np.array([True, True, True, True, False])
    thresholds = np.array([0.0, 2.5, 4.0])
    np.testing.assert_allclose(metrics.pck_curve(errors, thresholds, valid), [0.0, 0.5, 1.0])
    ramp = np.linspace(0.0, 1.0, 11)
    assert metrics.pck_auc(np.linspace(0.0, 50.0, 11), ramp) == pytest.approx(0.5)
    assert metrics.pck_auc(thresholds, np.ones(3)) == pytest.approx(1.0)


def test_nothing_valid_gives_nan_not_zero():
    assert math.isnan(metrics.masked_mean(np.ones(3), np.zeros(3, dtype=bool)))
    assert np.isnan(metrics.pck_curve(np.ones(3), np.array([1.0]), np.zeros(3, bool))).all()
