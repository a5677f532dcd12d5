"""Pipeline results to messages and back: nothing lost, nothing invented."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest
from repehand_ros.msg import HandMesh
from std_msgs.msg import Header

from repehand_ros.hands import HandSide
from repehand_ros.pipeline.results import HandResult, TwoHandResult
from repehand_ros.ros.conversions import (
    hand_result_from_mesh,
    two_hand_mesh_from_result,
    two_hand_result_from_mesh,
)
from repehand_ros.ros.dds_demo import synthetic_result
from repehand_ros.ros.faces import faces_from_message, faces_message


def assert_hands_equal(got: HandResult, want: HandResult) -> None:
    assert got.side is want.side and got.valid == want.valid
    assert got.confidence == pytest.approx(want.confidence, abs=1e-7)
    assert got.side_confidence == pytest.approx(want.side_confidence, abs=1e-7)
    assert got.side_confidence != 0.0 or not want.valid
    for name in ("joints", "wrist_position", "mano_pose", "mano_shape", "keypoints_2d"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    np.testing.assert_allclose(got.wrist_rotation, want.wrist_rotation, atol=1e-6)
    if want.vertices is None:
        assert got.vertices is None
    else:
        assert got.vertices.tobytes() == want.vertices.tobytes()
    if want.box is None:
        assert got.box is None
    else:
        assert astuple(got.box) == pytest.approx(astuple(want.box), abs=1e-4)


def test_result_survives_a_round_trip_through_the_message():
    result = synthetic_result(seed=4, t=1.0)
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 12, 34
    msg = two_hand_mesh_from_result(result, header)
    assert msg.header.frame_id == "camera_optical_frame" and msg.header.stamp.sec == 12
    assert msg.right.side == HandMesh.RIGHT and msg.left.side == HandMesh.LEFT
    back = two_hand_result_from_mesh(msg)
    assert_hands_equal(back.right, result.right)
    assert_hands_equal(back.left, result.left)
    np.testing.assert_array_equal(back.relative_translation, result.relative_translation)
    assert back.backend == result.backend
    assert [astuple(b) for b in back.crops] == [
        pytest.approx(astuple(b), abs=1e-4) for b in result.crops
    ]


def test_wrist_orientation_is_the_global_hand_rotation_as_an_x_y_z_w_quaternion():
    angle = np.deg2rad(90.0)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    result = synthetic_result(seed=0)
    result.right.wrist_rotation = rotation.astype(np.float32)
    q = two_hand_mesh_from_result(result, Header()).right.wrist.orientation
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], [0, 0, np.sin(angle / 2), np.cos(angle / 2)])


def test_vertices_can_be_left_out_to_save_bandwidth():
    msg = two_hand_mesh_from_result(synthetic_result(seed=1), Header(), with_vertices=False)
    assert len(msg.right.vertices) == 0 and len(msg.left.vertices) == 0
    assert len(msg.right.joints) == 21
    assert two_hand_result_from_mesh(msg).right.vertices is None


def test_a_hand_that_was_not_found_is_sent_invalid_with_defaults():
    result = synthetic_result(seed=2)
    result = TwoHandResult(right=result.right, left=HandResult(side=HandSide.LEFT))
    msg = two_hand_mesh_from_result(result, Header())
    assert msg.right.valid and not msg.left.valid
    assert msg.left.side == HandMesh.LEFT
    assert len(msg.left.vertices) == 0 and msg.left.confidence == 0.0
    assert not two_hand_result_from_mesh(msg).left.valid


def test_truncated_vertices_in_a_message_are_refused_with_a_clear_error():
    msg = two_hand_mesh_from_result(synthetic_result(seed=3), Header())
    msg.right.vertices = msg.right.vertices[:-3]
    with pytest.raises(ValueError, match="right hand: vertices must hold 2334 floats"):
        hand_result_from_mesh(msg.right)


def test_faces_round_trip_and_bad_faces_are_refused():
    rng = np.random.default_rng(0)
    right = rng.integers(0, 778, (1538, 3))
    left = right[:, ::-1]
    got_right, got_left = faces_from_message(faces_message(right, left))
    np.testing.assert_array_equal(got_right, right)
    np.testing.assert_array_equal(got_left, left)
    with pytest.raises(ValueError, match=r"right faces: expected shape \(1538, 3\)"):
        faces_message(right[:-1], left)
    with pytest.raises(ValueError, match=r"left faces: vertex indices must be in \[0, 778\)"):
        faces_message(right, left + 1)
    with pytest.raises(ValueError, match="integer vertex indices"):
        faces_message(right.astype(float), left)


def test_the_placement_and_the_depth_status_survive_the_message():
    import dataclasses

    from repehand_ros.msg import TwoHandMesh

    from repehand_ros.pipeline.results import DepthStatus, Placement

    result = synthetic_result(seed=5)
    result.right = dataclasses.replace(
        result.right, placement=Placement.DEPTH, depth_scale=1.08, depth_shift_m=0.043
    )
    result.left = dataclasses.replace(
        result.left, placement=Placement.DEPTH_HELD, depth_scale=0.95, depth_shift_m=-0.02
    )
    result.depth_status = DepthStatus.UNMATCHED
    result.times.depth_ms = 3.5
    msg = two_hand_mesh_from_result(result, Header())
    assert (msg.right.placement, msg.left.placement) == (HandMesh.DEPTH, HandMesh.DEPTH_HELD)
    assert msg.depth_status == TwoHandMesh.DEPTH_UNMATCHED and msg.depth_ms == 3.5
    back = two_hand_result_from_mesh(msg)
    assert back.right.placement is Placement.DEPTH and back.left.placement is Placement.DEPTH_HELD
    assert back.right.depth_scale == pytest.approx(1.08) and back.left.depth_shift_m == (
        pytest.approx(-0.02)
    )
    assert back.depth_status is DepthStatus.UNMATCHED and back.times.depth_ms == 3.5
    assert back.right.depth_fit is None  # the fit's details stay in the process
    # Not valid: every depth field at its default.
    result.right = HandResult(side=HandSide.RIGHT)
    empty = two_hand_mesh_from_result(result, Header()).right
    assert (empty.placement, empty.depth_scale, empty.depth_shift) == (0, 0.0, 0.0)
    msg.right.placement = 7
    with pytest.raises(ValueError, match="right placement 7 is none of"):
        two_hand_result_from_mesh(msg)
