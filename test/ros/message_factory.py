"""Fully populated messages that a test and a peer process can both build."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from repehand_ros.msg import TwoHandMesh
from std_msgs.msg import Header

from repehand_ros.geometry.boxes import Box
from repehand_ros.ros.conversions import image_box_from_box, two_hand_mesh_from_result
from repehand_ros.ros.dds_demo import synthetic_result


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


def field_differences(received, expected, path: str = "") -> list[str]:
    """Every field path where two messages differ, recursing into nested messages.

    Values, not serialised bytes: CDR leaves its alignment padding uninitialised,
    so two serialisations of equal messages can differ there."""
    if hasattr(expected, "get_fields_and_field_types"):
        differences = []
        for name in expected.get_fields_and_field_types():
            differences += field_differences(
                getattr(received, name), getattr(expected, name), f"{path}.{name}"
            )
        return differences
    if isinstance(expected, list | tuple):
        if len(received) != len(expected):
            return [f"{path}: length {len(received)} != {len(expected)}"]
        differences = []
        for i, (r, e) in enumerate(zip(received, expected, strict=True)):
            differences += field_differences(r, e, f"{path}[{i}]")
        return differences
    if hasattr(expected, "__len__") and not isinstance(expected, str):
        r, e = np.asarray(received), np.asarray(expected)
        same = r.dtype == e.dtype and r.shape == e.shape and r.tobytes() == e.tobytes()
        return [] if same else [f"{path}: arrays differ"]
    return [] if received == expected else [f"{path}: {received!r} != {expected!r}"]
