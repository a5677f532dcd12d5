"""The tracker: detect once, then follow keypoints; detect again when a hand is lost."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.detection import (
    DetectionSource,
    HandDetection,
    HandLocator,
    HandTracker,
    TrackerSettings,
)
from repehand_ros.detection.box_ops import box_around_points
from repehand_ros.hands import HandSide

IMAGE = np.zeros((480, 640, 3), np.uint8)
SIZE = (480, 640)


def hand_keypoints(cx: float, cy: float, size: float = 100.0) -> np.ndarray:
    """A hand-like spread of 21 points centred near (cx, cy)."""
    offsets = np.random.default_rng(0).uniform(-0.5, 0.5, (21, 2)) * size
    return offsets + np.array([cx, cy])


def detection(
    side: HandSide, cx: float, cy: float, score: float = 0.95, evidence: float | None = None
) -> HandDetection:
    """A detector's hand; its side's evidence (log-odds of a right hand) is a confident one
    for `side` unless given."""
    keypoints = hand_keypoints(cx, cy)
    if evidence is None:
        evidence = 4.0 if side is HandSide.RIGHT else -4.0
    return HandDetection(
        side,
        box_around_points(keypoints, 1.2),
        score,
        DetectionSource.DETECTOR,
        keypoints,
        right_log_odds=evidence,
    )


class CountingFinder:
    """A stand-in detector that returns set detections and counts its calls."""

    def __init__(self, detections: list[HandDetection]) -> None:
        self.detections = detections
        self.calls = 0

    def find(self, image: np.ndarray) -> list[HandDetection]:
        self.calls += 1
        return list(self.detections)

    def close(self) -> None:
        self.detections = []


def test_detects_once_then_tracks_from_fed_back_keypoints():
    finder = CountingFinder(
        [detection(HandSide.RIGHT, 200, 240), detection(HandSide.LEFT, 440, 240)]
    )
    locator = HandLocator(finder, HandTracker(TrackerSettings(redetect_interval=100)))
    for frame in range(10):
        t = frame / 30
        hands = locator.locate(IMAGE, t)
        assert [hand.side for hand in hands] == [HandSide.RIGHT, HandSide.LEFT]
        expected = DetectionSource.DETECTOR if frame == 0 else DetectionSource.TRACKER
        assert all(hand.source is expected for hand in hands)
        for hand, cx in zip(hands, (200 + 3 * frame, 440 - 3 * frame), strict=True):
            locator.update_from_keypoints(hand.side, hand_keypoints(cx, 240), 0.9, t)
    assert finder.calls == 1
    # The boxes followed the hands as they moved towards each other.
    right, left = locator.locate(IMAGE, 10 / 30)
    assert right.box.center[0] > 220 and left.box.center[0] < 420


def test_a_lost_hand_triggers_detection_again():
    finder = CountingFinder(
        [detection(HandSide.RIGHT, 200, 240), detection(HandSide.LEFT, 440, 240)]
    )
    locator = HandLocator(finder, HandTracker())
    locator.locate(IMAGE, 0.0)
    locator.locate(IMAGE, 0.03)
    assert finder.calls == 1
    locator.lose(HandSide.LEFT)
    hands = locator.locate(IMAGE, 0.06)
    assert finder.calls == 2 and all(hand.source is DetectionSource.DETECTOR for hand in hands)


def test_low_confidence_triggers_detection():
    tracker = HandTracker(TrackerSettings(min_confidence=0.5))
    tracker.update_from_detections(
        [detection(HandSide.RIGHT, 200, 240), detection(HandSide.LEFT, 400, 240)], 0.0
    )
    assert not tracker.needs_detection()
    tracker.update_from_keypoints(HandSide.RIGHT, hand_keypoints(200, 240), 0.3, 0.03)
    assert tracker.needs_detection()


def test_redetects_every_n_frames_and_every_frame_when_asked():
    both = [detection(HandSide.RIGHT, 200, 240), detection(HandSide.LEFT, 440, 240)]
    finder = CountingFinder(both)
    locator = HandLocator(finder, HandTracker(TrackerSettings(redetect_interval=5)))
    for frame in range(10):
        locator.locate(IMAGE, frame / 30)
    assert finder.calls == 2  # frames 0 and 5
    every = CountingFinder(both)
    locator = HandLocator(every, HandTracker(TrackerSettings(redetect_interval=1)))
    for frame in range(4):
        locator.locate(IMAGE, frame / 30)
    assert every.calls == 4


def test_a_missing_hand_is_looked_for_every_few_frames():
    finder = CountingFinder([detection(HandSide.RIGHT, 200, 240)])
    tracker = HandTracker(TrackerSettings(redetect_interval=100, missing_hand_interval=3))
    locator = HandLocator(finder, tracker)
    for frame in range(7):
        locator.locate(IMAGE, frame / 30)
    assert finder.calls == 3  # frames 0, 3 and 6


def test_a_hand_leaving_the_image_loses_its_track():
    tracker = HandTracker()
    tracker.update_from_detections(
        [detection(HandSide.RIGHT, 200, 240), detection(HandSide.LEFT, 440, 240)], 0.0
    )
    tracker.update_from_keypoints(HandSide.LEFT, hand_keypoints(700, 240), 0.9, 0.03)
    hands = tracker.predict(SIZE, 0.06)
    assert [hand.side for hand in hands] == [HandSide.RIGHT]
    assert tracker.tracked_sides == (HandSide.RIGHT,) and tracker.needs_detection()


def test_the_prediction_follows_the_hands_motion():
    tracker = HandTracker(TrackerSettings(motion_margin=1.0))
    tracker.update_from_keypoints(HandSide.RIGHT, hand_keypoints(200, 240), 0.9, 0.0)
    tracker.update_from_keypoints(HandSide.RIGHT, hand_keypoints(230, 240), 0.9, 0.1)
    (hand,) = tracker.predict(SIZE, 0.2)
    assert hand.box.center[0] == pytest.approx(
        box_around_points(hand_keypoints(260, 240), 1.2).center[0]
    )


def test_one_weak_contrary_frame_cannot_swap_a_tracked_hand():
    tracker = HandTracker()
    tracker.update_from_detections([detection(HandSide.RIGHT, 200, 240)], 0.0)
    weakly_left = detection(HandSide.LEFT, 205, 240, score=0.6, evidence=-1.5)
    (kept,) = tracker.update_from_detections([weakly_left], 0.03)
    assert kept.side is HandSide.RIGHT
    assert kept.right_log_odds == pytest.approx(0.7 * 4.0 - 1.5)
    # A second hand, clearly a left one: two hands are sided by the difference of their
    # votes, so the tracked hand, weakly left on its own by now, is the right one.
    new_hand = detection(HandSide.LEFT, 500, 240)
    kept = tracker.update_from_detections([weakly_left, new_hand], 0.06)
    assert [(hand.side, hand.box.center[0] > 300) for hand in kept] == [
        (HandSide.RIGHT, False),
        (HandSide.LEFT, True),
    ]


def test_a_confident_contradiction_overturns_a_side():
    tracker = HandTracker()
    tracker.update_from_detections([detection(HandSide.RIGHT, 200, 240, evidence=2.5)], 0.0)
    clearly_left = detection(HandSide.LEFT, 205, 240, evidence=-6.0)
    (hand,) = tracker.update_from_detections([clearly_left], 0.03)
    assert hand.side is HandSide.LEFT
    assert hand.side_confidence > 0.95


def test_a_run_of_contrary_frames_overturns_a_settled_side():
    tracker = HandTracker()
    sides = []
    for frame in range(8):
        evidence = 4.0 if frame < 3 else -2.0
        (hand,) = tracker.update_from_detections(
            [detection(HandSide.RIGHT, 200 + frame, 240, evidence=evidence)], frame / 30
        )
        sides.append(hand.side)
    assert sides[:4] == [HandSide.RIGHT] * 4
    assert sides[-1] is HandSide.LEFT
    assert sides.index(HandSide.LEFT) <= 6  # within a few detections


def test_two_hands_swap_only_on_confident_evidence():
    tracker = HandTracker()
    tracker.update_from_detections(
        [detection(HandSide.RIGHT, 150, 240), detection(HandSide.LEFT, 500, 240)], 0.0
    )
    # The classifier swaps both labels weakly for one frame: the hands stay.
    weakly_swapped = [
        detection(HandSide.LEFT, 152, 240, evidence=-1.0),
        detection(HandSide.RIGHT, 498, 240, evidence=1.0),
    ]
    right, left = tracker.update_from_detections(weakly_swapped, 0.03)
    assert right.box.center[0] < 300 < left.box.center[0]
    # A strong, repeated contradiction (the hands were crossed all along) swaps them.
    strongly_swapped = [
        detection(HandSide.LEFT, 154, 240, evidence=-6.0),
        detection(HandSide.RIGHT, 496, 240, evidence=6.0),
    ]
    tracker.update_from_detections(strongly_swapped, 0.06)
    right, left = tracker.update_from_detections(strongly_swapped, 0.1)
    assert right.box.center[0] > 300 > left.box.center[0]


def test_a_hand_that_leaves_and_comes_back_is_judged_afresh():
    tracker = HandTracker()
    for frame in range(5):
        tracker.update_from_detections([detection(HandSide.RIGHT, 200, 240)], frame / 30)
    tracker.update_from_detections([], 0.2)  # gone
    (hand,) = tracker.update_from_detections(
        [detection(HandSide.LEFT, 200, 240, evidence=-1.0)], 0.3
    )
    assert hand.side is HandSide.LEFT
    assert hand.right_log_odds == -1.0


def test_an_unsettled_side_makes_the_tracker_detect_again_soon():
    settings = TrackerSettings(redetect_interval=100, missing_hand_interval=3)
    unsure, sure = HandTracker(settings), HandTracker(settings)
    unsure.update_from_detections(
        [detection(HandSide.RIGHT, 150, 240, evidence=0.8), detection(HandSide.LEFT, 500, 240)],
        0.0,
    )
    sure.update_from_detections(
        [detection(HandSide.RIGHT, 150, 240), detection(HandSide.LEFT, 500, 240)], 0.0
    )
    for frame in (1, 2):
        for tracker in (unsure, sure):
            assert not tracker.needs_detection()
            tracker.predict(SIZE, frame / 30)
    assert unsure.needs_detection()
    assert not sure.needs_detection()


def test_finders_without_evidence_keep_their_sides():
    # A finder that weighs no evidence (right_log_odds 0): its sides stand.
    tracker = HandTracker()
    hands = [
        detection(HandSide.LEFT, 150, 240, evidence=0.0),
        detection(HandSide.RIGHT, 500, 240, evidence=0.0),
    ]
    right, left = tracker.update_from_detections(hands, 0.0)
    assert right.box.center[0] > 300 > left.box.center[0]


def test_feedback_is_checked():
    tracker = HandTracker()
    with pytest.raises(ValueError, match=r"\(21, 2\)"):
        tracker.update_from_keypoints(HandSide.RIGHT, np.zeros((20, 2)), 0.9, 0.0)
    with pytest.raises(ValueError, match="confidence"):
        tracker.update_from_keypoints(HandSide.RIGHT, np.zeros((21, 2)), 1.5, 0.0)


def test_real_footage_tracks_the_hand_after_one_detection(detector, tree_frames):
    # tree.avi's last frames hold a hand; feed the detector's landmarks back as
    # the network would feed its keypoints, and count the detector's runs.
    class Counting:
        calls = 0

        def find(self, image: np.ndarray) -> list[HandDetection]:
            Counting.calls += 1
            return detector.find(image)

        def close(self) -> None:
            """The session fixture closes the detector."""

    locator = HandLocator(Counting(), HandTracker(TrackerSettings(redetect_interval=100)))
    frames = tree_frames[60:68]
    sources = []
    for index, frame in enumerate(frames):
        t = index / 15
        hands = locator.locate(frame, t)
        assert len(hands) == 1
        sources.append(hands[0].source)
        landmarks = detector.find(frame)
        if landmarks and landmarks[0].keypoints is not None:
            locator.update_from_keypoints(hands[0].side, landmarks[0].keypoints, 0.9, t)
    assert sources[0] is DetectionSource.DETECTOR
    assert DetectionSource.TRACKER in sources[1:]
