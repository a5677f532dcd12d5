"""One hand never comes out as two; two hands claimed by one side are sorted by position."""

from __future__ import annotations

import numpy as np

from repehand_ros.detection import DetectionSource, HandDetection, suppress_duplicates
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
    (kept,) = suppress_duplicates([original, copy])
    assert kept is copy


def test_clasped_hands_with_overlapping_boxes_are_two_hands():
    # Same box area, different landmarks: the second hand's wrist is elsewhere.
    first = hand(RIGHT, 300, 0.9, seed=1)
    second = hand(LEFT, 305, 0.8, seed=2)
    assert len(suppress_duplicates([first, second])) == 2


def test_two_right_hands_far_apart_are_relabelled_by_position():
    on_image_left, on_image_right = hand(RIGHT, 150, 0.9), hand(RIGHT, 500, 0.8, seed=3)
    right, left = suppress_duplicates([on_image_right, on_image_left])
    # A normal camera: the person's right hand is on the image's left.
    assert (right.side, left.side) == (RIGHT, LEFT)
    assert right.box.center[0] < left.box.center[0]
    right, left = suppress_duplicates([on_image_right, on_image_left], mirrored=True)
    assert right.box.center[0] > left.box.center[0]


def test_two_overlapping_claims_on_one_side_keep_the_higher_score():
    strong = HandDetection(RIGHT, Box(100, 100, 200, 200), 0.9, DetectionSource.DETECTOR)
    weak = HandDetection(RIGHT, Box(150, 100, 250, 200), 0.6, DetectionSource.DETECTOR)
    assert suppress_duplicates([weak, strong]) == [strong]


def test_a_third_hand_does_not_replace_the_best_of_its_side():
    right, left, extra = (
        hand(RIGHT, 150, 0.9),
        hand(LEFT, 500, 0.9, seed=4),
        hand(LEFT, 330, 0.5, seed=5),
    )
    assert suppress_duplicates([extra, left, right]) == [right, left]


def test_boxes_without_landmarks_are_compared_by_overlap():
    a = HandDetection(RIGHT, Box(100, 100, 200, 200), 0.9, DetectionSource.DETECTOR)
    b = HandDetection(LEFT, Box(105, 100, 205, 200), 0.8, DetectionSource.DETECTOR)
    assert suppress_duplicates([a, b]) == [a]
