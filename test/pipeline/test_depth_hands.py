"""HandReconstructor with a registered depth image: the hands are fitted to it after placement,
stay one hand, fall back (held a moment, then monocular) when the fit does, and a depth
image that cannot be used costs the frame nothing.

The network is test_reconstructor's scripted one (hands at known places); the depth
images are the reconstructor's own monocular hands rendered at another scale ("the
person's hand is 10% bigger than the network thinks"), so the right answer is known.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from test_reconstructor import CAMERA, IMAGE, place, reconstructor_for

from repehand_ros.geometry.depth_fusion import (
    TRANSLATE,
    DepthFit,
    DepthFusionSettings,
    rasterise_depth,
)
from repehand_ros.hands import HandSide
from repehand_ros.mano.layer import ManoPair
from repehand_ros.pipeline.depth_hands import DepthHands
from repehand_ros.pipeline.results import (
    DepthStatus,
    HandResult,
    Placement,
    TwoHandResult,
)
from repehand_ros.pipeline.smoothing import SmoothingConfig

WALL_M = 2.5
TRUE_SCALE = 1.1
"""The person's hands are this much bigger (and so farther) than the monocular placement."""


@pytest.fixture(scope="module")
def pair(mano_dir, mano_arrays) -> ManoPair:
    return ManoPair.from_dir(mano_dir).eval()


def hands_apart(pair: ManoPair) -> dict:
    return {
        HandSide.RIGHT: place(pair, HandSide.RIGHT, [-0.12, 0.02, 0.6], seed=21),
        HandSide.LEFT: place(pair, HandSide.LEFT, [0.12, -0.01, 0.62], seed=22),
    }


def scene(meshes, camera=CAMERA) -> np.ndarray:
    """What a perfect registered depth camera sees: the meshes before a wall, float32 m."""
    depth, _ = rasterise_depth(meshes, camera)
    return np.where(np.isfinite(depth), depth, WALL_M).astype(np.float32)


def true_scene(reconstructor, monocular, scale: float = TRUE_SCALE) -> np.ndarray:
    """The depth of the monocular hands made `scale` times bigger about the camera centre."""
    faces = reconstructor.faces
    return scene(
        [
            (scale * hand.vertices.astype(np.float64), hand_faces)
            for hand, hand_faces in zip(monocular.hands, faces, strict=True)
        ]
    )


@pytest.fixture
def setup(mano_dir, pair):
    reconstructor, _, _ = reconstructor_for(mano_dir, hands_apart(pair))
    monocular = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    assert all(hand.valid for hand in monocular.hands), [h.reason for h in monocular.hands]
    yield reconstructor, monocular
    reconstructor.close()


def assert_scaled(hand: HandResult, monocular: HandResult, scale: float, atol: float) -> None:
    """`hand` is `monocular` scaled about the camera centre: one hand, every part of it."""
    np.testing.assert_allclose(hand.joints, scale * monocular.joints, atol=atol)
    np.testing.assert_allclose(hand.vertices, scale * monocular.vertices, atol=atol)
    np.testing.assert_allclose(hand.wrist_position, scale * monocular.wrist_position, atol=atol)
    np.testing.assert_allclose(hand.wrist_rotation, monocular.wrist_rotation)
    # The same image: the keypoints do not move, and are the joints' projection.
    np.testing.assert_allclose(hand.keypoints_2d, monocular.keypoints_2d, atol=1e-2)
    np.testing.assert_allclose(hand.keypoints_2d, CAMERA.project(hand.joints), atol=1e-3)
    np.testing.assert_array_equal(hand.mano_pose, monocular.mano_pose)


def test_without_depth_every_hand_is_monocular(setup):
    _, monocular = setup
    assert monocular.depth_status is DepthStatus.OFF and monocular.depth_problem == ""
    for hand in monocular.hands:
        assert hand.placement is Placement.MONOCULAR and hand.depth_fit is None
        assert hand.depth_scale == 1.0 and hand.depth_shift_m == 0.0


