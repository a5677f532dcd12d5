"""Follow each hand from frame to frame, so the detector runs only when needed.

The next frame's box for a hand comes from the last frame's keypoints (the
detector's landmarks, or the network's projected joints fed back by the
reconstructor), shifted by the hand's recent motion and enlarged for what
motion remains. The detector runs again when a hand is lost, when a tracked
hand's confidence falls below a threshold, while a hand is missing (every
few frames, to pick it up when it appears), while a hand's side is not yet
settled (every few frames, to gather evidence), and every N frames regardless.

Each track holds the vote for its side (detection.handedness): detections
add their evidence to it, and the side changes only as the vote allows.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from repehand_ros.detection.box_ops import (
    KEYPOINT_BOX_SCALE,
    box_around_points,
    iou,
    scale_box,
    shift_box,
    visible_fraction,
)
from repehand_ros.detection.detections import DetectionSource, HandDetection
from repehand_ros.detection.handedness import SETTLED_VOTE, accumulate, keeps_previous_sides
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import NUM_JOINTS, HandSide

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerSettings:
    """When to detect again, and how a tracked box is made."""

    redetect_interval: int = 30
    """Detect at least every this many frames; 1 detects every frame (no tracking)."""
    missing_hand_interval: int = 5
    """While fewer than two hands are tracked, detect every this many frames to find the other."""
    min_confidence: float = 0.5
    """A tracked hand whose confidence falls below this triggers detection."""
    keypoint_box_scale: float = KEYPOINT_BOX_SCALE
    """Keypoints box to hand box, as the detector makes it, so both give alike boxes."""
    motion_margin: float = 1.0
    """Extra enlargement of a predicted box for motion the velocity does not explain. None by
    default: the crop around a hand box already reaches 28 % of the hand's size past it on
    each side (geometry.crop: the training crop), and any enlargement here would show the
    network a smaller hand than the ones it was trained on."""
    min_visible_fraction: float = 0.3
    """A hand whose predicted box is less than this much inside the image has left it."""
    sticky_match_iou: float = 0.3
    """A new detection overlapping a tracked hand this much is that hand: its evidence adds
    to that hand's side vote instead of deciding the side afresh."""

    def __post_init__(self) -> None:
        if self.redetect_interval < 1 or self.missing_hand_interval < 1:
            raise ValueError("redetect_interval and missing_hand_interval must be at least 1")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.keypoint_box_scale <= 0 or self.motion_margin <= 0:
            raise ValueError("keypoint_box_scale and motion_margin must be positive")


@dataclass
class _Track:
    box: Box
    confidence: float
    time: float
    velocity: tuple[float, float] = (0.0, 0.0)
    """Box centre motion, pixels per second."""
    vote: float = 0.0
    """Log-odds that this is the person's right hand, from the detections so far."""
    voted: bool = False
    """True for a hand a detector found (its side is voted on), False for an assumed one."""


