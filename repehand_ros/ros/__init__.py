"""The ROS 2 edge: conversions to and from messages, topics, QoS. Imports rclpy."""
