r"""Putting the network's hands into the camera frame, in metres.

The network gives, per hand, root-relative 3D joints J_i = (X_i, Y_i, Z_i)
(metres: the joints regressed from the MANO mesh minus the regressed wrist,
axes aligned with the camera's optical frame) and a weak-perspective camera
(s, tx, ty) in heatmap cells of the crop. It does not say where the hand is.
This module finds the wrist position T such that the perspective image of
J_i + T, through the real camera, lands on the hand's 2D keypoints.

Derivation.

1. The keypoints. The official model trained its camera to project the
   joints in MANO's own frame, before the wrist was subtracted: with R the
   wrist in MANO's frame (`ManoHandOutput.root`, about 0.1 m from MANO's
   origin), x_i = s (X_i + R_x) + tx, y_i = s (Y_i + R_y) + ty, in heatmap
   cells. (Projecting J_i alone shifts every keypoint by s R: tens of crop
   pixels, in opposite directions for the two hands, which puts the hands
   about 10 cm sideways.) Crop pixels are input_size / heatmap_size = 32
   times the cells (crop.heatmap_to_crop_pixels), and the crop is a scaling
   of the image with a crop pixels per image pixel (crop.CropTransform), so
   in image pixels the hand appears at m = 32 s / a pixels per metre. These
   keypoints, mapped into the image, are what this module is given; the
   shift s R is a 2D offset inside them and does not enter below.
2. Image pixels to rays. A pinhole camera sees P = J_i + T at pixel
   f (P_x / P_z) + c, then the lens distorts it. Undistorting each keypoint
   with the real K and distortion coefficients (PinholeCamera.undistort_points)
   gives its normalised ray (u_i, v_i) = ((X_i + Tx) / (Z_i + Tz),
   (Y_i + Ty) / (Z_i + Tz)).
3. Linear system. Multiplying out the denominators gives two equations per
   joint, linear in T:

       Tx - u_i Tz = u_i Z_i - X_i
       Ty - v_i Tz = v_i Z_i - Y_i

   42 equations, 3 unknowns: weighted linear least squares. The residual of
   these equations is the ray error times the joint's depth Z_i + Tz; solving
   again with each joint's rows divided by its depth from the previous
   solution makes the fit minimise the error of the rays themselves (angles,
   i.e. pixels / f), which is what keypoint noise is.
4. Where depth comes from. Subtracting two joints' equations gives
   Tz ~ (X_i - X_j) / (u_i - u_j) = f |hand in metres| / |hand in pixels|:
   the hand's size in metres (MANO, with its predicted shape) against its
   size in the image. The weak-perspective scale is the same ratio in crop
   units (Tz ~ f a / (32 s)), but solving from the keypoints uses the real
   principal point, distortion and the perspective of a hand off the optical
   axis, for any crop. The hand's metric size is the only depth cue: a shape
   that makes the hand 10% too big puts it 10% too far away.

Two hands in one crop share one network pass that also predicts r, the left
wrist relative to the right (metres). Substituting T_left = T_right + r turns
the left hand's equations into those of the joints J_i + r, so one system of
84 equations gives T_right and the relative translation agrees with the two
wrists by construction (`place_two_hands` with `relative_translation`).
Hands cropped separately have no shared r: each is placed on its own and the
relative translation is T_left - T_right.
"""

from __future__ import annotations

import numpy as np

from repehand_ros.geometry.camera import PinholeCamera

MIN_DEPTH = 0.05
"""Closest a joint may be to the camera, metres; nearer means the fit failed."""

MIN_KEYPOINT_SPREAD_PX = 1.0
"""Smallest RMS spread of the keypoints around their mean, pixels, that still gives a depth."""

MIN_JOINT_SPREAD = 1e-3
"""Smallest RMS spread of the 3D joints around their mean, metres."""

_REFINEMENTS = 2


class PlacementError(ValueError):
    """The keypoints and joints cannot give a position (degenerate, or behind the camera)."""


