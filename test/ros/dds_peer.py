"""A second ROS 2 process for the DDS tests: publishes or subscribes, then exits.

Usage: dds_peer.py publish-hands TOPIC SEED
       dds_peer.py publish-faces TOPIC SEED   (stays up until stdin closes)
       dds_peer.py subscribe-faces TOPIC OUT.npz
       dds_peer.py publish-tf TOPIC SEED      (joint frames of synthetic_result(SEED))
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from message_factory import full_two_hand_mesh
from rclpy.duration import Duration
from rclpy.qos import QoSProfile, ReliabilityPolicy
from repehand_ros.msg import HandMeshFaces, TwoHandMesh
from std_msgs.msg import Header

from repehand_ros.ros.dds_demo import synthetic_result
from repehand_ros.ros.faces import faces_from_message, faces_message, latched_qos
from repehand_ros.ros.tf import joint_transforms, tf_message_type

TIMEOUT_S = 60.0


def fixture_faces(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    right = rng.integers(0, 778, (1538, 3))
    return right, right[:, ::-1].copy()


def tf_fixture_header(seed: int) -> Header:
    header = Header(frame_id="cam_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000 + seed, 987_654_321
    return header


def publish_once_matched(node, message_type, topic: str, message) -> int:
    """Publish `message` reliably to the first subscriber, and wait for its acknowledgement."""
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(message_type, topic, qos)
    deadline = time.monotonic() + TIMEOUT_S
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            return 1
        time.sleep(0.05)
    publisher.publish(message)
    # Stay until the subscriber has acknowledged it: under load it may match late.
    acked = publisher.wait_for_all_acked(Duration(seconds=TIMEOUT_S))
    return 0 if acked else 1


def publish_hands(node, topic: str, seed: int) -> int:
    return publish_once_matched(node, TwoHandMesh, topic, full_two_hand_mesh(seed))


def publish_tf(node, topic: str, seed: int) -> int:
    tf_message = tf_message_type()
    transforms = joint_transforms(synthetic_result(seed), tf_fixture_header(seed))
    return publish_once_matched(node, tf_message, topic, tf_message(transforms=transforms))


def publish_faces(node, topic: str, seed: int) -> int:
    publisher = node.create_publisher(HandMeshFaces, topic, latched_qos())
    publisher.publish(faces_message(*fixture_faces(seed)))
    print("published", flush=True)
    sys.stdin.read()
    return 0


def subscribe_faces(node, topic: str, out_path: str) -> int:
    received: list[HandMeshFaces] = []
    node.create_subscription(HandMeshFaces, topic, received.append, latched_qos())
    deadline = time.monotonic() + TIMEOUT_S
    while not received and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    if not received:
        return 1
    right, left = faces_from_message(received[0])
    np.savez(out_path, right=right, left=left, count=len(received))
    return 0


def main() -> int:
    role, topic, arg = sys.argv[1:4]
    rclpy.init()
    node = rclpy.create_node("dds_peer_" + role.replace("-", "_"))
    try:
        if role == "publish-hands":
            return publish_hands(node, topic, int(arg))
        if role == "publish-faces":
            return publish_faces(node, topic, int(arg))
        if role == "subscribe-faces":
            return subscribe_faces(node, topic, arg)
        if role == "publish-tf":
            return publish_tf(node, topic, int(arg))
        raise SystemExit(f"unknown role {role}")
    finally:
        node.destroy_node()
        rclpy.shutdown()


if __name__ == "__main__":
    sys.exit(main())
