"""Fully populated messages that a test and a peer process can both build."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from repehand_ros.msg import TwoHandMesh
from std_msgs.msg import Header

from repehand_ros.geometry.boxes import Box
from repehand_ros.ros.conversions import image_box_from_box, two_hand_mesh_from_result
from repehand_ros.tools.dds_demo import synthetic_result


def full_two_hand_mesh(seed: int) -> TwoHandMesh:
    """A TwoHandMesh with every field set to a non-default value, the same per seed."""
    header = Header(
        stamp=Time(sec=1_700_000_000 + seed, nanosec=123_456_789), frame_id="cam_optical_frame"
    )
    msg = two_hand_mesh_from_result(synthetic_result(seed, t=0.3 * seed), header)
    msg.crops = [
        image_box_from_box(Box(10.5, 20.25, 200.0, 220.0)),
        image_box_from_box(Box(300.0, 40.0, 500.5, 260.75)),
    ]
    return msg