def test_both_hands_are_fitted_to_the_depth_in_size_and_distance(setup):
    reconstructor, monocular = setup
    depth = true_scene(reconstructor, monocular)
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.1, depth=depth)
    assert result.depth_status is DepthStatus.USED and result.depth_problem == ""
    for hand, before in zip(result.hands, monocular.hands, strict=True):
        assert hand.placement is Placement.DEPTH, hand.depth_fit
        assert hand.depth_fit is not None and hand.depth_fit.fused
        assert hand.depth_scale == pytest.approx(TRUE_SCALE, abs=1e-4)
        centre = before.vertices.astype(np.float64).mean(axis=0)[2]
        assert hand.depth_shift_m == pytest.approx((TRUE_SCALE - 1) * centre, abs=1e-4)
        assert_scaled(hand, before, TRUE_SCALE, atol=1e-4)
    np.testing.assert_allclose(
        result.relative_translation, result.left.wrist_position - result.right.wrist_position
    )
    assert result.times.depth_ms > 0.0
    assert result.times.total_ms >= result.times.depth_ms + result.times.network_ms


def test_depth_at_another_resolution_or_with_its_own_camera_is_used(setup):
    from repehand_ros.geometry.depth_fusion import scaled_camera

    reconstructor, monocular = setup
    half = scaled_camera(CAMERA, 320, 240)
    faces = reconstructor.faces
    meshes = [
        (TRUE_SCALE * hand.vertices.astype(np.float64), f)
        for hand, f in zip(monocular.hands, faces, strict=True)
    ]
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.1, depth=scene(meshes, half))
    assert [hand.placement for hand in result.hands] == [Placement.DEPTH] * 2
    assert result.right.depth_scale == pytest.approx(TRUE_SCALE, abs=1e-3)
    result = reconstructor.reconstruct(
        IMAGE, CAMERA, 0.2, depth=scene(meshes, half), depth_camera=half
    )
    assert result.left.depth_scale == pytest.approx(TRUE_SCALE, abs=1e-3)


def test_an_object_in_front_of_a_hand_does_not_pull_it_forward(setup):
    """The occluder: a board 2 cm before the right hand over the half of it nearer the
    image's left edge. The hand is placed by the pixels that show it."""
    reconstructor, monocular = setup
    depth = true_scene(reconstructor, monocular)
    right = TRUE_SCALE * monocular.right.vertices.astype(np.float64)
    alone, _ = rasterise_depth([(right, reconstructor.faces[0])], CAMERA)
    rows, cols = np.nonzero(np.isfinite(alone))
    board = np.zeros(depth.shape, dtype=bool)
    board[rows.min() : rows.max() + 1, cols.min() : int(np.median(cols))] = True
    depth[board] = np.nanmin(alone) - 0.02
    covered = np.count_nonzero(board & np.isfinite(alone)) / len(rows)
    assert 0.35 < covered < 0.65
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.1, depth=depth)
    assert result.right.placement is Placement.DEPTH, result.right.depth_fit
    assert result.right.depth_scale == pytest.approx(TRUE_SCALE, abs=2e-3)
    assert result.right.depth_fit.agreeing_pixels < 0.8 * result.right.depth_fit.visible_pixels
    assert result.left.depth_scale == pytest.approx(TRUE_SCALE, abs=1e-4)


