"""The official training crop box: get_bbox x1.25, sanitize, square x1.25, the union quirk."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import TRAINING_CROP_FACTOR
from repehand_ros.training.crop_box import (
    hand_joint_box,
    hands_box,
    sanitize_box,
    training_crop_box,
)

WIDTH, HEIGHT = 640, 480


def _joints_in_box(x_min: float, y_min: float, x_max: float, y_max: float) -> np.ndarray:
    """21 points whose tight box is exactly the given one."""
    rng = np.random.default_rng(0)
    points = np.column_stack((rng.uniform(x_min, x_max, 21), rng.uniform(y_min, y_max, 21)))
    points[0] = (x_min, y_min)
    points[1] = (x_max, y_max)
    return points


def test_one_hand_is_cropped_at_the_official_factor_of_its_joint_box() -> None:
    # A 100 x 60 joint box well inside the image.
    joints = np.stack((_joints_in_box(150, 120, 250, 180), np.zeros((21, 2))))
    valid = np.stack((np.ones(21), np.zeros(21)))
    hands = hands_box(joints, valid, "right")
    assert hands == Box(137.5, 112.5, 262.5, 187.5)  # x1.25 about the centre
    crop = training_crop_box(hands, WIDTH, HEIGHT)
    # sanitize keeps w - 1 = 124, square, x1.25: 155 = 1.5625 x 100 - 1.25.
    assert crop.width == pytest.approx(1.25 * (1.25 * 100 - 1))
    assert crop.height == pytest.approx(crop.width)
    assert crop.width == pytest.approx(TRAINING_CROP_FACTOR * 100, abs=1.25)
    assert crop.center == pytest.approx((199.5, 149.5))  # the sanitized box's centre


def test_single_hand_annotations_take_only_the_hand_they_name() -> None:
    joints = np.stack((_joints_in_box(100, 100, 200, 200), _joints_in_box(300, 100, 400, 200)))
    valid = np.ones((2, 21))
    assert hands_box(joints, valid, "left") == hand_joint_box(joints[1], valid[1])
    assert hands_box(joints, valid, "right") == hand_joint_box(joints[0], valid[0])
    valid[0] = 0
    assert hands_box(joints, valid, "right") is None
    # An interacting annotation with one hand missing takes the other's box.
    assert hands_box(joints, valid, "interacting") == hand_joint_box(joints[1], valid[1])


def test_interacting_union_and_the_official_quirk() -> None:
    # The right hand's box starts right of and below the left hand's.
    right = _joints_in_box(300, 150, 380, 230)
    left = _joints_in_box(100, 100, 180, 180)
    joints, valid = np.stack((right, left)), np.ones((2, 21))
    right_box, left_box = hand_joint_box(right, valid[0]), hand_joint_box(left, valid[1])
    union = hands_box(joints, valid, "interacting")
    assert union == Box(left_box.x_min, left_box.y_min, right_box.x_max, right_box.y_max)
    quirk = hands_box(joints, valid, "interacting", reproduce_union_quirk=True)
    # Width max(x_max) - x_min(right box), height likewise: short by the boxes' offsets.
    assert quirk.x_min == union.x_min and quirk.y_min == union.y_min
    assert quirk.width == pytest.approx(right_box.x_max - right_box.x_min)
    assert quirk.height == pytest.approx(right_box.y_max - right_box.y_min)
    assert quirk.width == pytest.approx(union.width - (right_box.x_min - left_box.x_min))
    # With the right hand's box first, the quirk changes nothing.
    swapped = np.stack((left, right))
    assert hands_box(swapped, valid, "interacting", True) == hands_box(
        swapped, valid, "interacting"
    )


def test_sanitize_moves_a_box_off_the_left_edge_and_cuts_one_off_the_right() -> None:
    # Off the left and top: it keeps w - 1 and starts at 0.
    assert sanitize_box(Box(-50, -20, 150, 80), WIDTH, HEIGHT) == Box(0, 0, 199, 99)
    # Off the right and bottom: cut at the last pixel.
    assert sanitize_box(Box(600, 400, 700, 500), WIDTH, HEIGHT) == Box(600, 400, 639, 479)
    assert sanitize_box(Box(700, 100, 800, 200), WIDTH, HEIGHT) is None
    assert training_crop_box(Box(-300, -300, -100, -100), WIDTH, HEIGHT) is not None
    assert training_crop_box(Box(650, 10, 700, 60), WIDTH, HEIGHT) is None


def test_no_valid_joint_gives_no_box() -> None:
    assert hand_joint_box(np.zeros((21, 2)), np.zeros(21)) is None
    with pytest.raises(ValueError, match="hand_type"):
        hands_box(np.zeros((2, 21, 2)), np.ones((2, 21)), "both")
