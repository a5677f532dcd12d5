"""Stage 1 in one object: a hand-finder chosen by configuration, with tracking around it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np

from repehand_ros.detection.detections import HandDetection
from repehand_ros.detection.images import check_rgb_image
from repehand_ros.detection.mediapipe_detector import MediaPipeHandDetector, MediaPipeSettings
from repehand_ros.detection.regions import FixedRegionFinder, WholeImageFinder
from repehand_ros.detection.tracker import HandTracker, TrackerSettings
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import HandSide
from repehand_ros.resources import Closeable

MODES = ("detector", "roi", "image")


class HandFinder(Protocol):
    """What the detector, the fixed region and the whole image have in common."""

    def find(self, image: np.ndarray) -> list[HandDetection]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DetectionConfig:
    """Stage 1's settings, as a node parameter file or the tools give them."""

    mode: str = "detector"
    """"detector" (MediaPipe), "roi" (the fixed `roi` box) or "image" (the whole image)."""
    mirrored: bool = False
    """True for a selfie/mirrored camera; decides which hand is right."""
    min_detection_confidence: float = 0.5
    model_complexity: int = 1
    roi: tuple[float, float, float, float] | None = None
    """x_min, y_min, x_max, y_max in pixels; required for mode "roi"."""
    tracking: bool = True
    """Off: the finder runs on every frame."""
    redetect_interval: int = 30
    missing_hand_interval: int = 5
    min_track_confidence: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"detection mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "roi" and self.roi is None:
            raise ValueError("detection mode 'roi' needs `roi`: x_min, y_min, x_max, y_max pixels")
        if self.roi is not None:
            if len(self.roi) != 4:
                raise ValueError(f"roi must be x_min, y_min, x_max, y_max; got {self.roi}")
            object.__setattr__(self, "roi", tuple(float(v) for v in self.roi))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DetectionConfig:
        """From a parameter dictionary; unknown keys are an error, so typos do not pass."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown detection settings {unknown}; known: {sorted(known)}")
        return cls(**values)


class HandLocator(Closeable):
    """Where the hands are in each frame: the finder when needed, tracking otherwise.

    Per frame: `locate(image, t)`, then feed back each hand the network
    found with `update_from_keypoints`, and `lose` each it did not.
    """

    def __init__(self, finder: HandFinder, tracker: HandTracker) -> None:
        self.finder = finder
        self.tracker = tracker

    def locate(self, image: np.ndarray, t: float) -> list[HandDetection]:
        """At most one hand per side, right first; `t` is the frame time in seconds."""
        image = check_rgb_image(image)
        if not self.tracker.needs_detection():
            predicted = self.tracker.predict((image.shape[0], image.shape[1]), t)
            if predicted:
                return predicted
        return self.tracker.update_from_detections(self.finder.find(image), t)

    def update_from_keypoints(
        self, side: HandSide, keypoints_px: np.ndarray, confidence: float, t: float
    ) -> None:
        self.tracker.update_from_keypoints(side, keypoints_px, confidence, t)

    def apply_settings(self, config: DetectionConfig) -> None:
        """`config`'s tracking and detector settings from the next frame on, the tracks kept.

        The tracker takes tracking, redetect_interval, missing_hand_interval and
        min_track_confidence (its other settings stay); MediaPipe's detector takes
        mirrored, min_detection_confidence and model_complexity. Which finder runs
        (`mode`, `roi`) is not changed here: that needs a new locator. Settings that
        cannot be taken raise ValueError before anything changes.
        """
        tracking = tracker_settings(config)
        settings = dataclasses.replace(
            self.tracker.settings,
            redetect_interval=tracking.redetect_interval,
            missing_hand_interval=tracking.missing_hand_interval,
            min_confidence=tracking.min_confidence,
        )
        if isinstance(self.finder, MediaPipeHandDetector):
            self.finder.update_settings(mediapipe_settings(config))
        self.tracker.settings = settings

    def lose(self, side: HandSide) -> None:
        self.tracker.lose(side)

    def close(self) -> None:
        self.finder.close()


def create_hand_finder(config: DetectionConfig) -> HandFinder:
    """The bare finder for `config.mode` (the detector loads MediaPipe here)."""
    if config.mode == "roi":
        assert config.roi is not None  # checked by DetectionConfig
        return FixedRegionFinder(Box(*config.roi))
    if config.mode == "image":
        return WholeImageFinder()
    return MediaPipeHandDetector(mediapipe_settings(config))


def mediapipe_settings(config: DetectionConfig) -> MediaPipeSettings:
    """The detector's settings that `config` gives."""
    return MediaPipeSettings(
        mirrored=config.mirrored,
        min_detection_confidence=config.min_detection_confidence,
        model_complexity=config.model_complexity,
    )


def tracker_settings(config: DetectionConfig) -> TrackerSettings:
    """The tracker's settings that `config` gives; tracking off detects on every frame."""
    return TrackerSettings(
        redetect_interval=config.redetect_interval if config.tracking else 1,
        missing_hand_interval=config.missing_hand_interval,
        min_confidence=config.min_track_confidence,
    )


def create_hand_locator(config: DetectionConfig | None = None) -> HandLocator:
    """Stage 1 as configured; tracking off means the finder runs on every frame."""
    config = config or DetectionConfig()
    return HandLocator(create_hand_finder(config), HandTracker(tracker_settings(config)))
