"""The keypoint backend on real footage: no RepeHand weights, no MANO files, hands in metres.

right04.jpg (Debian's opencv-doc) shows a person's left hand holding a
chessboard; tree.avi shows no hand until its last frames. The camera is a
known one (640 x 480, f = 600 px) for right04; these tests check that the
landmarks are placed where they are, at a plausible depth and size, never
how accurate MediaPipe is.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from repehand_ros.detection import MediaPipeHandDetector
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import BONES, JOINT_NAMES, HandSide
from repehand_ros.pipeline.config import ReconstructorConfig
from repehand_ros.pipeline.keypoint_hands import (
    KEYPOINT_BACKEND_NAME,
    DegeneratePalmError,
    palm_rotation,
)
from repehand_ros.pipeline.reconstructor import HandReconstructor
from repehand_ros.pipeline.smoothing import SmoothingConfig

CAMERA = PinholeCamera(
    k=np.array([[600.0, 0.0, 319.5], [0.0, 600.0, 239.5], [0.0, 0.0, 1.0]]),
    d=np.zeros(0),
    distortion_model="",
    width=640,
    height=480,
)
MIDDLE_1 = JOINT_NAMES.index("middle_1")


def _footage():
    path = Path(__file__).resolve().parents[1] / "detection" / "footage.py"
    spec = importlib.util.spec_from_file_location("footage", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def footage():
    return _footage()


@pytest.fixture(scope="module")
def right04(footage) -> np.ndarray:
    return footage.right04_rgb()


@pytest.fixture
def reconstructor(tmp_path) -> Iterator[HandReconstructor]:
    config = ReconstructorConfig(
        backend="keypoints",
        mano_dir=tmp_path / "no_mano_here",
        checkpoint=tmp_path / "no_checkpoint.pth",
    )
    with HandReconstructor(config) as built:
        yield built


@pytest.fixture(scope="module")
def landmarks(right04) -> np.ndarray:
    """MediaPipe's own 2D landmarks of right04's left hand, pixels."""
    with MediaPipeHandDetector() as detector:
        hands = {hand.side: hand for hand in detector.find(right04)}
    assert HandSide.LEFT in hands
    return hands[HandSide.LEFT].keypoints.astype(np.float64)


def test_no_mano_and_no_network_are_loaded(reconstructor):
    assert reconstructor.mano is None and reconstructor.backend is None
    assert reconstructor.faces is None
    assert reconstructor.backend_name == KEYPOINT_BACKEND_NAME


def test_left_hand_of_right04_is_placed_in_metres_on_its_landmarks(
    reconstructor, right04, landmarks
):
    result = reconstructor.reconstruct(right04, CAMERA, 0.0)
    assert result.backend == KEYPOINT_BACKEND_NAME
    assert result.right.valid is False and result.right.reason == "not detected"
    hand = result.left
    assert hand.valid, hand.reason
    assert hand.reason == ""
    assert hand.vertices is None
    assert not hand.mano_pose.any() and not hand.mano_shape.any()
    assert np.all(np.isfinite(hand.joints))
    assert 0.2 <= hand.wrist_position[2] <= 1.5
    assert np.all((hand.joints[:, 2] > 0.2) & (hand.joints[:, 2] < 1.5))
    np.testing.assert_allclose(hand.wrist_position, hand.joints[0], atol=1e-6)

    palm = float(np.linalg.norm(hand.joints[MIDDLE_1] - hand.joints[0]))
    assert 0.06 <= palm <= 0.12, f"wrist->middle_1 {palm:.3f} m"
    bones = [float(np.linalg.norm(hand.joints[a] - hand.joints[b])) for a, b in BONES]
    assert all(0.005 <= length <= 0.12 for length in bones), bones

    # The joints project onto MediaPipe's 2D landmarks, and keypoints_2d is that projection.
    np.testing.assert_allclose(hand.keypoints_2d, CAMERA.project(hand.joints), atol=0.05)
    errors = np.linalg.norm(hand.keypoints_2d - landmarks, axis=1)
    assert errors.max() < 3.0, errors
    assert hand.box is not None and hand.box.x_min > 320  # the person's left: image right

    rotation = hand.wrist_rotation.astype(np.float64)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-5)
    assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-5)
    along = hand.joints[MIDDLE_1] - hand.joints[0]
    np.testing.assert_allclose(rotation[:, 0], along / np.linalg.norm(along), atol=1e-5)
    assert 0.9 <= hand.confidence <= 1.0


def test_smoothing_keeps_a_still_hand_in_place(reconstructor, right04):
    first = reconstructor.reconstruct(right04, CAMERA, 0.0).left
    for step in range(1, 4):
        later = reconstructor.reconstruct(right04, CAMERA, step / 30).left
    assert later.valid
    np.testing.assert_allclose(later.joints, first.joints, atol=1e-4)


def test_a_moving_hand_is_published_as_one_hand_smoothed_or_not(tmp_path, footage):
    """tree.avi's moving hand (frames 59-66) as a stream: with smoothing on, the published
    2D keypoints are the published joints projected (within 1 px) and the box is theirs,
    although the joints differ from the raw ones by many pixels."""
    frames = footage.tree_frames_rgb()
    camera = PinholeCamera.default(frames[0].shape[1], frames[0].shape[0])
    published: dict[bool, list] = {}
    for smoothing in (True, False):
        config = ReconstructorConfig(
            backend="keypoints",
            mano_dir=tmp_path / "no_mano_here",
            smoothing=SmoothingConfig(enabled=smoothing),
        )
        with HandReconstructor(config) as reconstructor:
            results = [reconstructor.reconstruct(f, camera, i / 30) for i, f in enumerate(frames)]
        published[smoothing] = [hand for result in results for hand in result.hands if hand.valid]
    assert len(published[True]) == len(published[False]) >= 6
    gaps = []
    for smoothed, raw in zip(published[True], published[False], strict=True):
        projected = camera.project(smoothed.joints.astype(np.float64))
        assert np.abs(projected - smoothed.keypoints_2d).max() < 1.0
        box = smoothed.box
        corners = [box.x_min, box.y_min, box.x_max, box.y_max]
        low, high = projected.min(axis=0), projected.max(axis=0)
        np.testing.assert_allclose(corners, [*low, *high], atol=1.0)
        gaps.append(np.abs(camera.project(raw.joints.astype(np.float64)) - projected).max())
    assert max(gaps) > 5.0, "the moving hand was smoothed"


def test_frames_without_a_hand_are_invalid_with_the_reason(reconstructor, footage):
    frames = footage.tree_frames_rgb()[:5]
    camera = PinholeCamera.default(frames[0].shape[1], frames[0].shape[0])
    for index, frame in enumerate(frames):
        result = reconstructor.reconstruct(frame, camera, index / 30)
        assert result.backend == KEYPOINT_BACKEND_NAME
        for hand in result.hands:
            assert not hand.valid
            assert hand.reason == "not detected"


def test_palm_rotation_is_proper_for_both_hands_and_mirrors_across_the_palm():
    joints = np.zeros((21, 3))
    joints[MIDDLE_1] = [0.0, -0.09, 0.0]  # fingers up in the image
    joints[JOINT_NAMES.index("index_1")] = [-0.03, -0.085, 0.0]
    joints[JOINT_NAMES.index("pinky_1")] = [0.03, -0.07, 0.01]
    right = palm_rotation(joints, HandSide.RIGHT)
    left = palm_rotation(joints, HandSide.LEFT)
    for rotation in (right, left):
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        np.testing.assert_allclose(rotation[:, 0], [0.0, -1.0, 0.0])
    # y: towards the pinky (right hand), towards the index (left); z flips with it.
    assert right[0, 1] > 0 and left[0, 1] < 0
    np.testing.assert_allclose(right[:, 2], -left[:, 2])
    with pytest.raises(DegeneratePalmError):
        palm_rotation(np.zeros((21, 3)), HandSide.RIGHT)


def test_a_network_backend_cannot_be_combined_with_keypoints():
    with pytest.raises(ValueError, match="runs no network"):
        HandReconstructor(ReconstructorConfig(backend="keypoints"), backend=object())


def test_live_settings_on_the_keypoint_backend(reconstructor, right04):
    """The threshold and mirroring change the next frame; tracking stays off (each hand needs
    this frame's landmarks), and the detector's threshold reaches MediaPipe."""
    settings = reconstructor.live_settings
    reconstructor.update_live_settings(dataclasses.replace(settings, min_confidence=1.0))
    hand = reconstructor.reconstruct(right04, CAMERA, 0.0).left
    assert not hand.valid and hand.reason.endswith("below 1.00"), hand.reason

    reconstructor.update_live_settings(
        dataclasses.replace(settings, mirrored=True, tracking=True, redetect_interval=10)
    )
    result = reconstructor.reconstruct(right04, CAMERA, 0.1)
    assert result.right.valid and not result.left.valid, "a mirrored camera: the other side"
    assert reconstructor.locator.tracker.settings.redetect_interval == 1

    reconstructor.update_live_settings(dataclasses.replace(settings, min_detection_confidence=1.0))
    assert reconstructor.locator.finder.settings.min_detection_confidence == 1.0
    result = reconstructor.reconstruct(right04, CAMERA, 0.2)
    assert [hand.reason for hand in result.hands] == ["not detected", "not detected"]
