"""Starts the repehand_ros hands node (a lifecycle node) on a camera, and RViz if asked.

    ros2 launch repehand_ros hands.launch.py image:=/camera/color/image_raw \
        camera_info:=/camera/color/camera_info rviz:=true

With autostart:=true (the default) the node configures and activates itself;
with autostart:=false it waits for a lifecycle manager.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("repehand_ros"))
    arguments = [
        DeclareLaunchArgument(
            "params_file",
            default_value=str(share / "config" / "hands.yaml"),
            description="node parameters (every one documented in config/hands.yaml)",
        ),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("image", default_value="image", description="camera image topic"),
        DeclareLaunchArgument(
            "camera_info", default_value="camera_info", description="CameraInfo topic"
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="true",
            description="configure and activate at start (false: wait for a lifecycle manager)",
        ),
        DeclareLaunchArgument("rviz", default_value="false", description="open RViz as well"),
    ]
    hands = LifecycleNode(
        package="repehand_ros",
        executable="hands_node",
        name="hands",
        namespace=LaunchConfiguration("namespace"),
        parameters=[
            LaunchConfiguration("params_file"),
            {"autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool)},
        ],
        remappings=[
            ("image", LaunchConfiguration("image")),
            ("image/compressed", [LaunchConfiguration("image"), "/compressed"]),
            ("camera_info", LaunchConfiguration("camera_info")),
        ],
        output="screen",
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", str(share / "config" / "hands.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
        output="screen",
    )
    return LaunchDescription([*arguments, hands, rviz])
