"""Stage 1, where are the hands: detector, tracker, fixed region, whole image, crop plan.

ROS-free. The reconstructor builds a `HandLocator` with `create_hand_locator`,
calls `locate` per frame, turns the hands' boxes into crops with
`plan_crops`, and feeds the network's keypoints back to the locator.
"""

from repehand_ros.detection.crop_plan import (
    MIN_HAND_FRACTION,
    CropPlan,
    CropPlanner,
    PlannedCrop,
    plan_crops,
)
from repehand_ros.detection.detections import DetectionSource, HandDetection
from repehand_ros.detection.duplicates import DuplicateRules, merge_duplicates
from repehand_ros.detection.finder import (
    DetectionConfig,
    HandFinder,
    HandLocator,
    create_hand_finder,
    create_hand_locator,
)
from repehand_ros.detection.mediapipe_detector import MediaPipeHandDetector, MediaPipeSettings
from repehand_ros.detection.regions import FixedRegionFinder, WholeImageFinder
from repehand_ros.detection.tracker import HandTracker, TrackerSettings

__all__ = [
    "MIN_HAND_FRACTION",
    "CropPlan",
    "CropPlanner",
    "DetectionConfig",
    "DetectionSource",
    "DuplicateRules",
    "FixedRegionFinder",
    "HandDetection",
    "HandFinder",
    "HandLocator",
    "HandTracker",
    "MediaPipeHandDetector",
    "MediaPipeSettings",
    "PlannedCrop",
    "TrackerSettings",
    "WholeImageFinder",
    "create_hand_finder",
    "create_hand_locator",
    "merge_duplicates",
    "plan_crops",
]
