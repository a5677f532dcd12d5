"""Files and streams in and out, ROS-free: frame sources, calibration files, depth images,
pairing colour and depth frames by stamp, image/mesh/video writers, atomic writes, stop on a
signal."""
