"""What stage 1 ("where are the hands") hands to the rest of the pipeline."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import NUM_JOINTS, HandSide


class DetectionSource(str, enum.Enum):
    """Who found the hand: it tells the reconstructor how much the box and score mean."""

    DETECTOR = "detector"
    """A hand detector saw it this frame: box, score and keypoints are evidence."""
    TRACKER = "tracker"
    """Predicted from the last frame's keypoints: no new evidence this frame."""
    ROI = "roi"
    """A configured region assumed to hold both hands: the score is an assumption."""
    IMAGE = "image"
    """The whole image, assumed to hold both hands: the score is an assumption."""


def _frozen_array(name: str, value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    array = np.array(value, dtype=np.float32)
    if array.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class HandDetection:
    """One hand found in one image. Arrays are float32 read-only copies."""

    side: HandSide
    """The person's right or left hand (already corrected for a mirrored camera)."""
    box: Box
    """The hand in the image, pixels; the crop planner enlarges it, so it is kept tight."""
    score: float
    """Confidence in [0, 1] that this is a hand of this side (see `source`)."""
    source: DetectionSource
    keypoints: np.ndarray | None = None
    """(21, 2) joints in image pixels (u, v), order of mano.joints.JOINT_NAMES; or None."""
    world_keypoints: np.ndarray | None = None
    """(21, 3) joints in metres, origin at the hand's centre, camera-aligned axes (MediaPipe
    world landmarks); None when the source has none. Not in the camera frame: no translation."""
    right_log_odds: float = 0.0
    """What is known of the side, as log-odds that this is the person's right hand
    (positive: right; 0: no evidence; see detection.handedness): this frame's evidence for a
    detector's hand, the track's vote for a tracked one."""

    @property
    def side_confidence(self) -> float:
        """How sure `side` is, in [0, 1]: the probability of `side` that `right_log_odds`
        gives (0.5: no evidence either way; under 0.5: `side` was forced, as when two hands
        must be one right and one left)."""
        p_right = 1.0 / (1.0 + math.exp(-self.right_log_odds))
        return p_right if self.side is HandSide.RIGHT else 1.0 - p_right

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", HandSide(self.side))
        object.__setattr__(self, "source", DetectionSource(self.source))
        score = float(self.score)
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        object.__setattr__(self, "score", score)
        if not math.isfinite(self.right_log_odds):
            raise ValueError(f"right_log_odds must be finite, got {self.right_log_odds}")
        object.__setattr__(self, "right_log_odds", float(self.right_log_odds))
        if self.keypoints is not None:
            keypoints = _frozen_array("keypoints", self.keypoints, (NUM_JOINTS, 2))
            object.__setattr__(self, "keypoints", keypoints)
        if self.world_keypoints is not None:
            world = _frozen_array("world_keypoints", self.world_keypoints, (NUM_JOINTS, 3))
            object.__setattr__(self, "world_keypoints", world)
