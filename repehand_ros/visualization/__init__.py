"""Drawing results over images (ROS-free): skeletons, joints and meshes of both hands."""

from repehand_ros.visualization.overlay import (
    HAND_COLOURS,
    draw_hand,
    draw_message,
    draw_result,
    draw_status,
    fit_into,
)

__all__ = ["HAND_COLOURS", "draw_hand", "draw_message", "draw_result", "draw_status", "fit_into"]
