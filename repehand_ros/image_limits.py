"""The largest image the package accepts, and OpenCV's decoders bound to it.

OpenCV decodes whatever size a compressed image's header declares: a 56 KB
JPEG that claims 20000 x 20000 pixels costs 2.3 GB before anything can look
at it. Images are checked against `MAX_IMAGE_SIDE` before decoding
(`repehand_ros.ros.image_conversion`); OpenCV's own limits, set here as well,
catch what a header reader could miss. OpenCV reads them once, when its
library loads (OpenCV 5.1, measured: set after `import cv2` they change
nothing), so the package sets them when it is imported, before any of its
modules imports cv2. A program that imported cv2 first keeps OpenCV's
defaults, and the header checks still hold. Child processes inherit the
variables; an operator's tighter value is kept. This module imports nothing
that loads OpenCV.
"""

from __future__ import annotations

import os

MAX_IMAGE_SIDE = 16384
"""Largest accepted width or height, so at most 256 MPix: bigger is a corrupt header."""

OPENCV_DECODER_LIMITS: dict[str, int] = {
    "OPENCV_IO_MAX_IMAGE_WIDTH": MAX_IMAGE_SIDE,
    "OPENCV_IO_MAX_IMAGE_HEIGHT": MAX_IMAGE_SIDE,
    "OPENCV_IO_MAX_IMAGE_PIXELS": MAX_IMAGE_SIDE * MAX_IMAGE_SIDE,
}


def limit_opencv_decoders() -> None:
    """Sets OpenCV's decoder limits to MAX_IMAGE_SIDE unless a tighter one is set."""
    for name, limit in OPENCV_DECODER_LIMITS.items():
        current = os.environ.get(name, "")
        if not (current.isdigit() and int(current) <= limit):
            os.environ[name] = str(limit)
