"""Teleoperation: TwoHandMesh hands to robot-hand joint targets with dex-retargeting.

`retargeting` is ROS-free (one hand's joints to robot joint positions); the example ROS 2
node that publishes them as sensor_msgs/JointState is repehand_ros.ros.retarget_node.
"""
