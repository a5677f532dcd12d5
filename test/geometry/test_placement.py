"""Placing hands in the camera frame: known hands at known places come back where they were."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.crop import CropTransform, crop_box_around
from repehand_ros.geometry.placement import (
    PlacementError,
    place_hand,
    place_two_hands,
    reprojection_errors_px,
)
from repehand_ros.hands import BONES, NUM_JOINTS

# A 1280 x 720 camera (a RealSense-like colour stream) with real-looking barrel distortion.
CAMERA = PinholeCamera(
    np.array([[910.0, 0.0, 638.0], [0.0, 907.0, 362.0], [0.0, 0.0, 1.0]]),
    np.array([-0.1, 0.03, 0.0008, -0.0006, 0.0]),
    "plumb_bob",
    1280,
    720,
)

# Where each finger's first joint sits on the palm (metres, fingers along +y),
# the lengths of its three bones, and how much it curls (radians per bone).
_FINGERS = (
    ((0.025, 0.020, 0.010), (0.038, 0.032, 0.026), 0.25, (0.55, 0.83, 0.1)),  # thumb
    ((0.022, 0.085, 0.000), (0.042, 0.025, 0.022), 0.20, (0.0, 1.0, 0.0)),  # index
    ((0.000, 0.090, 0.000), (0.045, 0.028, 0.024), 0.15, (0.0, 1.0, 0.0)),  # middle
    ((-0.020, 0.085, 0.000), (0.042, 0.026, 0.023), 0.25, (0.0, 1.0, 0.0)),  # ring
    ((-0.038, 0.075, 0.000), (0.033, 0.020, 0.020), 0.30, (0.0, 1.0, 0.0)),  # pinky
)


def fixture_hand() -> np.ndarray:
    """A plausible 21-joint hand, wrist at the origin, ~18 cm wrist to middle fingertip."""
    joints = [np.zeros(3)]
    for base, lengths, curl, direction in _FINGERS:
        point = np.array(base)
        joints.append(point.copy())
        heading = np.array(direction) / np.linalg.norm(direction)
        for bone, length in enumerate(lengths, start=1):
            bent = Rotation.from_rotvec([-curl * bone, 0.0, 0.0]).apply(heading)
            point = point + length * bent
            joints.append(point.copy())
    return np.array(joints)


def posed_hand(seed: int) -> np.ndarray:
    """The fixture hand, root-relative, turned to a random orientation."""
    return Rotation.random(random_state=seed).apply(fixture_hand())


def facing_hand(seed: int) -> np.ndarray:
    """The fixture hand with its palm towards the camera, tilted up to 30 degrees, rolled freely."""
    rng = np.random.default_rng(seed)
    axis = np.array([*rng.normal(size=2), 0.0])
    tilt = Rotation.from_rotvec(axis / np.linalg.norm(axis) * rng.uniform(0.0, np.radians(30)))
    roll = Rotation.from_rotvec([0.0, 0.0, rng.uniform(-np.pi, np.pi)])
    return (tilt * roll * Rotation.from_rotvec([np.pi, 0.0, 0.0])).apply(fixture_hand())


def in_view(pixels: np.ndarray) -> bool:
    return bool(np.all((pixels > 0) & (pixels < (CAMERA.width, CAMERA.height))))


def test_fixture_hand_is_a_hand():
    hand = fixture_hand()
    assert hand.shape == (NUM_JOINTS, 3)
    assert np.linalg.norm(hand[12]) == pytest.approx(0.18, abs=0.015)  # middle fingertip
    bones = [np.linalg.norm(hand[child] - hand[parent]) for parent, child in BONES]
    assert min(bones) > 0.015 and max(bones) < 0.1


# Where the hand's centre is put: 0.3 to 1.5 m deep, on the axis and towards the corners.
CENTRES = [
    (0.0, 0.0, 0.3),
    (0.05, -0.04, 0.3),
    (-0.12, 0.05, 0.5),
    (0.2, 0.1, 0.6),
    (0.0, 0.0, 0.8),
    (-0.45, -0.2, 1.0),
    (0.5, 0.3, 1.2),
    (0.0, 0.0, 1.5),
    (0.85, -0.45, 1.5),
    (-0.9, 0.4, 1.5),
]


def _hands_in_view(centre, make_hand=posed_hand, count: int = 5):
    """`count` (hand, wrist position, pixels) with the hand's centre at `centre`, all in view."""
    found, seed = [], 0
    while len(found) < count:
        hand = make_hand(seed)
        wrist = np.asarray(centre) - hand.mean(axis=0)
        pixels = CAMERA.project(hand + wrist)
        if in_view(pixels):
            found.append((hand, wrist, pixels))
        seed += 1
        assert seed < 2000, f"no hand fits the view at {centre}"
    return found


