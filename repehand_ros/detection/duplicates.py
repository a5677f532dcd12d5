"""One hand must never come out as two: merge duplicates, settle two claims on one side.

Detectors repeat a hand: MediaPipe's palm detector can fire twice on one
hand, and its handedness classifier may then label the copies as different
sides, so the reconstructor would build two meshes of one hand. Boxes alone
cannot tell a copy from a second hand, because interacting hands (the case a
two-hand model exists for) have heavily overlapping boxes; corresponding
landmarks can: a copy puts its wrist where the original's wrist is, while
the other hand of a clasp does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repehand_ros.detection.box_ops import iou, longer_side
from repehand_ros.detection.detections import HandDetection
from repehand_ros.hands import HandSide


@dataclass(frozen=True)
class DuplicateRules:
    """When two detections are one hand, and when two of one side are two hands."""

    keypoint_distance: float = 0.2
    """Same hand if the mean distance between corresponding keypoints is below this
    fraction of the larger box's longer side (used when both have keypoints)."""
    box_iou: float = 0.6
    """Same hand if the boxes' IoU reaches this (used when a detection has no keypoints)."""
    distinct_iou: float = 0.3
    """Two same-side detections that are not one hand are clearly two hands below this IoU."""


def same_hand(a: HandDetection, b: HandDetection, rules: DuplicateRules) -> bool:
    """Whether `a` and `b` are one hand seen twice, whatever sides they were given."""
    if a.keypoints is not None and b.keypoints is not None:
        size = max(longer_side(a.box), longer_side(b.box), 1.0)
        distance = float(np.linalg.norm(a.keypoints - b.keypoints, axis=1).mean())
        return distance < rules.keypoint_distance * size
    return iou(a.box, b.box) >= rules.box_iou


def side_by_position(
    a: HandDetection, b: HandDetection, mirrored: bool
) -> tuple[HandDetection, HandDetection]:
    """Label two hands right and left by where they are in the image.

    A person facing a normal camera has the right hand on the image's left;
    a mirrored (selfie) image shows it on the right.
    """
    leftmost, rightmost = sorted((a, b), key=lambda det: det.box.center[0])
    right, left = (rightmost, leftmost) if mirrored else (leftmost, rightmost)
    return (
        dataclasses.replace(right, side=HandSide.RIGHT),
        dataclasses.replace(left, side=HandSide.LEFT),
    )


def suppress_duplicates(
    detections: Sequence[HandDetection],
    mirrored: bool = False,
    rules: DuplicateRules | None = None,
) -> list[HandDetection]:
    """At most one detection per side, none of them the same hand; right first.

    Copies of one hand keep the highest score. If one side is then claimed
    twice and the other not at all, two clearly separate hands are relabelled
    by position (`mirrored` as for the camera); otherwise the higher score
    keeps the side.
    """
    rules = rules or DuplicateRules()
    kept: list[HandDetection] = []
    for det in sorted(detections, key=lambda det: det.score, reverse=True):
        if not any(same_hand(det, other, rules) for other in kept):
            kept.append(det)
    by_side = {side: [det for det in kept if det.side is side] for side in HandSide}
    for side, other in ((HandSide.RIGHT, HandSide.LEFT), (HandSide.LEFT, HandSide.RIGHT)):
        claims = by_side[side]
        if len(claims) >= 2 and not by_side[other]:
            first, second = claims[0], claims[1]
            if iou(first.box, second.box) < rules.distinct_iou:
                right, left = side_by_position(first, second, mirrored)
                return [right, left]
    return [by_side[side][0] for side in HandSide if by_side[side]]
