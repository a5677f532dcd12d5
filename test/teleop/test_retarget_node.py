"""The retarget node over real DDS: a player process publishes recorded TwoHandMesh messages,
the node runs as a second process, and this test receives its JointState messages.

Run as a script, this file is the player: test_retarget_node.py play TOPIC.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
from test_retargeting import CONFIG, FINGERS, URDF, in_camera, right_hand

pytestmark = [pytest.mark.dds, pytest.mark.timeout(120)]

TIMEOUT_S = 45.0
# The recording: the right hand's curl per message, None where it was not found.
CURLS = (0.0, 0.0, 1.0, None, 1.0, 1.0)
FIRST_STAMP_S = 1_700_000_100
STAMP_NS = 250_000_000


def stamp_of(index: int) -> tuple[int, int]:
    return FIRST_STAMP_S + index, STAMP_NS + index


def recorded_messages() -> list:
    """TwoHandMesh messages as the hands node would have published them, one per curl."""
    from std_msgs.msg import Header

    from repehand_ros.hands import HandSide
    from repehand_ros.pipeline.results import HandResult
    from repehand_ros.ros.conversions import two_hand_mesh_from_result
    from repehand_ros.ros.dds_demo import synthetic_result

    messages = []
    for index, curl in enumerate(CURLS):
        result = synthetic_result(seed=index)
        if curl is None:
            right = HandResult(side=HandSide.RIGHT)
        else:
            right = dataclasses.replace(result.right, joints=in_camera(right_hand(curl)))
        header = Header(frame_id="camera_color_optical_frame")
        header.stamp.sec, header.stamp.nanosec = stamp_of(index)
        messages.append(two_hand_mesh_from_result(dataclasses.replace(result, right=right), header))
    return messages


def play(topic: str) -> int:
    """Publish the recording once the node subscribes, ten messages a second."""
    import rclpy
    from rclpy.duration import Duration
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from repehand_ros.msg import TwoHandMesh

    rclpy.init()
    node = rclpy.create_node("hands_player")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(TwoHandMesh, topic, qos)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while publisher.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.05)
        for message in recorded_messages():
            publisher.publish(message)
            time.sleep(0.1)
        return 0 if publisher.wait_for_all_acked(Duration(seconds=TIMEOUT_S)) else 1
    finally:
        node.destroy_node()
        rclpy.shutdown()


def unique_topic(name: str) -> str:
    return f"test_{name}_{uuid.uuid4().hex[:8]}"


def run_graph(extra_ros_args: list[str], expected: int) -> list:
    """Start the node and the player; return the JointState messages received (in order)."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState

    hands_topic, joints_topic = unique_topic("hands"), unique_topic("joint_states")
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"test_retarget_{uuid.uuid4().hex[:8]}", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received: list[JointState] = []
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    subscription = node.create_subscription(JointState, joints_topic, received.append, qos)
    retarget = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "repehand_ros.tools.cli",
            "retarget",
            *("--config", str(CONFIG), "--urdf", str(URDF), "--side", "right"),
            *("--ros-args", "-r", f"hands:={hands_topic}"),
            *("-p", f"joint_states_topic:={joints_topic}", "-p", "queue_depth:=10"),
            *extra_ros_args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    player = None
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while subscription.get_publisher_count() == 0 and time.monotonic() < deadline:
            assert retarget.poll() is None, retarget.communicate()[0]
            executor.spin_once(timeout_sec=0.05)
        player = subprocess.Popen([sys.executable, __file__, "play", hands_topic])
        while len(received) < expected and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert player.wait(timeout=TIMEOUT_S) == 0, "the player process failed"
        # Anything published that should not have been arrives within this.
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        if player is not None and player.poll() is None:
            player.kill()
        retarget.send_signal(signal.SIGINT)
        try:
            log = retarget.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            retarget.kill()
            log = retarget.communicate()[0]
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert "retargeting the right hand" in log, log
    return received


def total_flexion(names: list[str], positions) -> float:
    joints = [f"{finger}_{j}" for finger in FINGERS for j in ("mcp", "pip", "dip")]
    return float(sum(positions[names.index(name)] for name in joints))


@pytest.fixture(scope="module")
def robot():
    from repehand_ros.teleop.retargeting import HandRetargeter

    return HandRetargeter(CONFIG, URDF)


def test_node_publishes_robot_joint_states_stamped_like_the_valid_hands(robot):
    valid = [i for i, curl in enumerate(CURLS) if curl is not None]
    received = run_graph([], expected=len(valid))
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in received]
    assert stamps == [stamp_of(i) for i in valid], "one JointState per valid hand, its stamp"
    for message in received:
        assert list(message.name) == robot.joint_names
        positions = np.asarray(message.position)
        assert positions.shape == (20,) and np.isfinite(positions).all()
        assert (positions >= robot.joint_limits[:, 0]).all()
        assert (positions <= robot.joint_limits[:, 1]).all()
    open_hand, fist = received[1], received[-1]
    names = list(open_hand.name)
    assert total_flexion(names, fist.position) > total_flexion(names, open_hand.position) + 4.0


def test_hold_last_repeats_the_last_joints_for_a_missing_hand_with_its_stamp():
    received = run_graph(["-p", "hold_last:=true", "-p", "joint_name_prefix:=r_"], len(CURLS))
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in received]
    assert stamps == [stamp_of(i) for i in range(len(CURLS))]
    missing = CURLS.index(None)
    assert list(received[missing].position) == list(received[missing - 1].position)
    assert all(name.startswith("r_") for name in received[0].name)


if __name__ == "__main__":
    if sys.argv[1:2] != ["play"]:
        raise SystemExit("usage: test_retarget_node.py play TOPIC")
    sys.exit(play(sys.argv[2]))
