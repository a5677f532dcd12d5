"""Fixed region and whole image: the detector's interface, both hands in one box."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.detection import (
    DetectionConfig,
    DetectionSource,
    FixedRegionFinder,
    HandDetection,
    HandLocator,
    MediaPipeHandDetector,
    WholeImageFinder,
    create_hand_finder,
    create_hand_locator,
)
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide

IMAGE = np.zeros((480, 640, 3), np.uint8)


def test_the_region_holds_both_hands():
    region = Box(100, 50, 500, 400)
    with FixedRegionFinder(region) as finder:
        hands = finder.find(IMAGE)
    assert [hand.side for hand in hands] == [HandSide.RIGHT, HandSide.LEFT]
    assert all(hand.box == region and hand.source is DetectionSource.ROI for hand in hands)


def test_the_whole_image_in_opencv_pixel_convention():
    hands = WholeImageFinder().find(IMAGE)
    assert [hand.box for hand in hands] == [Box(-0.5, -0.5, 639.5, 479.5)] * 2
    assert all(hand.source is DetectionSource.IMAGE for hand in hands)


def test_a_region_outside_the_image_or_without_area_is_refused():
    with pytest.raises(ValueError, match="outside"):
        FixedRegionFinder(Box(700, 0, 800, 100)).find(IMAGE)
    with pytest.raises(ValueError, match="no area"):
        FixedRegionFinder(Box(10, 10, 10, 100))


def test_the_assumed_finders_refuse_bad_images_too():
    with pytest.raises(ValueError, match="grey"):
        WholeImageFinder().find(np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError, match="RGBA"):
        FixedRegionFinder(Box(0, 0, 10, 10)).find(np.zeros((48, 64, 4), np.uint8))


def test_the_factory_builds_each_mode():
    assert isinstance(create_hand_finder(DetectionConfig(mode="image")), WholeImageFinder)
    roi = create_hand_finder(DetectionConfig(mode="roi", roi=(10, 20, 300, 400)))
    assert isinstance(roi, FixedRegionFinder) and roi.region == Box(10, 20, 300, 400)
    with create_hand_locator(DetectionConfig(mirrored=True)) as locator:
        assert isinstance(locator.finder, MediaPipeHandDetector)
        assert locator.finder.settings.mirrored


def test_tracking_off_runs_the_finder_every_frame():
    locator = create_hand_locator(DetectionConfig(mode="image", tracking=False))
    for frame in range(3):
        hands = locator.locate(IMAGE, frame / 30)
        assert all(hand.source is DetectionSource.IMAGE for hand in hands)


def test_tracking_narrows_a_region_to_the_fed_back_keypoints():
    locator: HandLocator = create_hand_locator(DetectionConfig(mode="roi", roi=(0, 0, 600, 400)))
    locator.locate(IMAGE, 0.0)
    keypoints = np.random.default_rng(0).uniform(100, 200, (21, 2))
    locator.update_from_keypoints(HandSide.RIGHT, keypoints, 0.9, 0.0)
    hands: list[HandDetection] = locator.locate(IMAGE, 0.03)
    right = next(hand for hand in hands if hand.side is HandSide.RIGHT)
    assert right.source is DetectionSource.TRACKER and right.box.width < 200


def test_configuration_mistakes_are_refused():
    with pytest.raises(ValueError, match="mode"):
        DetectionConfig(mode="yolo")
    with pytest.raises(ValueError, match="needs `roi`"):
        DetectionConfig(mode="roi")
    with pytest.raises(ValueError, match="unknown detection settings"):
        DetectionConfig.from_mapping({"mode": "image", "redetect_intervall": 3})
    assert DetectionConfig.from_mapping({"mode": "image", "tracking": False}).tracking is False
