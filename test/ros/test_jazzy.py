"""What differs under ROS 2 Jazzy (.venv-jazzy, which ./test.sh runs the ROS tests in too).

Skipped elsewhere. The rest of test/ros runs there unchanged, apart from
test_image_conversion's comparison with Kilted's list of image encodings, which
./test.sh deselects there for the check below.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from test_image_conversion import ALL_ENCODINGS, encodings_header


def jazzy_rclpy() -> str | None:
    try:
        return version("ros-jazzy-rclpy")
    except PackageNotFoundError:
        return None


pytestmark = pytest.mark.skipif(jazzy_rclpy() is None, reason="not the ROS 2 Jazzy environment")

PROFILE = Path(__file__).resolve().parents[2] / "config" / "fastdds_large_images.xml"

ADDED_AFTER_JAZZY = {"nv12"}
"""Image encodings that Kilted's sensor_msgs names and Jazzy's (5.3) does not. The node
reads them all the same: an encoding is a string in the message."""


def test_jazzy_sensor_msgs_names_every_encoding_but_those_added_later():
    header = encodings_header()
    assert header is not None, "sensor_msgs' image_encodings.hpp is not installed"
    names = re.findall(r'const char [A-Z0-9_]+\[\] = "([^"]+)";', header.read_text())
    assert sorted(names) == sorted(set(ALL_ENCODINGS) - ADDED_AFTER_JAZZY)


def test_fast_dds_2_is_given_the_large_image_profile_under_its_own_variable():
    """Jazzy's Fast DDS (2.x) reads FASTRTPS_DEFAULT_PROFILES_FILE, not the
    FASTDDS_DEFAULT_PROFILES_FILE of Fast DDS 3 (Kilted); test/conftest.py sets both:
    without it, 640x480 images go over fragmented UDP and the node tests time out."""
    given = os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE")
    assert given and Path(given).resolve() == PROFILE, (
        "run the Jazzy tests with FASTRTPS_DEFAULT_PROFILES_FILE=config/fastdds_large_images.xml"
        " (absolute path), as ./test.sh does"
    )
