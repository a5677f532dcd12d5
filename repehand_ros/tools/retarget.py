"""`repehand retarget`: the example teleoperation node (TwoHandMesh to robot JointState).

Retargets one of the person's hands to a robot hand with dex-retargeting and publishes the
robot's joint positions as sensor_msgs/JointState; see repehand_ros.ros.retarget_node.
ROS arguments follow --ros-args, e.g.
--ros-args -r hands:=/hands/hands -r joint_states:=/robot_hand/joint_commands
"""

from __future__ import annotations

import argparse

from repehand_ros.tools.command import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "retarget",
        help="retarget a hand to a robot hand (dex-retargeting) and publish its JointState",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        required=True,
        help="dex-retargeting YAML config, e.g. one of the wheel's dex_retargeting/configs/teleop",
    )
    parser.add_argument(
        "--urdf",
        help="the robot hand's URDF file, or the directory the config's urdf_path is relative "
        "to (e.g. dex-urdf's robots/hands); default: the config's directory",
    )
    parser.add_argument(
        "--side",
        choices=("right", "left"),
        default="right",
        help="the person's hand that drives the robot (default: %(default)s)",
    )
    parser.set_defaults(func=run, accepts_ros_args=True)


def run(args: argparse.Namespace) -> int:
    # Config and URDF are checked before ROS starts, so a mistake is one clear line.
    from repehand_ros.teleop.retargeting import HandRetargeter, RetargetingError

    try:
        retargeter = HandRetargeter(args.config, args.urdf, args.side)
    except RetargetingError as error:
        raise CommandError(str(error)) from error
    from repehand_ros.ros.retarget_node import spin

    return spin(retargeter, list(getattr(args, "ros_args", [])))
