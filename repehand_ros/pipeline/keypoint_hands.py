"""The keypoint backend: both hands as 21 metric joints from MediaPipe, without RepeHand or MANO.

What runs when the RepeHand checkpoint or the MANO files are not there (they
cannot be downloaded by a script): MediaPipe's hand landmarks, whose models
ship in its wheel, placed in the camera frame with the real intrinsics. No
mesh, no MANO parameters: `vertices` is None and `mano_pose`/`mano_shape`
are zero; the joints, wrist pose, 2D keypoints and validity mean what they
mean for RepeHand, so everything downstream (smoothing, TF, markers,
TwoHandMesh) works unchanged.

Per hand, from one detection with landmarks:

1. Shape. MediaPipe's world landmarks are metric (metres) with their origin
   near the hand's centre and axes aligned with the camera: x right and y
   down as in the image, z away from the camera (nearer is smaller, as for
   MediaPipe's image landmarks). That is the optical frame's orientation, so
   the root-relative joints are the world landmarks minus the wrist's, with
   no change of axes. (Checked on real footage: x and y follow the image
   landmarks, z follows their relative depth, and z as given fits the
   perspective image better than -z.)
2. Position. `place_hand` finds the wrist position that puts those joints,
   through the real camera (intrinsics and distortion), on MediaPipe's 2D
   landmarks: the depth comes from the hand's metric size against its size
   in pixels.
3. Image agreement. The two landmark sets come from different heads of the
   landmark model and disagree by a few pixels; the 2D ones are the better
   localised in the image. Each placed joint is therefore moved, at its
   depth, onto the ray of its 2D landmark: depth and metric scale stay those
   of step 2 (a joint moves sideways by the disagreement, a few millimetres
   at arm's length), and the published joints project onto the landmarks,
   so the skeleton sits on the hand in the image. A hand whose two landmark
   sets disagree by more than `MAX_LANDMARK_DISAGREEMENT` of its size is
   reported invalid instead.
4. Orientation (`wrist_rotation`), from the palm, see `palm_rotation`.

Confidence is the detector's handedness score: MediaPipe gives no other
per-hand score for a detected hand.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from repehand_ros.detection import (
    DetectionConfig,
    HandDetection,
    HandLocator,
    create_hand_locator,
)
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.placement import PlacementError, place_hand, reprojection_errors_px
from repehand_ros.hands import JOINT_NAMES, WRIST, HandSide
from repehand_ros.pipeline.results import (
    MAX_HAND_DEPTH_M,
    MIN_HAND_DEPTH_M,
    HandResult,
    StageTimes,
    TwoHandResult,
)

logger = logging.getLogger(__name__)

KEYPOINT_BACKEND_NAME = "mediapipe-keypoints"
"""TwoHandResult.backend (and TwoHandMesh.backend) of its results."""

INDEX_1 = JOINT_NAMES.index("index_1")
MIDDLE_1 = JOINT_NAMES.index("middle_1")
PINKY_1 = JOINT_NAMES.index("pinky_1")

MAX_LANDMARK_DISAGREEMENT = 0.25
"""Largest mean distance between the placed 3D landmarks' image and the 2D landmarks, as a
fraction of the hand's size in pixels, for a hand to count as valid."""

MIN_PALM_SIZE_M = 1e-3
"""Shortest wrist->middle_1 and index_1->pinky_1 distance, metres, that gives an orientation."""


class DegeneratePalmError(ValueError):
    """The palm's landmarks are too close together, or in line, to give an orientation."""


def palm_rotation(joints: np.ndarray, side: HandSide) -> np.ndarray:
    """The hand's orientation (3, 3) in the joints' frame, a proper rotation, from its palm.

    Columns are the hand's axes:
      x: from the wrist to middle_1 (the knuckle of the middle finger), along the palm
         towards the fingers;
      z: the palm's normal, pointing out of the palm (the side that grasps);
      y: z cross x, across the palm: towards the pinky for the right hand and towards
         the thumb for the left hand (a proper rotation cannot give mirror-image hands
         the same meaning for all three axes; this keeps x and z alike for both).
    y is the direction from index_1 to pinky_1 (from pinky_1 to index_1 for the
    left hand) made orthogonal to x; det is +1 for either hand.
    Raises DegeneratePalmError when the palm gives no orientation.
    """
    joints = np.asarray(joints, dtype=np.float64)
    along = joints[MIDDLE_1] - joints[WRIST]
    across = joints[PINKY_1] - joints[INDEX_1]
    if HandSide(side) is HandSide.LEFT:
        across = -across
    length = float(np.linalg.norm(along))
    if not np.isfinite(length) or length < MIN_PALM_SIZE_M:
        raise DegeneratePalmError("the wrist and middle_1 coincide: no palm direction")
    x = along / length
    across = across - np.dot(across, x) * x
    width = float(np.linalg.norm(across))
    if not np.isfinite(width) or width < MIN_PALM_SIZE_M:
        raise DegeneratePalmError("index_1 and pinky_1 lie on the palm's axis: no palm plane")
    y = across / width
    return np.column_stack([x, y, np.cross(x, y)])


