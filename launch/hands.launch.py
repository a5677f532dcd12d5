"""Starts the repehand_ros hands node (a lifecycle node) on a camera, and RViz if asked.

    ros2 launch repehand_ros hands.launch.py image:=/camera/color/image_raw \
        camera_info:=/camera/color/camera_info camera_frame:=camera_color_optical_frame \
        rviz:=true

With autostart:=true (the default) the node configures and activates itself;
with autostart:=false it waits for a lifecycle manager. With rviz:=true, RViz opens
config/hands.rviz with this launch's image topic, the node's marker topic (in its
namespace) and camera_frame as the fixed frame (rviz_config.py beside this file).
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue


def rviz_config_module() -> ModuleType:
    """rviz_config.py beside this file (ros2 launch's Python may lack the repehand_ros library)."""
    spec = importlib.util.spec_from_file_location(
        "repehand_ros_rviz_config", Path(__file__).with_name("rviz_config.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rviz(context: LaunchContext, rviz_config: ModuleType, template: Path) -> list[Node]:
    """RViz with the template configured for this launch's image, namespace and camera frame."""
    config = rviz_config.write_rviz_config(
        template,
        image_topic=LaunchConfiguration("image").perform(context),
        namespace=LaunchConfiguration("namespace").perform(context),
        camera_frame=LaunchConfiguration("camera_frame").perform(context),
    )
    return [
        Node(package="rviz2", executable="rviz2", arguments=["-d", str(config)], output="screen")
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("repehand_ros"))
    rviz_config = rviz_config_module()
    rviz_template = share / "config" / "hands.rviz"
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
        DeclareLaunchArgument(
            "camera_frame",
            default_value=rviz_config.fixed_frame(rviz_template.read_text()),
            description="the camera's optical frame (frame_id of its images): RViz's fixed frame",
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
    rviz_if_asked = OpaqueFunction(
        function=rviz,
        args=[rviz_config, rviz_template],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription([*arguments, hands, rviz_if_asked])
