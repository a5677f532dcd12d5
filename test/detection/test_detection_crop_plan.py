"""Hands apart: one crop for close hands, one per hand when a shared crop would shrink them."""

from __future__ import annotations

import pytest

from repehand_ros.detection import MIN_HAND_FRACTION, plan_crops
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide

RIGHT, LEFT = HandSide.RIGHT, HandSide.LEFT


def hand_at(cx: float, cy: float = 360.0, size: float = 120.0) -> Box:
    return Box(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)


def test_close_hands_share_one_square_crop():
    boxes = {RIGHT: hand_at(500), LEFT: hand_at(640)}
    plan = plan_crops(boxes)
    assert plan.shared and plan.crops[0].sides == (RIGHT, LEFT)
    crop = plan.crops[0].box
    assert crop.width == pytest.approx(crop.height) == pytest.approx(1.25 * 260)


def test_far_apart_hands_get_a_crop_each_and_stay_big_in_the_network_input():
    # A 1280-wide image, hands 1000 px apart, each 120 px.
    boxes = {RIGHT: hand_at(140), LEFT: hand_at(1140)}
    one_crop = plan_crops(boxes, min_hand_fraction=0.0)
    assert one_crop.shared
    size_shared = one_crop.crops[0].input_size_of(boxes[RIGHT], 224)
    plan = plan_crops(boxes)
    assert not plan.shared and [crop.sides for crop in plan.crops] == [(RIGHT,), (LEFT,)]
    right_crop, left_crop = plan.crop_for(RIGHT), plan.crop_for(LEFT)
    assert right_crop is not None and left_crop is not None
    assert right_crop.box.center == boxes[RIGHT].center
    size_own = right_crop.input_size_of(boxes[RIGHT], 224)
    # What it fixes: from 24 input pixels (under one heatmap cell) to 179.
    assert size_shared == pytest.approx(224 * 120 / (1.25 * 1120))
    assert size_own == pytest.approx(224 / 1.25)
    assert size_own > 7 * size_shared


def test_the_threshold_is_each_hands_share_of_the_shared_crop():
    # A small hand next to a big one: the small one decides.
    small, big = Box(0, 0, 60, 60), Box(100, 0, 400, 300)
    share = 60 / (1.25 * 400)
    assert share < MIN_HAND_FRACTION
    assert not plan_crops({RIGHT: small, LEFT: big}).shared
    assert plan_crops({RIGHT: small, LEFT: big}, min_hand_fraction=share).shared


def test_one_hand_or_none():
    plan = plan_crops({LEFT: hand_at(300)})
    assert [crop.sides for crop in plan.crops] == [(LEFT,)] and plan.crop_for(RIGHT) is None
    assert plan_crops({}).crops == ()


def test_a_region_for_both_hands_is_one_crop():
    region = Box(100, 50, 500, 400)
    assert plan_crops({RIGHT: region, LEFT: region}).shared