@pytest.mark.parametrize("centre", CENTRES)
def test_recovers_the_hand_position_within_1_cm_from_0_3_to_1_5_m(centre):
    for hand, wrist, pixels in _hands_in_view(centre):
        found = place_hand(hand, pixels, CAMERA)
        assert np.linalg.norm(found - wrist) < 1e-3, (found, wrist)  # 1 cm asked: 1 mm given


@pytest.mark.parametrize("centre", [c for c in CENTRES if c[2] <= 0.8])
def test_with_1_px_noise_within_1_cm_out_to_0_8_m(centre):
    for seed, (hand, wrist, pixels) in enumerate(_hands_in_view(centre, facing_hand)):
        noisy = pixels + np.random.default_rng(seed).normal(scale=1.0, size=pixels.shape)
        found = place_hand(hand, noisy, CAMERA)
        assert np.linalg.norm(found - wrist) < 0.01, (seed, found, wrist)


@pytest.mark.parametrize("centre", [c for c in CENTRES if c[2] > 0.8])
def test_with_1_px_noise_farther_the_position_is_unbiased(centre):
    """Depth comes from the hand's size in pixels, so its noise grows like z^2 / f: at
    1.5 m one frame with 1 px noise is good to about 1.5 cm, but unbiased, and the
    direction to the wrist stays within a tenth of a degree."""
    errors, angles = [], []
    for seed, (hand, wrist, pixels) in enumerate(_hands_in_view(centre, facing_hand, 40)):
        noisy = pixels + np.random.default_rng(seed).normal(scale=1.0, size=pixels.shape)
        found = place_hand(hand, noisy, CAMERA)
        errors.append(found - wrist)
        cosine = found @ wrist / (np.linalg.norm(found) * np.linalg.norm(wrist))
        angles.append(np.degrees(np.arccos(min(cosine, 1.0))))
    errors = np.array(errors)
    assert np.linalg.norm(errors.mean(axis=0)) < 0.01
    assert np.sqrt(np.mean(np.sum(errors**2, axis=1))) < 0.02
    assert max(angles) < 0.25


def test_exact_keypoints_give_the_exact_position():
    truth = np.array([0.2, -0.1, 0.7])
    hand = posed_hand(7)
    found = place_hand(hand, CAMERA.project(hand + truth), CAMERA)
    np.testing.assert_allclose(found, truth, atol=1e-6)
    assert np.max(reprojection_errors_px(hand + found, CAMERA.project(hand + truth), CAMERA)) < 1e-3


def test_ignoring_distortion_would_miss():
    """The distortion matters at the image edge: the undistorted solve is what makes 1 cm."""
    hand, truth, pixels = _hands_in_view(CENTRES[-1], count=1)[0]
    pinhole = PinholeCamera(CAMERA.k, np.zeros(5), "plumb_bob", CAMERA.width, CAMERA.height)
    assert np.linalg.norm(place_hand(hand, pixels, pinhole) - truth) > 0.02
    assert np.linalg.norm(place_hand(hand, pixels, CAMERA) - truth) < 1e-6


def test_zero_weights_ignore_wrong_keypoints():
    truth = np.array([-0.1, 0.05, 0.6])
    hand = posed_hand(4)
    pixels = CAMERA.project(hand + truth)
    pixels[[4, 8, 20]] += 80.0  # three fingertips badly wrong
    weights = np.ones(NUM_JOINTS)
    weights[[4, 8, 20]] = 0.0
    assert np.linalg.norm(place_hand(hand, pixels, CAMERA) - truth) > 0.01
    np.testing.assert_allclose(place_hand(hand, pixels, CAMERA, weights), truth, atol=1e-6)


