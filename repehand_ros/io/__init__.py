"""Files in and out, ROS-free: frame sources, calibration files, atomic writes, stop on a signal."""
