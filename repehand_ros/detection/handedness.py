"""Which hand is which: the person's right or left, from evidence that can be weighed.

For teleoperation a swapped side drives the wrong robot arm, and MediaPipe's
handedness classifier alone is wrong often enough to matter (low scores on a
hand seen from the thumb side, labels that flip between frames). So the side
is decided from evidence in log-odds, L = log P(right) / P(left), where
independent pieces of evidence add:

- The classifier: MediaPipe's label and score, L = +-logit(score), its score
  capped at CLASSIFIER_MAX_SCORE (it says 1.00 on hands it gets wrong).
- Chirality, from the 3D landmarks. A right and a left hand are mirror
  images: no rotation maps one onto the other. With the normal
  n = (index_1 - wrist) x (pinky_1 - wrist) in a right-handed camera frame,
  n points out of the palm of a right hand and out of the back of a left one
  (a right hand, palm to the camera, fingers up, has index_1 on the image's
  right: (1, -2, 0) x (-1, -2, 0) = (0, 0, -4), towards the camera). Fingers
  flex towards the palm, so the fingers' mean offset from the palm along n,
  over the hand's size, is positive for a right hand and negative for a
  left one; a flat hand gives about zero, that is, no evidence.
- Position, for two hands: facing a normal camera, a person's right hand is
  usually on the image's left (hands can cross, so this weighs little).

Mirror symmetry. A horizontally mirrored image shows the other hand, so its
answer must be the opposite side, whatever the evidence. The detector is
asked twice, on the image and on its mirror, and `combine_views` averages
the evidence of both views (the mirror's negated): the mirrored image asks
the same two questions in the other order, so its evidence is exactly the
negative, and so are its sides (`assign_sides`).

Over time (`accumulate`, used by the tracker), a tracked hand's side is a
vote: each detection frame adds its evidence to a decayed running total,
clipped, with hysteresis (`keeps_previous_sides`). One weak contrary frame
cannot change a side held with confidence; a confident contradiction can. A
hand that leaves and comes back is judged afresh.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from repehand_ros.detection.detections import HandDetection
from repehand_ros.detection.duplicates import DuplicateRules, same_hand
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import JOINT_NAMES, WRIST, HandSide

INDEX_1 = JOINT_NAMES.index("index_1")
PINKY_1 = JOINT_NAMES.index("pinky_1")
MIDDLE_1 = JOINT_NAMES.index("middle_1")
PALM = [WRIST, INDEX_1, MIDDLE_1, JOINT_NAMES.index("ring_1"), PINKY_1]
"""The palm's joints: the wrist and the four finger knuckles."""
FINGERS = [
    JOINT_NAMES.index(f"{finger}_{k}")
    for finger in ("index", "middle", "ring", "pinky")
    for k in (2, 3, 4)
]
"""The four fingers' joints beyond the knuckles: where flexion shows."""

CLASSIFIER_MAX_SCORE = 0.95
"""MediaPipe's handedness score is capped here (|L| <= 2.9): it reports 1.00 on hands it
labels wrong, so no single classifier answer may outweigh clear chirality."""
CHIRALITY_GAIN = 10.0
"""Log-odds per unit of finger offset along the palm normal (in hand sizes, wrist to
middle_1): a relaxed hand's fingers sit 0.15-0.4 of a hand size off the palm plane on
real footage (log-odds 1.5-4), a flat hand's about 0."""
CHIRALITY_MAX = 4.0
"""|L| from chirality is capped here (98 %): the 3D landmarks are themselves an estimate."""
POSITION_GAIN = 2.0
"""Log-odds per image width between two hands: right-hand-on-the-image's-left (normal
camera). Hands half an image apart give 1.0 (73 %)."""
MIN_HAND_SIZE_M = 1e-3
"""A hand's wrist to middle_1 distance, metres, below which its 3D landmarks say nothing."""


def probability(log_odds: float) -> float:
    """P from log-odds L = log P / (1 - P)."""
    return 1.0 / (1.0 + math.exp(-log_odds))


