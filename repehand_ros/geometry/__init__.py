"""Geometry: boxes in the image, rotations, the camera model, placing hands in metres."""
