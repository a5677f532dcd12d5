"""What an incoming image's header gives its answer: decided once, before any work.

Every output of one image (TwoHandMesh, /tf, markers) carries the image's
stamp and one frame, so the header is checked when the image arrives: an
image whose stamp or frame cannot head an output is refused there, with the
field named, and counted once; an admitted image is answered on every output
with the same header.
"""

from __future__ import annotations

from typing import Any

NANOSECONDS_PER_SECOND = 1_000_000_000


class HeaderError(ValueError):
    """An image header no output can carry; `field` names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_stamp(stamp: Any) -> None:
    """Refuses a stamp that is negative or whose nanoseconds are not below one second.

    builtin_interfaces/Time holds a signed `sec`; ROS time is never before the
    epoch, and rclpy refuses such stamps deep inside ("Seconds value must not
    be negative"), far from the message that carried them.
    """
    if stamp.sec < 0 or not 0 <= stamp.nanosec < NANOSECONDS_PER_SECOND:
        raise HeaderError(
            "header.stamp",
            f"header.stamp {stamp.sec} s {stamp.nanosec} ns is not a valid time (seconds must "
            f"be >= 0 and nanoseconds in [0, 1e9)); every output copies the image's stamp",
        )


def tf2_frame_id(frame_id: str) -> str:
    """`frame_id` as tf2 accepts it: without the leading '/' of ROS 1 names, which tf2 in
    ROS 2 refuses (a TF frame named so could never be looked up)."""
    return frame_id.lstrip("/")


def output_frame_id(image_frame_id: str, camera_frame_id: str) -> str:
    """The frame every output of an image is expressed in (see `tf2_frame_id`).

    The CameraInfo's frame when it names one: its intrinsics turn pixels into
    rays in that frame (image_geometry's `tfFrame`). Otherwise the image's own.
    Neither: HeaderError, since TF and RViz cannot place a frame without a name.
    """
    frame = tf2_frame_id(camera_frame_id) or tf2_frame_id(image_frame_id)
    if not frame:
        raise HeaderError(
            "header.frame_id",
            "header.frame_id is empty in the image and in its CameraInfo: the hands would be "
            "in no frame (set frame_id in the camera driver, e.g. its optical frame)",
        )
    return frame
