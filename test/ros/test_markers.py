"""RViz markers: namespaces, ids, types, points, colours, lifetime, deletes."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from repehand_ros.hands import BONES, HandSide
from repehand_ros.pipeline.results import NUM_FACES, NUM_VERTICES, HandResult
from repehand_ros.ros.dds_demo import synthetic_result
from repehand_ros.ros.markers import KINDS, delete_all_markers, hand_markers

NAMESPACES = [
    "right/mesh",
    "right/skeleton",
    "right/joints",
    "left/mesh",
    "left/skeleton",
    "left/joints",
]


def header() -> Header:
    header = Header(frame_id="cam_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_042, 5_000
    return header


def fake_faces(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    right = np.random.default_rng(seed).integers(0, NUM_VERTICES, (NUM_FACES, 3))
    return right, right[:, ::-1].copy()


def points(marker: Marker) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in marker.points]).reshape(-1, 3)


def by_namespace(markers: MarkerArray) -> dict[str, Marker]:
    return {marker.ns: marker for marker in markers.markers}


def test_one_marker_per_hand_and_kind_with_stable_namespaces_and_ids():
    first = hand_markers(synthetic_result(1), header(), fake_faces(), 0.5)
    second = hand_markers(synthetic_result(2, t=1.0), header(), fake_faces(1), 0.5)
    assert [m.ns for m in first.markers] == NAMESPACES
    identities = [(m.ns, m.id) for m in first.markers]
    assert identities == [(m.ns, m.id) for m in second.markers]
    assert len({m.id for m in first.markers}) == len(NAMESPACES)


def test_types_and_point_counts_of_each_kind():
    markers = by_namespace(hand_markers(synthetic_result(1), header(), fake_faces(), 0.5))
    for side in ("right", "left"):
        mesh, skeleton, joints = (markers[f"{side}/{kind}"] for kind in KINDS)
        assert (mesh.type, len(mesh.points)) == (Marker.TRIANGLE_LIST, NUM_FACES * 3)
        assert (skeleton.type, len(skeleton.points)) == (Marker.LINE_LIST, 2 * 20)
        assert (joints.type, len(joints.points)) == (Marker.SPHERE_LIST, 21)
        assert (mesh.scale.x, mesh.scale.y, mesh.scale.z) == (1.0, 1.0, 1.0)
        assert skeleton.scale.x > 0.0
        assert min(joints.scale.x, joints.scale.y, joints.scale.z) > 0.0
        for marker in (mesh, skeleton, joints):
            assert marker.action == Marker.ADD
            assert marker.pose.orientation.w == 1.0


def test_points_are_the_triangles_bones_and_joints_in_metres():
    result = synthetic_result(4)
    faces = fake_faces(4)
    markers = by_namespace(hand_markers(result, header(), faces, 0.5))
    for hand, hand_faces in zip(result.hands, faces, strict=True):
        side = hand.side.name.lower()
        vertices = hand.vertices.astype(np.float64)
        joints = hand.joints.astype(np.float64)
        np.testing.assert_array_equal(
            points(markers[f"{side}/mesh"]), vertices[hand_faces].reshape(-1, 3)
        )
        np.testing.assert_array_equal(
            points(markers[f"{side}/skeleton"]), joints[np.array(BONES).reshape(-1)]
        )
        np.testing.assert_array_equal(points(markers[f"{side}/joints"]), joints)


def test_colours_are_in_0_1_with_alpha_and_differ_between_hands():
    markers = by_namespace(hand_markers(synthetic_result(1), header(), fake_faces(), 0.5))
    for marker in markers.values():
        rgba = [marker.color.r, marker.color.g, marker.color.b, marker.color.a]
        assert all(0.0 <= value <= 1.0 for value in rgba)
        assert marker.color.a > 0.0
    right, left = markers["right/joints"].color, markers["left/joints"].color
    assert (right.r, right.g, right.b) != (left.r, left.g, left.b)


def test_frame_stamp_and_lifetime_are_set_on_every_marker():
    source = header()
    for marker in hand_markers(synthetic_result(1), source, fake_faces(), 1.25).markers:
        assert marker.header.frame_id == "cam_optical_frame"
        assert marker.header.stamp == source.stamp
        assert (marker.lifetime.sec, marker.lifetime.nanosec) == (1, 250_000_000)


@pytest.mark.parametrize("invalid", [HandSide.RIGHT, HandSide.LEFT])
def test_an_invalid_hand_gets_a_delete_of_each_of_its_markers(invalid):
    result = synthetic_result(1)
    full = hand_markers(result, header(), fake_faces(), 0.5)
    if invalid is HandSide.RIGHT:
        result.right = HandResult(side=HandSide.RIGHT)
    else:
        result.left = HandResult(side=HandSide.LEFT)
    markers = hand_markers(result, header(), fake_faces(), 0.5)
    assert [(m.ns, m.id) for m in markers.markers] == [(m.ns, m.id) for m in full.markers]
    invalid_side = invalid.name.lower()
    for marker in markers.markers:
        if marker.ns.startswith(invalid_side + "/"):
            assert marker.action == Marker.DELETE
            assert len(marker.points) == 0
        else:
            assert marker.action == Marker.ADD


def test_no_faces_or_no_vertices_deletes_the_mesh_but_keeps_the_rest():
    without_faces = by_namespace(hand_markers(synthetic_result(1), header(), None, 0.5))
    assert without_faces["right/mesh"].action == Marker.DELETE
    assert without_faces["left/mesh"].action == Marker.DELETE
    assert without_faces["right/joints"].action == Marker.ADD
    result = synthetic_result(1)
    result.left.vertices = None
    markers = by_namespace(hand_markers(result, header(), fake_faces(), 0.5))
    assert markers["left/mesh"].action == Marker.DELETE
    assert markers["right/mesh"].action == Marker.ADD


def test_only_the_kinds_asked_for_keep_their_ids():
    full = by_namespace(hand_markers(synthetic_result(1), header(), fake_faces(), 0.5))
    joints_only = hand_markers(synthetic_result(1), header(), None, 0.5, kinds=("joints",))
    assert [m.ns for m in joints_only.markers] == ["right/joints", "left/joints"]
    assert [m.id for m in joints_only.markers] == [full["right/joints"].id, full["left/joints"].id]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kinds": ("mesh", "hull")}, "unknown marker kinds"),
        ({"lifetime_s": -1.0}, "lifetime_s"),
        ({"faces": (np.zeros((NUM_FACES, 2), int), np.zeros((NUM_FACES, 3), int))}, "faces"),
        ({"faces": (np.full((NUM_FACES, 3), NUM_VERTICES), np.zeros((NUM_FACES, 3), int))}, "in"),
    ],
)
def test_bad_arguments_are_refused(arguments, message):
    call = {"faces": fake_faces(), "lifetime_s": 0.5, **arguments}
    with pytest.raises(ValueError, match=message):
        hand_markers(synthetic_result(1), header(), **call)


def test_markers_survive_serialization_unchanged():
    markers = hand_markers(synthetic_result(1), header(), fake_faces(), 0.5)
    again = deserialize_message(serialize_message(markers), MarkerArray)
    for sent, got in zip(markers.markers, again.markers, strict=True):
        assert (got.ns, got.id, got.type, got.action) == (sent.ns, sent.id, sent.type, sent.action)
        np.testing.assert_array_equal(points(got), points(sent))


def test_delete_all_is_one_deleteall_marker_in_the_image_frame():
    source = header()
    markers = delete_all_markers(source).markers
    assert len(markers) == 1
    assert markers[0].action == Marker.DELETEALL
    assert markers[0].header.frame_id == "cam_optical_frame"
    assert markers[0].header.stamp == source.stamp
