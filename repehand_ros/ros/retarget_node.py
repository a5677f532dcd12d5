"""Example teleoperation node: TwoHandMesh in, the robot hand's sensor_msgs/JointState out.

Subscribes to `hands` (repehand_ros/TwoHandMesh; the hands node publishes it as
/hands/hands, so remap: -r hands:=/hands/hands), retargets the chosen hand of each message with
dex-retargeting (see repehand_ros.teleop.retargeting for the frames) and publishes the robot's
joint positions on `joint_states` (parameter joint_states_topic), stamped with the
TwoHandMesh's stamp, so a controller can tell how old the hand pose it follows is.

When the hand is not valid (not found in that image) nothing is published, or, with parameter
hold_last, the last joint positions again with the new stamp; either way it says so in the
log at most every invalid_log_period_s seconds.

Run it with `repehand retarget --config CFG --urdf URDF --side right --ros-args ...`
(repehand_ros.tools.retarget).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState

from repehand_ros.msg import HandMesh, TwoHandMesh
from repehand_ros.teleop.retargeting import HandRetargeter, RetargetingError

NODE_NAME = "retarget"
HANDS_TOPIC = "hands"


def hand_joints(hand: HandMesh) -> np.ndarray:
    """The 21 joints of a HandMesh as a (21, 3) array, metres, the message's frame."""
    return np.array([(p.x, p.y, p.z) for p in hand.joints], dtype=np.float64).reshape(-1, 3)


class RetargetNode(Node):
    """Retargets one hand of every TwoHandMesh to the robot and publishes its JointState."""

    def __init__(self, retargeter: HandRetargeter, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.retargeter = retargeter
        self.side = retargeter.side
        topic = str(self.declare_parameter("joint_states_topic", "joint_states").value)
        prefix = str(self.declare_parameter("joint_name_prefix", "").value)
        depth = int(self.declare_parameter("queue_depth", 1).value)
        self.hold_last = bool(self.declare_parameter("hold_last", False).value)
        self.log_period_s = float(self.declare_parameter("invalid_log_period_s", 5.0).value)
        self.joint_names = [prefix + name for name in retargeter.joint_names]
        self.last_positions: np.ndarray | None = None
        self.published = 0
        # Depth 1 by default: a teleoperated hand follows the newest pose, never a backlog.
        qos = QoSProfile(depth=max(depth, 1), reliability=ReliabilityPolicy.RELIABLE)
        self.publisher = self.create_publisher(JointState, topic, qos)
        self.subscription = self.create_subscription(TwoHandMesh, HANDS_TOPIC, self.on_hands, qos)
        self.get_logger().info(
            f"retargeting the {self.side} hand from {self.subscription.topic_name} to "
            f"{len(self.joint_names)} joints of {retargeter.urdf_path.name} on "
            f"{self.publisher.topic_name} ({retargeter.retargeting_type.lower()} retargeting, "
            f"config {retargeter.config_path})"
        )

    def on_hands(self, message: TwoHandMesh) -> None:
        hand = message.right if self.side == "right" else message.left
        positions = None
        if hand.valid:
            try:
                positions = self.retargeter.retarget(hand_joints(hand))
            except RetargetingError as error:
                self.get_logger().warning(
                    f"{self.side} hand not retargeted: {error}",
                    throttle_duration_sec=self.log_period_s,
                )
        else:
            self.get_logger().info(
                f"{self.side} hand not found in the image: "
                + ("holding the last joint positions" if self.hold_last else "publishing nothing"),
                throttle_duration_sec=self.log_period_s,
            )
        if positions is None:
            if not self.hold_last or self.last_positions is None:
                return
            positions = self.last_positions
        self.last_positions = positions
        state = JointState(name=self.joint_names, position=positions.tolist())
        state.header.stamp = message.header.stamp
        self.publisher.publish(state)
        self.published += 1


def spin(retargeter: HandRetargeter, ros_args: Sequence[str]) -> int:
    """Runs the node until Ctrl-C or shutdown; ros_args start with --ros-args (or are empty)."""
    rclpy.init(args=[NODE_NAME, *ros_args])
    node = RetargetNode(retargeter)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