def place_hand(
    joints_rel: np.ndarray,
    keypoints_px: np.ndarray,
    camera: PinholeCamera,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The wrist position T (3,), camera frame, metres, that puts `joints_rel + T` on the keypoints.

    joints_rel: (N, 3) root-relative joints, metres, camera-aligned axes.
    keypoints_px: (N, 2) the same joints in the (distorted) image, pixels.
    weights: (N,) per-joint confidence >= 0 (0 ignores a joint); default all 1.
    Raises PlacementError when the input cannot give a position.
    """
    joints, pixels, joint_weights = _checked(joints_rel, keypoints_px, weights, "hand")
    return _solve(joints, pixels, joint_weights, camera)


def place_two_hands(
    right_rel: np.ndarray,
    right_px: np.ndarray,
    left_rel: np.ndarray,
    left_px: np.ndarray,
    camera: PinholeCamera,
    relative_translation: np.ndarray | None = None,
    right_weights: np.ndarray | None = None,
    left_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Both wrist positions (T_right, T_left), camera frame, metres.

    With `relative_translation` r (3,) (the network's left wrist minus right
    wrist, from one crop around both hands) the two hands are solved jointly
    with T_left = T_right + r exactly. Without it (each hand from its own
    crop) each hand is placed alone, and T_left - T_right is the relative
    translation. Arguments per hand are as in `place_hand`.
    """
    right_joints, right_pixels, right_w = _checked(right_rel, right_px, right_weights, "right")
    left_joints, left_pixels, left_w = _checked(left_rel, left_px, left_weights, "left")
    if relative_translation is None:
        return (
            _solve(right_joints, right_pixels, right_w, camera),
            _solve(left_joints, left_pixels, left_w, camera),
        )
    offset = np.asarray(relative_translation, dtype=np.float64)
    if offset.shape != (3,) or not np.all(np.isfinite(offset)):
        raise PlacementError(
            f"relative_translation must be 3 finite numbers, got {np.asarray(offset).tolist()}"
        )
    right = _solve(
        np.concatenate([right_joints, left_joints + offset]),
        np.concatenate([right_pixels, left_pixels]),
        np.concatenate([right_w, left_w]),
        camera,
    )
    return right, right + offset


def reprojection_errors_px(
    joints_camera: np.ndarray, keypoints_px: np.ndarray, camera: PinholeCamera
) -> np.ndarray:
    """Per-joint distance (N,) in pixels between the placed joints' image and the keypoints.

    A plausibility measure for the result: large values mean the 3D hand and
    its 2D keypoints disagree. Joints behind the camera give infinity.
    """
    projected = camera.project(np.asarray(joints_camera, dtype=np.float64))
    errors = np.linalg.norm(projected - np.asarray(keypoints_px, dtype=np.float64), axis=1)
    return np.where(np.isnan(errors), np.inf, errors)


def _checked(
    joints_rel: np.ndarray, keypoints_px: np.ndarray, weights: np.ndarray | None, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    joints = np.asarray(joints_rel, dtype=np.float64)
    pixels = np.asarray(keypoints_px, dtype=np.float64)
    if joints.ndim != 2 or joints.shape[1] != 3:
        raise PlacementError(f"{name}: joints must be (N, 3), got {joints.shape}")
    if pixels.shape != (len(joints), 2):
        raise PlacementError(f"{name}: keypoints must be ({len(joints)}, 2), got {pixels.shape}")
    if weights is None:
        joint_weights = np.ones(len(joints))
    else:
        joint_weights = np.asarray(weights, dtype=np.float64)
        if joint_weights.shape != (len(joints),):
            raise PlacementError(
                f"{name}: weights must be ({len(joints)},), got {joint_weights.shape}"
            )
        if not np.all(np.isfinite(joint_weights)) or np.any(joint_weights < 0):
            raise PlacementError(f"{name}: weights must be finite and >= 0")
    used = joint_weights > 0
    if not (np.all(np.isfinite(joints[used])) and np.all(np.isfinite(pixels[used]))):
        raise PlacementError(f"{name}: joints or keypoints contain NaN or infinity")
    if np.count_nonzero(used) < 2:
        raise PlacementError(f"{name}: need at least two joints with weight > 0")
    if _weighted_spread(pixels, joint_weights) < MIN_KEYPOINT_SPREAD_PX:
        raise PlacementError(f"{name}: the keypoints collapse to one point: no depth from them")
    if _weighted_spread(joints, joint_weights) < MIN_JOINT_SPREAD:
        raise PlacementError(f"{name}: the 3D joints collapse to one point: no depth from them")
    return joints, pixels, joint_weights


def _weighted_spread(points: np.ndarray, weights: np.ndarray) -> float:
    used = weights > 0
    points, weights = points[used], weights[used]
    mean = np.average(points, axis=0, weights=weights)
    return float(np.sqrt(np.average(np.sum((points - mean) ** 2, axis=1), weights=weights)))


def _solve(
    joints: np.ndarray, pixels: np.ndarray, weights: np.ndarray, camera: PinholeCamera
) -> np.ndarray:
    used = weights > 0
    joints, weights = joints[used], weights[used]
    rays = camera.undistort_points(pixels[used])
    u, v = rays[:, 0], rays[:, 1]
    ones, zeros = np.ones_like(u), np.zeros_like(u)
    # Rows per joint: [1, 0, -u] . T = u Z - X and [0, 1, -v] . T = v Z - Y.
    design = np.concatenate(
        [np.stack([ones, zeros, -u], axis=1), np.stack([zeros, ones, -v], axis=1)]
    )
    target = np.concatenate([u * joints[:, 2] - joints[:, 0], v * joints[:, 2] - joints[:, 1]])
    row_weights = np.sqrt(weights)
    translation = _least_squares(design, target, np.concatenate([row_weights, row_weights]))
    for _ in range(_REFINEMENTS):
        depths = joints[:, 2] + translation[2]
        if np.min(depths) <= MIN_DEPTH:
            break
        scaled = row_weights / depths
        translation = _least_squares(design, target, np.concatenate([scaled, scaled]))
    nearest = float(np.min(joints[:, 2] + translation[2]))
    if nearest <= MIN_DEPTH:
        raise PlacementError(
            f"the fitted hand is not in front of the camera (nearest joint at {nearest:.3f} m)"
        )
    return translation


def _least_squares(design: np.ndarray, target: np.ndarray, row_weights: np.ndarray) -> np.ndarray:
    solution, _, rank, singular = np.linalg.lstsq(
        design * row_weights[:, None], target * row_weights, rcond=None
    )
    if rank < 3 or singular[-1] < 1e-9 * singular[0]:
        raise PlacementError("the keypoints do not determine a position (degenerate system)")
    return solution
