"""One hand never comes out as two, whatever sides its copies were given."""

from __future__ import annotations

import numpy as np

from repehand_ros.detection import DetectionSource, HandDetection, merge_duplicates
from repehand_ros.detection.box_ops import box_around_points
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide

RIGHT, LEFT = HandSide.RIGHT, HandSide.LEFT


def hand(
    side: HandSide, cx: float, score: float, jitter: float = 0.0, seed: int = 0
) -> HandDetection:
    rng = np.random.default_rng(seed)
    keypoints = (
        rng.uniform(-50, 50, (21, 2)) + np.array([cx, 240.0]) + rng.normal(0, jitter, (21, 2))
    )
    return HandDetection(
        side, box_around_points(keypoints, 1.2), score, DetectionSource.DETECTOR, keypoints
    )


def test_one_hand_reported_as_both_sides_comes_out_once_with_the_better_score():
    original = hand(RIGHT, 300, 0.7)
    copy = hand(LEFT, 303, 0.9, jitter=3.0)
    (kept,) = merge_duplicates([original, copy])
    assert kept is copy


def test_clasped_hands_with_overlapping_boxes_are_two_hands():
    # Same box area, different landmarks: the second hand's wrist is elsewhere.
    first = hand(RIGHT, 300, 0.9, seed=1)
    second = hand(LEFT, 305, 0.8, seed=2)
    assert merge_duplicates([second, first]) == [first, second]


def test_two_hands_claimed_by_one_side_are_both_kept_for_the_side_decision():
    # Sides are decided afterwards from all the evidence (handedness.assign_sides).
    on_image_left, on_image_right = hand(RIGHT, 150, 0.9), hand(RIGHT, 500, 0.8, seed=3)
    assert merge_duplicates([on_image_right, on_image_left]) == [on_image_left, on_image_right]


def test_boxes_without_landmarks_are_compared_by_overlap():
    a = HandDetection(RIGHT, Box(100, 100, 200, 200), 0.9, DetectionSource.DETECTOR)
    b = HandDetection(LEFT, Box(105, 100, 205, 200), 0.8, DetectionSource.DETECTOR)
    c = HandDetection(LEFT, Box(300, 100, 400, 200), 0.7, DetectionSource.DETECTOR)
    assert merge_duplicates([c, b, a]) == [a, c]
