"""The ROS-free reconstruction pipeline and the results it returns."""
