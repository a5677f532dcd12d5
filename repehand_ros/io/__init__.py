"""Files in and out, ROS-free: frame sources, calibration files, image/mesh/video writers,
atomic writes, stop on a signal."""
