"""Real ROS 2 processes exchanging the project's messages over DDS on this machine."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import rclpy
from dds_peer import fixture_faces
from message_factory import field_differences, full_two_hand_mesh
from rclpy.qos import QoSProfile, ReliabilityPolicy
from repehand_ros.msg import TwoHandMesh

pytestmark = [pytest.mark.dds, pytest.mark.timeout(240)]

PEER = Path(__file__).with_name("dds_peer.py")
REPO = Path(__file__).resolve().parents[2]


def unique_topic(name: str) -> str:
    return f"test_{name}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ros_node():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"test_node_{uuid.uuid4().hex[:8]}", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_two_hand_mesh_crosses_dds_between_processes_unchanged(ros_node):
    node, executor = ros_node
    topic = unique_topic("hands")
    received: list[TwoHandMesh] = []
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(TwoHandMesh, topic, received.append, qos)
    peer = subprocess.Popen([sys.executable, str(PEER), "publish-hands", topic, "7"])
    try:
        deadline = time.monotonic() + 90
        while not received and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        assert peer.wait(timeout=90) == 0, "the publishing process failed"
    finally:
        peer.kill()
    assert len(received) == 1, "the message published by the other process did not arrive"
    expected = full_two_hand_mesh(7)
    message = received[0]
    assert field_differences(message, expected) == []
    vertices = np.frombuffer(memoryview(message.right.vertices), dtype=np.float32)
    assert vertices.size == 778 * 3
    expected_vertices = np.frombuffer(memoryview(expected.right.vertices), dtype=np.float32)
    assert vertices.tobytes() == expected_vertices.tobytes()
    assert message.header.frame_id == "cam_optical_frame"
    assert (message.header.stamp.sec, message.header.stamp.nanosec) == (1_700_000_007, 123_456_789)


def test_faces_reach_a_subscriber_that_joins_after_they_were_published(tmp_path):
    topic = unique_topic("faces")
    publisher = subprocess.Popen(
        [sys.executable, str(PEER), "publish-faces", topic, "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert publisher.stdout.readline().strip() == "published"
        time.sleep(0.5)
        out = tmp_path / "faces.npz"
        late_subscriber = subprocess.run(
            [sys.executable, str(PEER), "subscribe-faces", topic, str(out)], timeout=60
        )
        assert late_subscriber.returncode == 0, "the late subscriber got no faces"
    finally:
        publisher.communicate(input="", timeout=30)
    got = np.load(out)
    right, left = fixture_faces(3)
    np.testing.assert_array_equal(got["right"], right)
    np.testing.assert_array_equal(got["left"], left)
    assert int(got["count"]) == 1


def test_dds_demo_command_reports_every_message_delivered():
    command = ["dds-demo", "--count", "5", "--rate", "20", "--topic", unique_topic("demo")]
    result = subprocess.run(
        [sys.executable, "-m", "repehand_ros.tools.cli", *command],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"received": 5, "expected": 5' in result.stdout
    assert result.stdout.count("listener: #") == 5
    assert "every message arrived" in result.stdout
