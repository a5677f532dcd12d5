"""Which hand is which: evidence from chirality, the classifier and position; the mirror."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from repehand_ros.detection import DetectionSource, DuplicateRules, HandDetection
from repehand_ros.detection.box_ops import box_around_points
from repehand_ros.detection.handedness import (
    CHIRALITY_MAX,
    CLASSIFIER_MAX_SCORE,
    FLIP_MARGIN,
    VOTE_LIMIT,
    accumulate,
    assign_sides,
    chirality,
    chirality_log_odds,
    classifier_log_odds,
    combine_views,
    keeps_previous_sides,
    mirrored_detection,
    probability,
)
from repehand_ros.hands import JOINT_NAMES, WRIST, HandSide

RIGHT, LEFT = HandSide.RIGHT, HandSide.LEFT
WIDTH = 640
MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def right_hand_world(curl_deg: float = 40.0) -> np.ndarray:
    """(21, 3) metres, camera axes (x right, y down, z forward): a right hand, palm to the
    camera, fingers up, so its index is on the image's right and its thumb beyond it; the
    fingers flex by `curl_deg` per joint towards the palm, that is towards the camera."""
    joints = np.zeros((len(JOINT_NAMES), 3))
    knuckle_x = {"index": 0.03, "middle": 0.01, "ring": -0.01, "pinky": -0.03}
    for finger, x in knuckle_x.items():
        point = np.array([x, -0.09, 0.0])
        joints[JOINT_NAMES.index(f"{finger}_1")] = point
        for k in (2, 3, 4):
            angle = np.radians(curl_deg * (k - 1))
            point = point + 0.03 * np.array([0.0, -np.cos(angle), -np.sin(angle)])
            joints[JOINT_NAMES.index(f"{finger}_{k}")] = point
    for k in range(1, 5):
        joints[JOINT_NAMES.index(f"thumb_{k}")] = [0.02 + 0.02 * k, -0.02 * k, -0.01 * k]
    joints[WRIST] = 0.0
    return joints - joints.mean(axis=0)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_a_right_hand_has_positive_chirality_in_any_orientation_and_its_mirror_negative():
    rng = np.random.default_rng(7)
    hand = right_hand_world()
    value = chirality(hand)
    assert value > 0.15
    for _ in range(20):
        rotation = random_rotation(rng)
        assert chirality(hand @ rotation.T) == pytest.approx(value)
        assert chirality(hand @ MIRROR_X.T @ rotation.T) == pytest.approx(-value)
    # Scale is divided out: a child's hand is as right as an adult's.
    assert chirality(0.6 * hand) == pytest.approx(value)


def test_a_flat_or_degenerate_hand_gives_no_chirality_evidence():
    assert abs(chirality(right_hand_world(curl_deg=0.0))) < 0.02
    assert chirality(np.zeros((21, 3))) == 0.0
    assert chirality(np.full((21, 3), np.nan)) == 0.0
    collapsed = right_hand_world()
    collapsed[:, 2] = 0.0
    collapsed[:, 0] = 0.0  # every joint on one line: no palm plane
    assert chirality(collapsed) == 0.0


def test_chirality_evidence_is_capped():
    curled = right_hand_world(curl_deg=45.0)
    assert chirality_log_odds(curled) == pytest.approx(CHIRALITY_MAX)
    assert chirality_log_odds(curled @ MIRROR_X) == pytest.approx(-CHIRALITY_MAX)


def test_the_classifier_counts_but_no_single_answer_outweighs_clear_chirality():
    assert classifier_log_odds(True, 0.8) == pytest.approx(np.log(4.0))
    assert classifier_log_odds(False, 0.8) == pytest.approx(-np.log(4.0))
    certain = classifier_log_odds(True, 1.0)
    assert certain == pytest.approx(np.log(CLASSIFIER_MAX_SCORE / (1 - CLASSIFIER_MAX_SCORE)))
    assert certain < CHIRALITY_MAX
    assert classifier_log_odds(True, 0.3) == 0.0
    assert probability(0.0) == 0.5 and probability(np.log(3.0)) == pytest.approx(0.75)


def detection(
    cx: float, evidence: float, score: float = 0.9, side: HandSide = RIGHT, seed: int = 0
) -> HandDetection:
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(-40, 40, (21, 2)) + np.array([cx, 240.0])
    return HandDetection(
        side,
        box_around_points(keypoints, 1.2),
        score,
        DetectionSource.DETECTOR,
        keypoints,
        world_keypoints=right_hand_world(),
        right_log_odds=evidence,
    )


def test_a_mirrored_detection_is_the_other_hand_at_the_mirrored_place():
    hand = detection(150.0, 2.5)
    mirrored = mirrored_detection(hand, WIDTH)
    assert mirrored.side is LEFT and mirrored.right_log_odds == -2.5
    assert mirrored.keypoints is not None and hand.keypoints is not None
    np.testing.assert_allclose(mirrored.keypoints[:, 0], WIDTH - 1 - hand.keypoints[:, 0])
    assert mirrored.box.center[0] == pytest.approx(WIDTH - 1 - hand.box.center[0])
    assert mirrored.world_keypoints is not None
    assert chirality(mirrored.world_keypoints) == pytest.approx(-chirality(right_hand_world()))
    back = mirrored_detection(mirrored, WIDTH)
    np.testing.assert_allclose(back.keypoints, hand.keypoints, atol=1e-3)
    assert back.side is RIGHT and back.right_log_odds == 2.5


def test_both_views_are_averaged_and_swapping_them_mirrors_the_answer():
    # What the detector saw in the image and (carried back) in its mirror: a hand the
    # views disagree on, a hand both see alike, and one only the mirror found.
    direct = [detection(150.0, 1.0, seed=1), detection(450.0, -3.0, seed=2)]
    mirrored_back = [
        dataclasses.replace(direct[1], right_log_odds=-5.0, score=0.95),
        dataclasses.replace(direct[0], right_log_odds=-2.0),
        detection(300.0, 4.0, seed=3),
    ]
    rules = DuplicateRules()
    combined = combine_views(direct, mirrored_back, rules)
    assert [hand.right_log_odds for hand in combined] == pytest.approx([-0.5, -4.0, 2.0])
    assert [hand.score for hand in combined] == pytest.approx([0.9, 0.95, 0.9])
    # The mirrored image: its direct view is this image's mirror view, and vice versa.
    flipped = combine_views(
        [mirrored_detection(hand, WIDTH) for hand in mirrored_back],
        [mirrored_detection(hand, WIDTH) for hand in direct],
        rules,
    )
    back = sorted(
        (mirrored_detection(hand, WIDTH) for hand in flipped), key=lambda h: h.box.center[0]
    )
    ordered = sorted(combined, key=lambda h: h.box.center[0])
    assert [h.right_log_odds for h in back] == pytest.approx([h.right_log_odds for h in ordered])


def test_one_hand_takes_the_side_its_evidence_favours():
    (hand,) = assign_sides([detection(150.0, -1.2)], mirrored=False, image_width=WIDTH)
    assert hand.side is LEFT and hand.right_log_odds == -1.2
    assert hand.side_confidence == pytest.approx(probability(1.2))
    (hand,) = assign_sides([detection(150.0, -1.2)], mirrored=True, image_width=WIDTH)
    assert hand.side is RIGHT and hand.right_log_odds == 1.2


def test_one_hand_without_evidence_takes_the_side_its_position_suggests():
    # Facing a normal camera, a person's right hand is usually on the image's left.
    (hand,) = assign_sides([detection(150.0, 0.0, side=LEFT)], mirrored=False, image_width=WIDTH)
    assert hand.side is RIGHT and hand.side_confidence == 0.5
    (hand,) = assign_sides([detection(150.0, 0.0)], mirrored=True, image_width=WIDTH)
    assert hand.side is LEFT


def test_two_hands_are_one_right_and_one_left_position_breaking_weak_evidence():
    on_left, on_right = detection(100.0, 0.3, seed=1), detection(540.0, 0.5, seed=2)
    right, left = assign_sides([on_right, on_left], mirrored=False, image_width=WIDTH)
    assert (right.side, left.side) == (RIGHT, LEFT)
    assert right.box.center[0] < left.box.center[0]
    assert right.right_log_odds == -left.right_log_odds > 0
    assert right.side_confidence == left.side_confidence > 0.5
    right, left = assign_sides([on_right, on_left], mirrored=True, image_width=WIDTH)
    assert right.box.center[0] > left.box.center[0]


def test_crossed_hands_keep_their_sides_when_the_evidence_is_clear():
    # The person's right hand crossed over to the image's right: chirality and the
    # classifier say so, position says otherwise and weighs little.
    crossed_right, crossed_left = detection(540.0, 5.0, seed=1), detection(100.0, -5.0, seed=2)
    right, left = assign_sides([crossed_left, crossed_right], mirrored=False, image_width=WIDTH)
    assert right.box.center[0] > left.box.center[0]
    assert right.side_confidence > 0.99


def test_more_than_two_hands_keep_the_two_best_scores():
    hands = [
        detection(100.0, 2.0, score=0.9, seed=1),
        detection(300.0, 2.0, score=0.4, seed=2),
        detection(540.0, -2.0, score=0.8, seed=3),
    ]
    kept = assign_sides(hands, mirrored=False, image_width=WIDTH)
    assert sorted(hand.score for hand in kept) == [0.8, 0.9]
    assert [hand.side for hand in kept] == [RIGHT, LEFT]
    assert assign_sides([], mirrored=False, image_width=WIDTH) == []


def test_a_vote_accumulates_decays_and_is_capped():
    vote = accumulate(None, 2.0)
    assert vote == 2.0
    for _ in range(20):
        vote = accumulate(vote, 4.0)
    assert vote == VOTE_LIMIT
    # A run of contrary frames turns it, one at a time.
    assert accumulate(vote, -1.0) > 0
    assert accumulate(accumulate(accumulate(vote, -4.0), -4.0), -4.0) < 0


def test_hysteresis_keeps_a_confident_side_against_weak_contrary_votes_only():
    assert keeps_previous_sides(4.0, -1.0)
    assert not keeps_previous_sides(4.0, -FLIP_MARGIN)
    assert not keeps_previous_sides(1.0, -0.5)  # an unsure side may change freely
