"""The MediaPipe detector on real footage: the right hand, on the hand, nothing on no hand."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from repehand_ros.detection import (
    DetectionSource,
    HandDetection,
    MediaPipeHandDetector,
    MediaPipeSettings,
)
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide

# Drawn by looking at right04.jpg: the hand holding the board's right edge,
# from the thumb above the board's edge down to the wrist under the watch.
RIGHT04_HAND = Box(385.0, 170.0, 535.0, 400.0)


def _only_hand(detections: list[HandDetection]) -> HandDetection:
    assert len(detections) == 1, detections
    return detections[0]


def test_right04_is_the_persons_left_hand_for_a_normal_camera(detector, right04):
    # The person faces the camera, so their left hand is at the image's right;
    # MediaPipe's legacy labels (selfie assumption) call it "Right".
    hand = _only_hand(detector.find(right04))
    assert hand.side is HandSide.LEFT
    assert hand.source is DetectionSource.DETECTOR
    assert hand.score > 0.9


def test_a_mirrored_camera_flips_the_side(selfie_detector, right04):
    assert _only_hand(selfie_detector.find(right04)).side is HandSide.RIGHT


def test_landmarks_and_box_lie_on_the_hand(detector, right04):
    hand = _only_hand(detector.find(right04))
    assert hand.keypoints is not None and hand.keypoints.shape == (21, 2)
    u, v = hand.keypoints[:, 0], hand.keypoints[:, 1]
    assert np.all((u >= RIGHT04_HAND.x_min) & (u <= RIGHT04_HAND.x_max))
    assert np.all((v >= RIGHT04_HAND.y_min) & (v <= RIGHT04_HAND.y_max))
    assert hand.box.x_min < u.min() and hand.box.x_max > u.max()
    # The wrist (joint 0) is below the thumb tip (joint 4): the hand is held up.
    assert hand.keypoints[0, 1] > hand.keypoints[4, 1]


def test_world_landmarks_are_metres_around_the_hand_centre(detector, right04):
    world = _only_hand(detector.find(right04)).world_keypoints
    assert world is not None and world.shape == (21, 3)
    assert np.abs(world).max() < 0.2
    wrist_to_middle_knuckle = float(np.linalg.norm(world[9] - world[0]))
    assert 0.05 < wrist_to_middle_knuckle < 0.13


def test_a_flipped_image_on_a_mirrored_camera_gives_the_original_side(
    detector, selfie_detector, right04
):
    original = _only_hand(detector.find(right04))
    flipped = _only_hand(selfie_detector.find(cv2.flip(right04, 1)))
    assert flipped.side is original.side
    assert flipped.keypoints is not None and original.keypoints is not None
    width = right04.shape[1]
    mirrored_back = flipped.keypoints.copy()
    mirrored_back[:, 0] = (width - 1) - mirrored_back[:, 0]
    assert np.abs(mirrored_back - original.keypoints).mean() < 5.0


def test_no_hand_in_the_tree_frames_before_the_hand_comes(detector, tree_frames):
    for frame in tree_frames[0:45:5]:
        assert detector.find(frame) == []


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((48, 64), np.uint8), "grey"),
        (np.zeros((48, 64, 4), np.uint8), "RGBA"),
        (np.zeros((48, 64, 3), np.float32), "uint8"),
        (np.zeros((0, 64, 3), np.uint8), "empty"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_bad_images_are_refused_clearly(detector, image, message):
    with pytest.raises(ValueError, match=message):
        detector.find(image)


def test_a_closed_detector_says_so(right04):
    detector = MediaPipeHandDetector()
    detector.close()
    detector.close()
    with pytest.raises(RuntimeError, match="closed"):
        detector.find(right04)


def test_missing_mediapipe_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(ImportError, match="pip install mediapipe"):
        MediaPipeHandDetector()


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError, match="model_complexity"):
        MediaPipeSettings(model_complexity=2)
    with pytest.raises(ValueError, match="min_detection_confidence"):
        MediaPipeSettings(min_detection_confidence=1.5)


def test_settings_changed_between_frames_take_effect_on_the_next(right04):
    with MediaPipeHandDetector() as detector:
        assert _only_hand(detector.find(right04)).side is HandSide.LEFT
        graph = detector._hands
        detector.update_settings(MediaPipeSettings(mirrored=True))
        assert detector._hands is graph, "mirroring needs no new graph"
        assert _only_hand(detector.find(right04)).side is HandSide.RIGHT
        # No palm's score reaches 1: nothing found, then found again at the default.
        detector.update_settings(MediaPipeSettings(mirrored=True, min_detection_confidence=1.0))
        assert detector.find(right04) == []
        detector.update_settings(MediaPipeSettings(mirrored=False))
        assert _only_hand(detector.find(right04)).side is HandSide.LEFT
    with pytest.raises(RuntimeError, match="closed"):
        detector.update_settings(MediaPipeSettings())
