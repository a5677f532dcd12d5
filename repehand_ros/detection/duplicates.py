"""One hand must never come out as two: merge the copies a detector makes of one hand.

Detectors repeat a hand: MediaPipe's palm detector can fire twice on one
hand, and its handedness classifier may then label the copies as different
sides, so the reconstructor would build two meshes of one hand. Boxes alone
cannot tell a copy from a second hand, because interacting hands (the case a
two-hand model exists for) have heavily overlapping boxes; corresponding
landmarks can: a copy puts its wrist where the original's wrist is, while
the other hand of a clasp does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repehand_ros.detection.box_ops import iou, longer_side
from repehand_ros.detection.detections import HandDetection


@dataclass(frozen=True)
class DuplicateRules:
    """When two detections are one hand."""

    keypoint_distance: float = 0.2
    """Same hand if the mean distance between corresponding keypoints is below this
    fraction of the larger box's longer side (used when both have keypoints)."""
    box_iou: float = 0.6
    """Same hand if the boxes' IoU reaches this (used when a detection has no keypoints)."""


def same_hand(a: HandDetection, b: HandDetection, rules: DuplicateRules) -> bool:
    """Whether `a` and `b` are one hand seen twice, whatever sides they were given."""
    if a.keypoints is not None and b.keypoints is not None:
        size = max(longer_side(a.box), longer_side(b.box), 1.0)
        distance = float(np.linalg.norm(a.keypoints - b.keypoints, axis=1).mean())
        return distance < rules.keypoint_distance * size
    return iou(a.box, b.box) >= rules.box_iou


def merge_duplicates(
    detections: Sequence[HandDetection], rules: DuplicateRules | None = None
) -> list[HandDetection]:
    """Each hand once: of the copies of one hand the one with the best score, best first.

    Sides are not looked at (copies may carry different labels): which hand is which is
    decided afterwards, from all the evidence (detection.handedness.assign_sides).
    """
    rules = rules or DuplicateRules()
    kept: list[HandDetection] = []
    for det in sorted(detections, key=lambda det: det.score, reverse=True):
        if not any(same_hand(det, other, rules) for other in kept):
            kept.append(det)
    return kept