def classifier_log_odds(is_right: bool, score: float) -> float:
    """Evidence for the person's right hand from a classifier that said `is_right` with
    `score` (capped at CLASSIFIER_MAX_SCORE; a score under 0.5 counts as 0.5)."""
    capped = min(max(float(score), 0.5), CLASSIFIER_MAX_SCORE)
    evidence = math.log(capped / (1.0 - capped))
    return evidence if is_right else -evidence


def chirality(world_keypoints: np.ndarray) -> float:
    """The fingers' mean offset from the palm along its normal, in hand sizes: positive for a
    right hand, negative for a left one, about zero for a flat hand (see the module's
    docstring). `world_keypoints` (21, 3) are metric, in axes of a right-handed camera frame
    (x right, y down, z forward: MediaPipe's world landmarks); the hand is taken as seen,
    so a mirrored image gives the mirrored hand's value."""
    joints = np.asarray(world_keypoints, dtype=np.float64)
    normal = np.cross(joints[INDEX_1] - joints[WRIST], joints[PINKY_1] - joints[WRIST])
    size = float(np.linalg.norm(joints[MIDDLE_1] - joints[WRIST]))
    length = float(np.linalg.norm(normal))
    if not (math.isfinite(size) and math.isfinite(length)) or size < MIN_HAND_SIZE_M:
        return 0.0
    if length < (MIN_HAND_SIZE_M * size):
        return 0.0  # wrist, index_1 and pinky_1 in line: no palm plane
    offsets = (joints[FINGERS] - joints[PALM].mean(axis=0)) @ (normal / length)
    return float(offsets.mean()) / size


def chirality_log_odds(world_keypoints: np.ndarray) -> float:
    """Evidence for a right hand (as seen) from its 3D landmarks' chirality."""
    value = CHIRALITY_GAIN * chirality(world_keypoints)
    return float(np.clip(value, -CHIRALITY_MAX, CHIRALITY_MAX))


def seen_evidence(classifier_says_right: bool, score: float, world: np.ndarray | None) -> float:
    """One view's evidence for a right hand as seen in the image (a normal camera's view):
    the classifier's and, when there are 3D landmarks, their chirality."""
    evidence = classifier_log_odds(classifier_says_right, score)
    if world is not None:
        evidence += chirality_log_odds(world)
    return evidence


def mirrored_detection(detection: HandDetection, image_width: int) -> HandDetection:
    """`detection` of the horizontally mirrored image, carried back into the image: pixels
    u -> width - 1 - u, world landmarks x -> -x, and the evidence negated (the mirror
    of a right hand is a left hand)."""
    flip = float(image_width - 1)
    box = detection.box
    keypoints = detection.keypoints
    world = detection.world_keypoints
    if keypoints is not None:
        keypoints = np.column_stack([flip - keypoints[:, 0], keypoints[:, 1]])
    return dataclasses.replace(
        detection,
        side=detection.side.other,
        box=Box(flip - box.x_max, box.y_min, flip - box.x_min, box.y_max),
        keypoints=keypoints,
        world_keypoints=None if world is None else world * np.array([-1.0, 1.0, 1.0]),
        right_log_odds=-detection.right_log_odds,
    )


def combine_views(
    direct: Sequence[HandDetection],
    mirrored_back: Sequence[HandDetection],
    rules: DuplicateRules,
) -> list[HandDetection]:
    """The hands of both views, each once, with the two views' evidence averaged.

    `direct` are the detector's hands in the image, `mirrored_back` its hands in the
    mirrored image carried back (`mirrored_detection`). Pairs that are one hand are matched,
    nearest first; a matched hand keeps the direct view's landmarks, the better score and
    the mean evidence; a hand only one view found keeps half its evidence (the other view
    said nothing). Swapping the two lists gives the same hands with the evidence negated
    after mirroring, which is what makes a mirrored image's sides the opposite ones.
    """
    pairs = sorted(
        (
            (_distance(first, second), i, j)
            for i, first in enumerate(direct)
            for j, second in enumerate(mirrored_back)
            if same_hand(first, second, rules)
        ),
        key=lambda pair: pair[0],
    )
    matched: dict[int, int] = {}
    for _, i, j in pairs:
        if i not in matched and j not in matched.values():
            matched[i] = j
    combined = []
    for i, hand in enumerate(direct):
        if i in matched:
            other = mirrored_back[matched[i]]
            evidence = 0.5 * (hand.right_log_odds + other.right_log_odds)
            score = max(hand.score, other.score)
        else:
            evidence, score = 0.5 * hand.right_log_odds, hand.score
        combined.append(dataclasses.replace(hand, right_log_odds=evidence, score=score))
    unmatched = [j for j in range(len(mirrored_back)) if j not in matched.values()]
    for j in unmatched:
        hand = mirrored_back[j]
        combined.append(dataclasses.replace(hand, right_log_odds=0.5 * hand.right_log_odds))
    return combined


