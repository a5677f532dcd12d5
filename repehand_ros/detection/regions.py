"""Hand-finders that assume where the hands are, for when a detector is not wanted.

A teleoperation station puts the operator in one place, so a fixed region
of interest holds both hands without the detector's cost or its misses; the
whole image is the fallback when the hands fill the frame. Both return one
detection per side with the same box, so the crop planner makes one crop of
it, and tracking (if on) narrows it from the network's keypoints.
"""

from __future__ import annotations

import numpy as np

from repehand_ros.detection.box_ops import image_box, visible_fraction
from repehand_ros.detection.detections import DetectionSource, HandDetection
from repehand_ros.detection.images import check_rgb_image
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide
from repehand_ros.resources import Closeable

ASSUMED_SCORE = 1.0
"""Score of an assumed hand: 'assumed present', not evidence; the network's own
confidence must decide validity for these sources."""


class _AssumedHandsFinder(Closeable):
    """Both hands assumed in one box; shares the detector's interface."""

    def _both(self, box: Box, source: DetectionSource) -> list[HandDetection]:
        return [HandDetection(side, box, ASSUMED_SCORE, source) for side in HandSide]


class FixedRegionFinder(_AssumedHandsFinder):
    """Both hands inside a configured box (pixels) of every image."""

    def __init__(self, region: Box) -> None:
        if region.width <= 0 or region.height <= 0:
            raise ValueError(f"region of interest has no area: {region}")
        self.region = region

    def find(self, image: np.ndarray) -> list[HandDetection]:
        image = check_rgb_image(image)
        if visible_fraction(self.region, image.shape[:2]) <= 0.0:
            height, width = image.shape[:2]
            raise ValueError(
                f"region of interest {self.region} lies outside the {width} x {height} image"
            )
        return self._both(self.region, DetectionSource.ROI)


class WholeImageFinder(_AssumedHandsFinder):
    """Both hands somewhere in the image."""

    def find(self, image: np.ndarray) -> list[HandDetection]:
        size = check_rgb_image(image).shape[:2]
        return self._both(image_box((size[0], size[1])), DetectionSource.IMAGE)