def test_weak_perspective_output_of_the_network_lands_the_hand():
    """The network's 2D output, weak perspective in the crop's heatmap cells, through the crop."""
    truth = np.array([0.08, -0.05, 0.5])
    for seed in range(5):
        hand = posed_hand(seed)
        seen = CAMERA.project(hand + truth)  # where the hand is in the (distorted) image
        crop = CropTransform(crop_box_around([Box(*seen.min(axis=0), *seen.max(axis=0))]), 224)
        in_cells = crop.to_crop(seen) / 32.0
        # The network's weak-perspective camera: the best (s, tx, ty) with X * s + t ~ cells.
        design = np.zeros((2 * NUM_JOINTS, 3))
        design[:NUM_JOINTS, 0], design[NUM_JOINTS:, 0] = hand[:, 0], hand[:, 1]
        design[:NUM_JOINTS, 1], design[NUM_JOINTS:, 2] = 1.0, 1.0
        (scale, tx, ty), *_ = np.linalg.lstsq(design, in_cells.T.ravel(), rcond=None)
        network_2d = hand[:, :2] * scale + (tx, ty)
        found = place_hand(hand, crop.heatmap_to_image(network_2d, 7), CAMERA)
        # Within 5 mm here; reading cell i as its centre (i + 0.5) * 32 would miss by 1.3-2.5 cm.
        assert np.linalg.norm(found - truth) < 0.01, (seed, found, truth)


def test_two_hands_in_one_crop_agree_with_the_relative_translation():
    right_at, left_at = np.array([0.12, 0.05, 0.55]), np.array([-0.1, 0.03, 0.6])
    right, left = posed_hand(10), posed_hand(11) * (-1.0, 1.0, 1.0)  # a mirrored left hand
    rng = np.random.default_rng(5)
    right_px = CAMERA.project(right + right_at) + rng.normal(size=(NUM_JOINTS, 2))
    left_px = CAMERA.project(left + left_at) + rng.normal(size=(NUM_JOINTS, 2))

    relative = left_at - right_at
    found_right, found_left = place_two_hands(right, right_px, left, left_px, CAMERA, relative)
    assert np.linalg.norm(found_right - right_at) < 0.01
    assert np.linalg.norm(found_left - left_at) < 0.01
    np.testing.assert_allclose(found_left - found_right, relative, atol=1e-12)

    off = relative + np.array([0.02, -0.01, 0.03])  # the network's estimate is never exact
    found_right, found_left = place_two_hands(right, right_px, left, left_px, CAMERA, off)
    np.testing.assert_allclose(found_left - found_right, off, atol=1e-12)


def test_two_hands_cropped_apart_are_placed_independently():
    right_at, left_at = np.array([0.35, 0.1, 0.9]), np.array([-0.35, -0.1, 0.9])
    right, left = posed_hand(12), posed_hand(13) * (-1.0, 1.0, 1.0)
    right_px, left_px = CAMERA.project(right + right_at), CAMERA.project(left + left_at)
    found_right, found_left = place_two_hands(right, right_px, left, left_px, CAMERA)
    np.testing.assert_allclose(found_right, place_hand(right, right_px, CAMERA))
    np.testing.assert_allclose(found_left, left_at, atol=1e-6)
    np.testing.assert_allclose(found_left - found_right, left_at - right_at, atol=1e-6)


def test_keypoints_on_one_point_give_no_depth():
    with pytest.raises(PlacementError, match="one point"):
        place_hand(posed_hand(0), np.full((NUM_JOINTS, 2), 300.0), CAMERA)
    with pytest.raises(PlacementError, match="one point"):
        place_hand(
            np.zeros((NUM_JOINTS, 3)),
            CAMERA.project(posed_hand(0) + np.array([0.0, 0.0, 1.0])),
            CAMERA,
        )


def test_a_fit_behind_the_camera_is_refused():
    """Keypoints turned half a turn about the hand's centre fit only a hand behind the camera."""
    hand = posed_hand(1)
    pixels = CAMERA.project(hand + np.array([0.0, 0.0, 0.6]))
    mirrored = 2.0 * pixels.mean(axis=0) - pixels
    with pytest.raises(PlacementError, match="not in front of the camera"):
        place_hand(hand, mirrored, CAMERA)


@pytest.mark.parametrize(
    "joints, pixels, weights, message",
    [
        (np.zeros((21, 2)), np.zeros((21, 2)), None, "joints must be"),
        (posed_hand(0), np.zeros((20, 2)), None, "keypoints must be"),
        (posed_hand(0), np.full((21, 2), np.nan), None, "NaN"),
        (posed_hand(0), np.zeros((21, 2)), np.full(21, -1.0), "weights"),
        (posed_hand(0), np.zeros((21, 2)), np.eye(21)[0], "at least two joints"),
    ],
)
def test_bad_input_is_refused_clearly(joints, pixels, weights, message):
    with pytest.raises(PlacementError, match=message):
        place_hand(joints, pixels, CAMERA, weights)