def _distance(first: HandDetection, second: HandDetection) -> float:
    """Mean landmark distance, pixels (box centre distance without landmarks)."""
    if first.keypoints is not None and second.keypoints is not None:
        return float(np.linalg.norm(first.keypoints - second.keypoints, axis=1).mean())
    return float(np.hypot(*np.subtract(first.box.center, second.box.center)))


def assign_sides(
    hands: Sequence[HandDetection], mirrored: bool, image_width: int
) -> list[HandDetection]:
    """The person's hands: at most two (the best scores), one right and one left; right first.

    `hands` carry evidence as seen in the image (`right_log_odds`, a normal camera's
    view); a mirrored camera shows the other hand, so there it is negated. One hand
    takes the side its evidence favours (without any, the side its position favours).
    Two hands are one right and one left: hand a is the right one when
    D = L_a - L_b + POSITION_GAIN (x_b - x_a) / width > 0 (the position term's sign
    reversed for a mirrored camera), and each hand's `right_log_odds` becomes +-D.
    """
    sign = -1.0 if mirrored else 1.0
    person = [
        dataclasses.replace(hand, right_log_odds=sign * hand.right_log_odds) for hand in hands
    ]
    best = sorted(person, key=lambda hand: hand.score, reverse=True)[:2]
    if not best:
        return []
    if len(best) == 1:
        (hand,) = best
        evidence = hand.right_log_odds
        if evidence == 0.0:
            on_image_left = hand.box.center[0] < 0.5 * (image_width - 1)
            side = HandSide.RIGHT if on_image_left != mirrored else HandSide.LEFT
        else:
            side = HandSide.RIGHT if evidence > 0 else HandSide.LEFT
        return [dataclasses.replace(hand, side=side)]
    first, second = best
    position = sign * POSITION_GAIN * (second.box.center[0] - first.box.center[0]) / image_width
    difference = first.right_log_odds - second.right_log_odds + position
    right, left = (first, second) if difference >= 0 else (second, first)
    return [
        dataclasses.replace(right, side=HandSide.RIGHT, right_log_odds=abs(difference)),
        dataclasses.replace(left, side=HandSide.LEFT, right_log_odds=-abs(difference)),
    ]


VOTE_DECAY = 0.7
"""Each detection frame keeps this much of a track's vote before adding its own evidence:
about the last three detections count."""
VOTE_LIMIT = 6.0
"""|vote| is capped here (99.75 %), so that a confident contradiction (|L| of 7 when the
classifier and chirality agree in both views) can still overturn a settled side."""
FLIP_MARGIN = 2.0
"""A side held with a vote of at least this (88 %) changes only for a vote at least this
strong the other way: hysteresis, so one weak contrary frame cannot swap the hands."""
SETTLED_VOTE = 3.0
"""Below this (95 %) a track's side is not settled, and the tracker runs the detector
again soon to gather evidence."""


def accumulate(previous: float | None, evidence: float) -> float:
    """A track's vote after one more detection frame (`previous` None: a new track)."""
    total = evidence if previous is None else VOTE_DECAY * previous + evidence
    return float(np.clip(total, -VOTE_LIMIT, VOTE_LIMIT))


def keeps_previous_sides(previous_margin: float, new_margin: float) -> bool:
    """Whether a side decided with `previous_margin` (|vote|, or the vote difference of two
    hands) stays when the new votes favour the other side by `new_margin`."""
    return abs(previous_margin) >= FLIP_MARGIN and abs(new_margin) < FLIP_MARGIN
