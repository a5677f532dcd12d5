"""Joint TF frames: names, parents, stamps, positions, orientations, and /tf over real DDS."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import rclpy
from dds_peer import tf_fixture_header
from message_factory import field_differences
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header

from repehand_ros.hands import JOINT_NAMES, HandSide
from repehand_ros.pipeline.results import HandResult
from repehand_ros.ros.dds_demo import synthetic_result
from repehand_ros.ros.tf import TF_TOPIC, joint_transforms, tf_message_type

PEER = Path(__file__).with_name("dds_peer.py")
# `ros2 topic info -v /tf` on a ROS 2 system with the real tf2_msgs (Jazzy, Kilted).
ROS_TF_MESSAGE_TYPE_HASH = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"


def header(frame_id: str = "cam_optical_frame") -> Header:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 1_700_000_123, 456_789_000
    return header


def names(side: str, prefix: str = "") -> list[str]:
    return [f"{prefix}{side}_{joint}" for joint in JOINT_NAMES]


def quaternion(transform) -> np.ndarray:
    q = transform.transform.rotation
    return np.array([q.x, q.y, q.z, q.w])


def translation(transform) -> np.ndarray:
    t = transform.transform.translation
    return np.array([t.x, t.y, t.z])


@pytest.fixture
def result():
    """Two valid hands, each turned by a different general rotation (not only about y)."""
    result = synthetic_result(seed=3)
    for hand, seed in ((result.right, 1), (result.left, 2)):
        hand.wrist_rotation = Rotation.random(random_state=seed).as_matrix().astype(np.float32)
    return result


def test_one_frame_per_joint_of_both_hands_named_by_side_and_joint(result):
    transforms = joint_transforms(result, header())
    assert len(transforms) == 42
    assert [t.child_frame_id for t in transforms] == names("right") + names("left")
    assert {"right_wrist", "left_index_3", "left_pinky_4"} <= {t.child_frame_id for t in transforms}


def test_prefix_is_put_before_every_frame_name(result):
    transforms = joint_transforms(result, header(), prefix="hand_")
    expected = names("right", prefix="hand_") + names("left", prefix="hand_")
    assert [t.child_frame_id for t in transforms] == expected
    assert transforms[0].child_frame_id == "hand_right_wrist"


@pytest.mark.parametrize("invalid", [HandSide.RIGHT, HandSide.LEFT])
def test_only_valid_hands_get_frames(result, invalid):
    if invalid is HandSide.RIGHT:
        result.right = HandResult(side=HandSide.RIGHT)
    else:
        result.left = HandResult(side=HandSide.LEFT)
    valid_side = "left" if invalid is HandSide.RIGHT else "right"
    transforms = joint_transforms(result, header())
    assert [t.child_frame_id for t in transforms] == names(valid_side)


def test_no_valid_hand_gives_no_frames(result):
    result.right = HandResult(side=HandSide.RIGHT)
    result.left = HandResult(side=HandSide.LEFT)
    assert joint_transforms(result, header()) == []


def test_frames_are_children_of_the_image_frame_with_its_stamp(result):
    source = header("camera_color_optical_frame")
    transforms = joint_transforms(result, source)
    for transform in transforms:
        assert transform.header.frame_id == "camera_color_optical_frame"
        assert transform.header.stamp == source.stamp
        assert transform.header.stamp is not source.stamp
    assert len({id(t.header.stamp) for t in transforms}) == len(transforms)


def test_an_explicit_parent_replaces_the_image_frame(result):
    transforms = joint_transforms(result, header("camera_link"), parent="camera_optical")
    assert {t.header.frame_id for t in transforms} == {"camera_optical"}


def test_an_empty_parent_frame_is_refused(result):
    with pytest.raises(ValueError, match="parent frame is empty"):
        joint_transforms(result, header(""))


def test_translations_are_the_joint_positions(result):
    transforms = joint_transforms(result, header())
    got = np.array([translation(t) for t in transforms])
    expected = np.concatenate([result.right.joints, result.left.joints]).astype(np.float64)
    np.testing.assert_array_equal(got, expected)


def test_every_frame_of_a_hand_has_the_hand_orientation_as_a_unit_xyzw_quaternion(result):
    transforms = joint_transforms(result, header())
    for hand, hand_transforms in ((result.right, transforms[:21]), (result.left, transforms[21:])):
        reference = Rotation.from_matrix(hand.wrist_rotation.astype(np.float64))
        for transform in hand_transforms:
            q = quaternion(transform)
            assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-9)
            assert q[3] >= 0.0
            # SciPy's quaternions are scalar-last (x, y, z, w) like ROS's.
            np.testing.assert_allclose(
                Rotation.from_quat(q).as_matrix(), hand.wrist_rotation, atol=1e-6
            )
            expected = reference.as_quat()
            expected = -expected if expected[3] < 0 else expected
            np.testing.assert_allclose(q, expected, atol=1e-6)


def test_tf_message_type_is_tf2_msgs_and_carries_the_transforms(result):
    tf_message = tf_message_type()
    assert tf_message.__module__.startswith("tf2_msgs.msg")
    assert tf_message.__name__ == "TFMessage"
    message = tf_message(transforms=joint_transforms(result, header()))
    again = deserialize_message(serialize_message(message), tf_message)
    assert [t.child_frame_id for t in again.transforms] == names("right") + names("left")


def test_tf_message_type_explains_how_to_get_tf2_msgs_when_it_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2_msgs.msg", None)
    with pytest.raises(ImportError, match=r"scripts/setup_env\.sh"):
        tf_message_type()


@pytest.mark.dds
@pytest.mark.timeout(120)
def test_joint_frames_cross_dds_on_tf_as_tf2_msgs_type_with_ros_type_hash():
    """Another process publishes on /tf; this one receives it as tf2_msgs/msg/TFMessage."""
    tf_message = tf_message_type()
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"test_tf_{uuid.uuid4().hex[:8]}", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received = []
    publishers = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(tf_message, TF_TOPIC, received.append, qos)
    peer = subprocess.Popen([sys.executable, str(PEER), "publish-tf", TF_TOPIC, "5"])
    try:
        deadline = time.monotonic() + 60
        while not received and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
            publishers = publishers or node.get_publishers_info_by_topic(TF_TOPIC)
        assert peer.wait(timeout=60) == 0, "the publishing process failed"
    finally:
        peer.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert len(received) == 1, "the TF message published by the other process did not arrive"
    expected = joint_transforms(synthetic_result(5), tf_fixture_header(5))
    assert field_differences(received[0], tf_message(transforms=expected)) == []
    transforms = received[0].transforms
    assert len(transforms) == 42
    assert transforms[0].child_frame_id == "right_wrist"
    assert transforms[0].header.frame_id == "cam_optical_frame"
    assert (transforms[0].header.stamp.sec, transforms[0].header.stamp.nanosec) == (
        1_700_000_005,
        987_654_321,
    )
    assert publishers, "the publisher was never seen in the graph"
    assert publishers[0].topic_type == "tf2_msgs/msg/TFMessage"
    assert str(publishers[0].topic_type_hash) == ROS_TF_MESSAGE_TYPE_HASH