class HandTracker:
    """Per-hand tracks; the caller asks `needs_detection()` each frame, then either
    detects and calls `update_from_detections`, or calls `predict`."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: dict[HandSide, _Track] = {}
        self._frames_since_detection: int | None = None
        self._hand_lost = False

    @property
    def tracked_sides(self) -> tuple[HandSide, ...]:
        return tuple(side for side in HandSide if side in self._tracks)

    def needs_detection(self) -> bool:
        """Whether this frame should run the detector instead of `predict`."""
        if self._frames_since_detection is None or self._hand_lost or not self._tracks:
            return True
        if any(track.confidence < self.settings.min_confidence for track in self._tracks.values()):
            return True
        next_frame = self._frames_since_detection + 1
        unsettled = any(abs(track.vote) < SETTLED_VOTE for track in self._voted_tracks())
        missing = len(self._tracks) < len(HandSide)
        if (missing or unsettled) and next_frame >= self.settings.missing_hand_interval:
            return True
        return next_frame >= self.settings.redetect_interval

    def _voted_tracks(self) -> list[_Track]:
        """Tracks whose side is voted on (found by a detector, not assumed)."""
        return [track for track in self._tracks.values() if track.voted]

    def predict(self, image_size: tuple[int, int], t: float) -> list[HandDetection]:
        """This frame's box per tracked hand (source TRACKER); hands that left the image are lost.

        `image_size` is (height, width); `t` the frame's time in seconds.
        """
        if self._frames_since_detection is not None:
            self._frames_since_detection += 1
        predicted = []
        for side in self.tracked_sides:
            track = self._tracks[side]
            dt = max(t - track.time, 0.0)
            moved = shift_box(track.box, track.velocity[0] * dt, track.velocity[1] * dt)
            box = scale_box(moved, self.settings.motion_margin)
            if visible_fraction(box, image_size) < self.settings.min_visible_fraction:
                logger.debug("%s hand left the image", side.name.lower())
                self.lose(side)
                continue
            predicted.append(
                HandDetection(
                    side, box, track.confidence, DetectionSource.TRACKER, right_log_odds=track.vote
                )
            )
        return predicted

    def update_from_detections(
        self, detections: list[HandDetection], t: float
    ) -> list[HandDetection]:
        """Start tracks from a detection frame; returns the detections with their sides as
        the tracks' votes decide them (`right_log_odds` then holds the vote).

        A hand the detector did not find loses its track: the detector is the
        authority on presence. Hands a finder assumes (a fixed region, the whole
        image) keep the sides they were given.
        """
        if all(det.source is DetectionSource.DETECTOR for det in detections):
            detections = self._voted_sides(detections)
        previous = self._tracks
        self._tracks = {}
        for det in detections:
            box = (
                box_around_points(det.keypoints, self.settings.keypoint_box_scale)
                if det.keypoints is not None
                else det.box
            )
            voted = det.source is DetectionSource.DETECTOR
            self._set(det.side, box, det.score, t, previous.get(det.side), voted)
            self._tracks[det.side].vote = det.right_log_odds
        self._frames_since_detection = 0
        self._hand_lost = False
        return detections

    def update_from_keypoints(
        self, side: HandSide, keypoints_px: np.ndarray, confidence: float, t: float
    ) -> None:
        """Feed back a hand's (21, 2) keypoints in image pixels, e.g. the network's projection."""
        keypoints = np.asarray(keypoints_px, dtype=np.float64)
        if keypoints.shape != (NUM_JOINTS, 2) or not np.all(np.isfinite(keypoints)):
            raise ValueError(
                f"keypoints_px must be finite with shape ({NUM_JOINTS}, 2), got {keypoints.shape}"
            )
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {confidence}")
        side = HandSide(side)
        box = box_around_points(keypoints, self.settings.keypoint_box_scale)
        previous = self._tracks.get(side)
        self._set(side, box, confidence, t, previous, previous is not None and previous.voted)

    def lose(self, side: HandSide) -> None:
        """Drop a hand's track (e.g. the network found no hand there); the next frame detects."""
        if self._tracks.pop(HandSide(side), None) is not None:
            self._hand_lost = True

    def _set(
        self,
        side: HandSide,
        box: Box,
        confidence: float,
        t: float,
        previous: _Track | None,
        voted: bool,
    ) -> None:
        velocity = (0.0, 0.0)
        if previous is not None and t > previous.time:
            (u0, v0), (u1, v1) = previous.box.center, box.center
            velocity = ((u1 - u0) / (t - previous.time), (v1 - v0) / (t - previous.time))
        vote = previous.vote if previous is not None else 0.0
        self._tracks[side] = _Track(box, float(confidence), t, velocity, vote, voted)

    def _voted_sides(self, detections: list[HandDetection]) -> list[HandDetection]:
        """The (at most two, best score first) detections with the sides their tracks'
        votes give, right first; `right_log_odds` becomes the vote.

        A detection overlapping a tracked hand is that hand: its evidence is added to
        the hand's vote (handedness.accumulate). One hand takes the side its vote
        favours, two hands are right and left by the difference of their votes; sides
        held with confidence stay unless the new votes are as confident the other way
        (handedness.keeps_previous_sides).
        """
        detections = sorted(detections, key=lambda det: det.score, reverse=True)[:2]
        if not detections:
            return []
        tracks = [self._matched_tracks(detections).get(i) for i in range(len(detections))]
        votes = [
            accumulate(None if track is None else track.vote, det.right_log_odds)
            for det, track in zip(detections, tracks, strict=True)
        ]
        old_votes = [0.0 if track is None else track.vote for track in tracks]
        # One hand: its vote; two: the first's vote minus the second's (right if positive).
        margin = votes[0] - (votes[1] if len(votes) == 2 else 0.0)
        old_margin = old_votes[0] - (old_votes[1] if len(votes) == 2 else 0.0)
        sides = [HandSide.RIGHT, HandSide.LEFT][: len(detections)]
        if margin < 0:
            sides = [side.other for side in sides]
        given = [det.side for det in detections]
        if margin == 0 and len(set(given)) == len(given):
            sides = given  # no evidence at all: the finder's sides stand
        old_sides = [self._side_of(track) for track in tracks]
        known = None not in old_sides and len(set(old_sides)) == len(old_sides)
        if known and old_sides != sides and keeps_previous_sides(old_margin, margin):
            logger.debug("sides kept against weak contrary evidence (margin %.2f)", margin)
            sides = [side for side in old_sides if side is not None]
        kept = [
            dataclasses.replace(det, side=side, right_log_odds=vote)
            for det, side, vote in zip(detections, sides, votes, strict=True)
        ]
        return sorted(kept, key=lambda det: det.side)

    def _side_of(self, track: _Track | None) -> HandSide | None:
        """The side `track` is held under; None for no track."""
        for side, candidate in self._tracks.items():
            if candidate is track:
                return side
        return None

    def _matched_tracks(self, detections: list[HandDetection]) -> dict[int, _Track]:
        """Detection index -> the voted track it overlaps most (IoU >= sticky_match_iou)."""
        pairs = sorted(
            (
                (iou(det.box, track.box), index, side)
                for index, det in enumerate(detections)
                for side, track in self._tracks.items()
                if track.voted
            ),
            key=lambda pair: pair[0],
            reverse=True,
        )
        matched: dict[int, _Track] = {}
        for overlap, index, side in pairs:
            if overlap < self.settings.sticky_match_iou:
                break
            track = self._tracks[side]
            if index not in matched and track not in matched.values():
                matched[index] = track
        return matched