def test_a_fallback_holds_the_last_correction_for_a_while_then_goes_monocular(setup, mano_dir):
    reconstructor, monocular = setup
    depth = true_scene(reconstructor, monocular)
    holes = np.full_like(depth, np.nan)  # a depth image that sees nothing of the hands
    assert reconstructor.config.depth_hold_s == 0.5

    fused = reconstructor.reconstruct(IMAGE, CAMERA, 1.0, depth=depth)
    assert fused.right.placement is Placement.DEPTH
    # The fit falls back (no depth on the hands): the correction of 0.2 s ago is applied.
    held = reconstructor.reconstruct(IMAGE, CAMERA, 1.2, depth=holes)
    assert held.depth_status is DepthStatus.USED
    for hand, before in zip(held.hands, monocular.hands, strict=True):
        assert hand.placement is Placement.DEPTH_HELD
        assert hand.depth_fit is not None and not hand.depth_fit.fused
        assert "too few pixels with depth" in hand.depth_fit.reason
        assert hand.depth_scale == pytest.approx(TRUE_SCALE, abs=1e-4)
        assert_scaled(hand, before, TRUE_SCALE, atol=1e-4)
    # No depth image at all for a frame (none paired in time): held too.
    missing = reconstructor.reconstruct(IMAGE, CAMERA, 1.45)
    assert missing.depth_status is DepthStatus.OFF
    assert [hand.placement for hand in missing.hands] == [Placement.DEPTH_HELD] * 2
    assert missing.right.depth_fit is None
    # Past the hold: monocular again, exactly as without depth.
    later = reconstructor.reconstruct(IMAGE, CAMERA, 1.51, depth=holes)
    for hand, before in zip(later.hands, monocular.hands, strict=True):
        assert hand.placement is Placement.MONOCULAR and hand.depth_scale == 1.0
        assert not hand.depth_fit.fused
        np.testing.assert_allclose(hand.joints, before.joints, atol=1e-6)

    # reset() forgets the held corrections.
    assert reconstructor.reconstruct(IMAGE, CAMERA, 2.0, depth=depth).left.placement == "depth"
    reconstructor.reset()
    after_reset = reconstructor.reconstruct(IMAGE, CAMERA, 2.1)
    assert [hand.placement for hand in after_reset.hands] == [Placement.MONOCULAR] * 2
    # A hold of 0 never holds; time going back forgets the held correction.
    reconstructor.update_live_settings(
        dataclasses.replace(reconstructor.live_settings, depth_hold_s=0.0)
    )
    reconstructor.reconstruct(IMAGE, CAMERA, 3.0, depth=depth)
    assert reconstructor.reconstruct(IMAGE, CAMERA, 3.01).right.placement == "monocular"
    reconstructor.update_live_settings(
        dataclasses.replace(reconstructor.live_settings, depth_hold_s=0.5)
    )
    reconstructor.reconstruct(IMAGE, CAMERA, 4.0, depth=depth)
    assert reconstructor.reconstruct(IMAGE, CAMERA, 3.9).right.placement == "monocular"


def test_translate_mode_moves_the_hand_along_its_ray_and_projects_it_again(setup):
    reconstructor, monocular = setup
    reconstructor.update_live_settings(
        dataclasses.replace(
            reconstructor.live_settings, depth_fusion=DepthFusionSettings(mode=TRANSLATE)
        )
    )
    shift = 0.05
    faces = reconstructor.faces
    meshes = []
    for hand, hand_faces in zip(monocular.hands, faces, strict=True):
        vertices = hand.vertices.astype(np.float64)
        centre = vertices.mean(axis=0)
        meshes.append((vertices + shift * centre / centre[2], hand_faces))
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.1, depth=scene(meshes))
    for hand, (true_vertices, _) in zip(result.hands, meshes, strict=True):
        assert hand.placement is Placement.DEPTH, hand.depth_fit
        assert hand.depth_scale == 1.0
        assert hand.depth_shift_m == pytest.approx(shift, abs=2e-3)
        np.testing.assert_allclose(hand.vertices, true_vertices, atol=3e-3)
        # Moved along one ray, the hand's image shrinks: the keypoints follow the joints.
        np.testing.assert_allclose(hand.keypoints_2d, CAMERA.project(hand.joints), atol=1e-3)
        assert (hand.box.x_min, hand.box.x_max) == pytest.approx(
            (hand.keypoints_2d[:, 0].min(), hand.keypoints_2d[:, 0].max()), abs=1e-3
        )
    # A held correction of the other mode is not applied.
    reconstructor.update_live_settings(
        dataclasses.replace(reconstructor.live_settings, depth_fusion=DepthFusionSettings())
    )
    assert reconstructor.reconstruct(IMAGE, CAMERA, 0.2).right.placement == "monocular"


