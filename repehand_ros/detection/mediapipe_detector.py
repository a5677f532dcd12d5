"""Hands and their 21 landmarks from MediaPipe's hand models, which ship in its wheel.

Uses the legacy `mediapipe.solutions.hands` API: it runs offline with the
models inside the wheel, whereas the Tasks API needs a separate model file.
Its handedness labels assume a mirrored (selfie) image, so for a normal
camera they are swapped. Which hand is which is not left to those labels:
MediaPipe runs on the image and on its mirror, and the side is weighed from
the labels, the 3D landmarks' chirality and the hands' positions
(detection.handedness), so that a mirrored image always gets the opposite
sides. The second run costs one more MediaPipe call per detection frame.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from repehand_ros.detection.box_ops import KEYPOINT_BOX_SCALE, box_around_points
from repehand_ros.detection.detections import DetectionSource, HandDetection
from repehand_ros.detection.duplicates import DuplicateRules, merge_duplicates
from repehand_ros.detection.handedness import (
    assign_sides,
    combine_views,
    mirrored_detection,
    seen_evidence,
)
from repehand_ros.detection.images import check_rgb_image
from repehand_ros.hands import HandSide
from repehand_ros.resources import Closeable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaPipeSettings:
    """The detector's settings; defaults suit a normal (not mirrored) camera."""

    mirrored: bool = False
    """True for a selfie/mirrored image (MediaPipe's own assumption), False for a normal camera."""
    min_detection_confidence: float = 0.5
    """MediaPipe's palm-detection threshold, in [0, 1]."""
    model_complexity: int = 1
    """0 (faster, less accurate landmarks) or 1."""
    max_num_hands: int = 3
    """One more than two, so a repeated hand cannot crowd out the second one
    (duplicates are suppressed afterwards)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_detection_confidence <= 1.0:
            raise ValueError(
                f"min_detection_confidence must be in [0, 1], got {self.min_detection_confidence}"
            )
        if self.model_complexity not in (0, 1):
            raise ValueError(f"model_complexity must be 0 or 1, got {self.model_complexity}")
        if self.max_num_hands < 1:
            raise ValueError(f"max_num_hands must be at least 1, got {self.max_num_hands}")


def _import_hands_solution() -> Any:
    try:
        import mediapipe  # imported on use: optional and slow to load
    except ImportError as err:
        raise ImportError(
            "MediaPipeHandDetector needs the `mediapipe` package (0.10.14, with "
            "opencv-contrib-python): pip install mediapipe==0.10.14; or use detection "
            "mode 'roi' or 'image', which need no detector"
        ) from err
    return mediapipe.solutions.hands


class MediaPipeHandDetector(Closeable):
    """RGB image in, at most one `HandDetection` per side out, with landmarks and the
    evidence of its side.

    Each call is an independent detection (MediaPipe's static-image mode):
    frame-to-frame tracking is `HandTracker`'s job, which decides when to
    call this at all. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        settings: MediaPipeSettings | None = None,
        duplicate_rules: DuplicateRules | None = None,
    ) -> None:
        self.settings = settings or MediaPipeSettings()
        self._duplicate_rules = duplicate_rules or DuplicateRules()
        self._hands: Any = self._graph(self.settings)

    @staticmethod
    def _graph(settings: MediaPipeSettings) -> Any:
        return _import_hands_solution().Hands(
            static_image_mode=True,
            max_num_hands=settings.max_num_hands,
            model_complexity=settings.model_complexity,
            min_detection_confidence=settings.min_detection_confidence,
        )

    def update_settings(self, settings: MediaPipeSettings) -> None:
        """`settings` from the next `find` on. Mirroring alone changes no graph; a new
        threshold, model or hand count builds MediaPipe's graph anew, and frees the old one
        only once the new one stands (so a failure leaves the detector as it was)."""
        if self._hands is None:
            raise RuntimeError("MediaPipeHandDetector is closed")
        graph_settings = dataclasses.replace(settings, mirrored=self.settings.mirrored)
        if graph_settings != self.settings:
            graph = self._graph(settings)
            self._hands.close()
            self._hands = graph
        self.settings = settings

    def find(self, image: np.ndarray) -> list[HandDetection]:
        """The person's hands in an RGB uint8 H x W x 3 image: at most one per side, right
        first, each with its side's evidence (`right_log_odds`)."""
        image = check_rgb_image(image)
        if self._hands is None:
            raise RuntimeError("MediaPipeHandDetector is closed")
        width = image.shape[1]
        direct = self._seen(image)
        mirror = np.ascontiguousarray(image[:, ::-1])
        mirrored_back = [mirrored_detection(hand, width) for hand in self._seen(mirror)]
        hands = combine_views(direct, mirrored_back, self._duplicate_rules)
        return assign_sides(hands, self.settings.mirrored, width)

    def _seen(self, image: np.ndarray) -> list[HandDetection]:
        """MediaPipe's hands in `image` as seen, each once: evidence and side for a normal
        camera's view, the person's sides decided later."""
        result = self._hands.process(image)
        if not result.multi_hand_landmarks:
            return []
        height, width = image.shape[:2]
        size = np.array([width, height], dtype=np.float64)
        worlds = result.multi_hand_world_landmarks or [None] * len(result.multi_hand_landmarks)
        found = []
        for landmarks, handedness, world in zip(
            result.multi_hand_landmarks, result.multi_handedness, worlds, strict=True
        ):
            label = handedness.classification[0]
            # MediaPipe's 0..1 spans the image's outer edges; pixel centres are integers.
            keypoints = np.array([[p.x, p.y] for p in landmarks.landmark]) * size - 0.5
            world_keypoints = (
                None if world is None else np.array([[p.x, p.y, p.z] for p in world.landmark])
            )
            # Its labels are for a selfie: "Left" is a right hand seen by a normal camera.
            evidence = seen_evidence(label.label == "Left", label.score, world_keypoints)
            found.append(
                HandDetection(
                    side=HandSide.RIGHT if evidence >= 0 else HandSide.LEFT,
                    box=box_around_points(keypoints, KEYPOINT_BOX_SCALE),
                    score=min(max(float(label.score), 0.0), 1.0),
                    source=DetectionSource.DETECTOR,
                    keypoints=keypoints,
                    world_keypoints=world_keypoints,
                    right_log_odds=evidence,
                )
            )
        kept = merge_duplicates(found, self._duplicate_rules)
        if len(kept) < len(found):
            logger.debug("MediaPipe: %d hands reported, %d kept", len(found), len(kept))
        return kept

    def close(self) -> None:
        """Free MediaPipe's graph; safe to call twice."""
        if self._hands is not None:
            self._hands.close()
            self._hands = None
