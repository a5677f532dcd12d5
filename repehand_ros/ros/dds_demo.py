"""A TwoHandMesh crossing DDS between two processes, live (`repehand dds-demo`).

The talker publishes synthetic two-hand messages (`synthetic_result`: fully
populated, labelled `synthetic` in their backend field); a listener in a
second process receives them and reports what arrived and how late. It shows
that the generated messages, the ROS 2 middleware and this machine's network
set-up work, before any camera or model is involved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import FINGERS, NUM_JOINTS, HandSide
from repehand_ros.pipeline.results import (
    MANO_POSE_SIZE,
    MANO_SHAPE_SIZE,
    NUM_VERTICES,
    HandResult,
    StageTimes,
    TwoHandResult,
)

DEFAULT_TOPIC = "repehand_dds_demo/hands"
DEMO_FRAME = "camera_color_optical_frame"
SYNTHETIC_BACKEND = "synthetic (dds-demo)"
# A nominal 640x480 pinhole camera, only to give the synthetic hands keypoints.
_FOCAL, _CU, _CV = 600.0, 320.0, 240.0


def _rotation_about_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _synthetic_hand(side: HandSide, t: float, rng: np.random.Generator) -> HandResult:
    """An open hand 0.5 m in front of the camera, turning slowly about the y axis."""
    mirror = 1.0 if side is HandSide.RIGHT else -1.0
    wrist = np.array([mirror * -0.12, 0.05, 0.5])
    rotation = _rotation_about_y(0.5 * np.sin(t))
    joints = [np.zeros(3)]
    for f, _ in enumerate(FINGERS):
        spread = (f - 2) * 0.02 * mirror
        for k in range(1, 5):
            joints.append(np.array([spread * (1 + 0.3 * k), -0.03 - 0.025 * k, 0.0]))
    local = np.stack(joints)
    joints_cam = local @ rotation.T + wrist
    vertices = joints_cam[rng.integers(0, NUM_JOINTS, NUM_VERTICES)]
    vertices = vertices + rng.normal(0.0, 0.008, vertices.shape)
    uv = _FOCAL * joints_cam[:, :2] / joints_cam[:, 2:3] + np.array([_CU, _CV])
    return HandResult(
        side=side,
        valid=True,
        confidence=float(rng.uniform(0.8, 1.0)),
        side_confidence=float(rng.uniform(0.6, 1.0)),
        joints=joints_cam,
        vertices=vertices,
        wrist_rotation=rotation,
        wrist_position=wrist,
        mano_pose=rng.normal(0.0, 0.2, MANO_POSE_SIZE),
        mano_shape=rng.normal(0.0, 0.5, MANO_SHAPE_SIZE),
        keypoints_2d=uv,
        box=Box(*uv.min(axis=0), *uv.max(axis=0)),
    )


def synthetic_result(seed: int, t: float = 0.0) -> TwoHandResult:
    """A fully populated TwoHandResult, the same for the same seed and time."""
    rng = np.random.default_rng(seed)
    right = _synthetic_hand(HandSide.RIGHT, t, rng)
    left = _synthetic_hand(HandSide.LEFT, t, rng)
    corners = np.concatenate([right.keypoints_2d, left.keypoints_2d])
    both = Box(*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist())
    return TwoHandResult(
        right=right,
        left=left,
        relative_translation=left.wrist_position - right.wrist_position,
        crops=(both,),
        backend=SYNTHETIC_BACKEND,
        times=StageTimes(*rng.uniform(1.0, 20.0, 4).tolist()),
    )


def listen(topic: str, count: int, timeout: float) -> int:
    """Receive `count` messages and report them; exit status 0 when all arrived."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from repehand_ros.msg import TwoHandMesh

    rclpy.init()
    node = rclpy.create_node("repehand_dds_demo_listener")
    latencies_ms: list[float] = []

    def on_message(msg: TwoHandMesh) -> None:
        now_ns = node.get_clock().now().nanoseconds
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        latencies_ms.append((now_ns - stamp_ns) / 1e6)
        right, left = msg.right.wrist.position, msg.left.wrist.position
        print(
            f"listener: #{len(latencies_ms):3d} {msg.backend!r} in {msg.header.frame_id}, "
            f"right wrist ({right.x:+.3f}, {right.y:+.3f}, {right.z:+.3f}) m, "
            f"left wrist ({left.x:+.3f}, {left.y:+.3f}, {left.z:+.3f}) m, "
            f"{len(msg.right.vertices) // 3}+{len(msg.left.vertices) // 3} vertices, "
            f"{latencies_ms[-1]:.1f} ms after its stamp",
            flush=True,
        )

    qos = QoSProfile(depth=count, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(TwoHandMesh, topic, on_message, qos)
    deadline = time.monotonic() + timeout
    try:
        while len(latencies_ms) < count and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    summary: dict[str, float] = {"received": len(latencies_ms), "expected": count}
    if latencies_ms:
        summary["latency_ms_p50"] = round(float(np.percentile(latencies_ms, 50)), 2)
        summary["latency_ms_max"] = round(float(np.max(latencies_ms)), 2)
    print("listener summary: " + json.dumps(summary), flush=True)
    return 0 if len(latencies_ms) == count else 1


def talk(
    topic: str, count: int, rate_hz: float, timeout: float, listener_command: Sequence[str]
) -> int:
    """Start the listener process `listener_command` (which runs `listen` with `--topic`,
    `--count` and `--timeout`), publish `count` messages to it, return its verdict."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Header

    from repehand_ros.msg import TwoHandMesh
    from repehand_ros.ros.conversions import two_hand_mesh_from_result

    listener_arguments = ["--topic", topic, "--count", str(count), "--timeout", str(timeout)]
    listener = subprocess.Popen([*listener_command, *listener_arguments])
    rclpy.init()
    node = rclpy.create_node("repehand_dds_demo_talker")
    publisher = node.create_publisher(
        TwoHandMesh, topic, QoSProfile(depth=count, reliability=ReliabilityPolicy.RELIABLE)
    )
    try:
        deadline = time.monotonic() + timeout
        while publisher.get_subscription_count() == 0:
            if time.monotonic() > deadline or listener.poll() is not None:
                print("talker: no listener appeared on the topic", file=sys.stderr)
                listener.kill()
                return 1
            time.sleep(0.05)
        print(f"talker: listener matched on /{topic}, publishing {count} messages", flush=True)
        for i in range(count):
            header = Header(frame_id=DEMO_FRAME, stamp=node.get_clock().now().to_msg())
            result = synthetic_result(seed=i, t=i / rate_hz)
            publisher.publish(two_hand_mesh_from_result(result, header))
            time.sleep(1.0 / rate_hz)
        status = listener.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        listener.kill()
        status = 1
    finally:
        node.destroy_node()
        rclpy.shutdown()
    print("dds-demo: " + ("every message arrived" if status == 0 else "messages were lost"))
    return status