def keypoint_locator(detection: DetectionConfig) -> HandLocator:
    """MediaPipe on every frame: each hand needs this frame's landmarks.

    The configured detector settings (mirroring, threshold, model) are kept;
    a fixed region or the whole image cannot give landmarks, so those modes
    give way to the detector, and tracking (which predicts boxes without
    landmarks) to detection on every frame.
    """
    if detection.mode != "detector":
        logger.warning(
            "the keypoint backend needs MediaPipe's landmarks: detection mode %r is ignored, "
            "the detector runs on the whole image",
            detection.mode,
        )
    return create_hand_locator(keypoint_detection(detection))


def keypoint_detection(detection: DetectionConfig) -> DetectionConfig:
    """The detection the keypoint backend runs for `detection`: MediaPipe on the whole
    image on every frame, with `detection`'s mirroring, threshold and model."""
    return dataclasses.replace(detection, mode="detector", roi=None, tracking=False)


class KeypointHands:
    """Hands found by MediaPipe (with landmarks) to a TwoHandResult in the camera frame:
    the keypoint backend, joints only (`faces` is None)."""

    name = KEYPOINT_BACKEND_NAME
    faces = None
    input_size = None
    """No network, so no crops."""

    def __init__(
        self,
        min_confidence: float,
        depth_range: tuple[float, float] = (MIN_HAND_DEPTH_M, MAX_HAND_DEPTH_M),
    ) -> None:
        """Hands below `min_confidence` or with a wrist depth outside `depth_range`
        (metres) are reported invalid, with the reason."""
        self.min_confidence = min_confidence
        self.depth_range = depth_range

    def hands(
        self, image: np.ndarray, detections: dict[HandSide, HandDetection], camera: PinholeCamera
    ) -> TwoHandResult:
        """Both hands of `detections`; no network, so placing them is all the "MANO" time."""
        started = time.perf_counter()
        hands = {
            side: self.hand(detections[side], camera)
            if side in detections
            else HandResult(side=side, reason="not detected")
            for side in HandSide
        }
        right, left = hands[HandSide.RIGHT], hands[HandSide.LEFT]
        relative = np.zeros(3)
        if right.valid and left.valid:
            relative = left.wrist_position - right.wrist_position
        return TwoHandResult(
            right=right,
            left=left,
            relative_translation=relative,
            backend=KEYPOINT_BACKEND_NAME,
            times=StageTimes(mano_ms=1e3 * (time.perf_counter() - started)),
        )

    def reset(self) -> None:
        """No state between frames."""

    def close(self) -> None:
        """Nothing to free."""

    def hand(self, detection: HandDetection, camera: PinholeCamera) -> HandResult:
        """One hand from its detection; invalid, with the reason, when it cannot be placed."""
        side = detection.side
        if detection.keypoints is None or detection.world_keypoints is None:
            return HandResult(
                side=side,
                reason="no landmarks for this hand (the keypoint backend needs MediaPipe's)",
            )
        if detection.score < self.min_confidence:
            return HandResult(
                side=side,
                reason=f"confidence {detection.score:.2f} below {self.min_confidence:.2f}",
            )
        pixels = detection.keypoints.astype(np.float64)
        world = detection.world_keypoints.astype(np.float64)
        joints_rel = world - world[WRIST]
        try:
            wrist = place_hand(joints_rel, pixels, camera)
        except PlacementError as error:
            return HandResult(side=side, reason=f"placement failed: {error}")
        low, high = self.depth_range
        if not low <= wrist[2] <= high:
            return HandResult(side=side, reason=f"implausible depth {wrist[2]:.2f} m for a hand")
        placed = joints_rel + wrist
        size_px = float(np.ptp(pixels, axis=0).max())
        disagreement = float(np.mean(reprojection_errors_px(placed, pixels, camera))) / size_px
        if not disagreement <= MAX_LANDMARK_DISAGREEMENT:
            return HandResult(
                side=side,
                reason=f"MediaPipe's 2D and 3D landmarks disagree by {disagreement:.0%} of the "
                "hand's size",
            )
        joints = _onto_rays(pixels, placed[:, 2], camera)
        keypoints = camera.project(joints)
        if not np.all(np.isfinite(keypoints)):
            return HandResult(side=side, reason="hand projects outside the camera's view")
        try:
            rotation = palm_rotation(joints, side)
        except DegeneratePalmError as error:
            return HandResult(side=side, reason=f"no hand orientation: {error}")
        low_px, high_px = keypoints.min(axis=0), keypoints.max(axis=0)
        return HandResult(
            side=side,
            valid=True,
            confidence=detection.score,
            side_confidence=detection.side_confidence,
            joints=joints,
            vertices=None,
            wrist_rotation=rotation,
            wrist_position=joints[WRIST],
            keypoints_2d=keypoints,
            box=Box(float(low_px[0]), float(low_px[1]), float(high_px[0]), float(high_px[1])),
        )


def _onto_rays(pixels: np.ndarray, depths: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """The points (N, 3) at `depths` (camera z, metres) on the rays of `pixels` (N, 2)."""
    rays = camera.undistort_points(pixels)
    return np.column_stack([rays * depths[:, None], depths])