def test_the_smoother_filters_the_hands_as_depth_placed_them(mano_dir, pair):
    """Smoothing runs after the fit: a hand fused on one frame and not on the next is one
    signal to the filter (its output lies between the two), not two."""
    reconstructor, _, _ = reconstructor_for(mano_dir, hands_apart(pair))
    monocular = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    depth = true_scene(reconstructor, monocular)
    settings = reconstructor.live_settings
    reconstructor.update_live_settings(
        dataclasses.replace(settings, smoothing=SmoothingConfig(enabled=True), depth_hold_s=0.0)
    )
    first = reconstructor.reconstruct(IMAGE, CAMERA, 1.0, depth=depth)
    assert first.right.placement is Placement.DEPTH
    second = reconstructor.reconstruct(IMAGE, CAMERA, 1.033)
    assert second.right.placement is Placement.MONOCULAR
    z_fused, z_monocular = first.right.wrist_position[2], monocular.right.wrist_position[2]
    assert z_monocular < second.right.wrist_position[2] < z_fused - 1e-3
    reconstructor.close()


def test_a_depth_image_that_cannot_be_used_costs_the_frame_nothing(setup, caplog):
    reconstructor, monocular = setup
    wrong_picture = np.ones((100, 100), dtype=np.float32)
    millimetres = np.full((480, 640), 600, dtype=np.uint16)
    with caplog.at_level(logging.WARNING, logger="repehand_ros.pipeline.depth_hands"):
        for t, depth, said in (
            (0.1, wrong_picture, "not the same picture at another resolution"),
            (0.2, wrong_picture, "not the same picture at another resolution"),
            (0.3, millimetres, "decode 16UC1"),
        ):
            result = reconstructor.reconstruct(IMAGE, CAMERA, t, depth=depth)
            assert result.depth_status is DepthStatus.REFUSED
            assert said in result.depth_problem
            for hand, before in zip(result.hands, monocular.hands, strict=True):
                assert hand.valid and hand.placement is Placement.MONOCULAR
                assert hand.depth_fit is None
                np.testing.assert_allclose(hand.joints, before.joints, atol=1e-6)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said  # each problem once
    assert "depth image not used" in said[0]


def test_a_backend_without_a_mesh_ignores_depth_and_says_so_once(caplog):
    right = HandResult(side=HandSide.RIGHT, valid=True, confidence=0.9)
    right.joints[:, 2] = 0.5
    result = TwoHandResult(right=right, left=HandResult(side=HandSide.LEFT), backend="keypoints")
    hands = DepthHands(None)
    depth = np.ones((480, 640), dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="repehand_ros.pipeline.depth_hands"):
        for t in (0.0, 0.1):
            out = hands.apply(result, CAMERA, t, depth)
            assert out is result and out.right.placement is Placement.MONOCULAR
            assert out.depth_status is DepthStatus.OFF
    assert len(caplog.records) == 1
    assert "without a mesh" in caplog.records[0].getMessage()


def test_placements_and_corrections_are_checked():
    hand = HandResult(side=HandSide.LEFT, placement="depth-held", depth_scale=1.2)
    assert hand.placement is Placement.DEPTH_HELD
    with pytest.raises(ValueError, match="is not a valid Placement"):
        HandResult(side=HandSide.LEFT, placement="stereo")
    with pytest.raises(ValueError, match="depth_scale must be a positive number"):
        HandResult(side=HandSide.LEFT, depth_scale=0.0)
    with pytest.raises(ValueError, match="depth_shift_m must be finite"):
        HandResult(side=HandSide.LEFT, depth_shift_m=float("nan"))
    with pytest.raises(ValueError, match="depth_hold_s must be"):
        DepthHands(None, hold_s=-1.0)
    result = TwoHandResult(right=HandResult(side=HandSide.RIGHT), left=hand, depth_status="stale")
    assert result.depth_status is DepthStatus.STALE
    assert DepthFit(False, "x").scale == 1.0
