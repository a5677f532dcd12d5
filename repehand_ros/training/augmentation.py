"""From an annotated image to one training sample: crop, the paper's augmentation, targets.

A `TrainingRecord` is what a dataset reader provides for one image (both
hands, camera frame, metres). `make_training_sample` turns it into what the
network and the losses see (`TrainingSample`, a dict of float32 arrays):

- the 224 x 224 crop of the box around both hands, enlarged by 1.25 as at
  inference (`repehand_ros.geometry.crop`), warped once by a single affine
  transform that also carries the augmentation's scale and rotation;
- per hand: 2D/depth joint targets in heatmap cells, root-relative 3D joints
  in metres, MANO pose (root + 15 joints, axis-angle) and shape, with masks;
- the left wrist relative to the right wrist, in metres.

Augmentation (the paper: scale 0.25, rotation 30 degrees for 60 % of the
samples, colour 0.2, horizontal flip), sampled as the official code base does:
scale factor 1 + 0.25 * clip(N(0, 1), -1, 1) on the crop box's side (above 1
the hands look smaller); rotation 30 * clip(N(0, 1), -2, 2) degrees with
probability 0.6, else none; each RGB channel multiplied by U(0.8, 1.2); flip
with probability 0.5 (`flip_sample`, which swaps the hands).

Rotating the crop by theta about its centre is treated as rotating the camera
about its optical axis: 3D joints, the relative translation and each hand's
MANO root orientation are rotated by the same angle about the camera z axis
(image and camera axes are both x right, y down, so it is the same 2x2
matrix). This is exact for rotation about the principal point and the usual
approximation for the crop centre.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import CROP_SCALE, CropTransform, crop_box_around
from repehand_ros.mano.joints import NUM_JOINTS, WRIST
from repehand_ros.model.variants import HEATMAP_SIZE, INPUT_SIZE

HANDS: tuple[str, str] = ("right", "left")
"""Hand order of every (2, ...) array in a `TrainingRecord`: right first."""

NUM_POSE_PARAMS = 48
"""MANO pose per hand: root orientation (3) then 15 finger joints (45), axis-angle."""

NUM_SHAPE_PARAMS = 10

DEPTH_RANGE_M = 0.3
"""Depth span of the heatmap grid around each wrist, metres (-0.15 .. +0.15 m)."""

CELL_PIXELS = INPUT_SIZE / HEATMAP_SIZE
"""Crop pixels per heatmap cell (32): cell index i means crop pixel i * 32 (see geometry.crop)."""

TrainingSample = dict[str, np.ndarray]
"""One training sample: `image` (3, 224, 224) in [0, 1] plus the targets of `SAMPLE_KEYS`."""

HAND_KEYS: tuple[str, ...] = (
    "joint_img",  # (21, 3) x, y in heatmap cells of the crop, z depth cell around the wrist
    "joint_img_valid",  # (21,) annotated and inside the 7x7x7 grid (heatmap-coordinate loss)
    "joint_proj_valid",  # (21,) annotated and x, y inside the grid (2D projection loss)
    "joint_cam",  # (21, 3) metres, camera axes, relative to the wrist
    "joint_valid",  # (21,) annotated (and the wrist too, which the joints are relative to)
    "mano_pose",  # (48,) axis-angle, root orientation in the camera frame
    "mano_shape",  # (10,)
    "mano_valid",  # () 1 where MANO parameters are annotated
)
"""Per-hand keys of a sample; each appears as `right_<key>` and `left_<key>`."""

SAMPLE_KEYS: tuple[str, ...] = (
    "image",
    *(f"{hand}_{key}" for hand in HANDS for key in HAND_KEYS),
    "rel_trans",  # (3,) left wrist minus right wrist, metres, camera axes
    "rel_trans_valid",  # () 1 where both wrists are annotated
)


class RecordError(ValueError):
    """A dataset record that cannot be turned into a training sample."""


@dataclass
class TrainingRecord:
    """One annotated image with both hands, as a dataset reader provides it.

    Every (2, ...) array is right hand first, then left; joints are in
    `repehand_ros.mano.joints.JOINT_NAMES` order. A hand that is absent has
    all-zero valid flags (its values are ignored).

    Attributes:
        image: (H, W, 3) uint8 RGB image, or the path of an image file.
        joints_img: (2, 21, 2) joint positions in image pixels (OpenCV convention).
        joints_cam: (2, 21, 3) joint positions in the camera frame, metres.
        joints_valid: (2, 21) 1 for annotated joints.
        mano_pose: (2, 48) MANO pose, axis-angle, root orientation in the camera frame.
        mano_shape: (2, 10) MANO shape coefficients.
        mano_valid: (2,) 1 where the hand's MANO parameters are annotated.
        hand_boxes: optional (2, 4) boxes (x_min, y_min, x_max, y_max) in image pixels;
            when absent, the box of each hand's annotated 2D joints is used.
    """

    image: np.ndarray | str | Path
    joints_img: np.ndarray
    joints_cam: np.ndarray
    joints_valid: np.ndarray
    mano_pose: np.ndarray
    mano_shape: np.ndarray
    mano_valid: np.ndarray
    hand_boxes: np.ndarray | None = None


@dataclass(frozen=True)
class AugmentationConfig:
    """The paper's augmentation strengths; `enabled=False` gives the plain crop (evaluation)."""

    scale: float = 0.25
    rotation_deg: float = 30.0
    rotation_prob: float = 0.6
    colour: float = 0.2
    flip_prob: float = 0.5
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in ("scale", "rotation_deg", "colour"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"augmentation {name} must be >= 0, got {value}")
        if self.scale >= 1:
            raise ValueError(f"augmentation scale must be < 1 (box side factor), got {self.scale}")
        if self.colour >= 1:
            raise ValueError(f"augmentation colour must be < 1, got {self.colour}")
        for name in ("rotation_prob", "flip_prob"):
            value = getattr(self, name)
            if not (0 <= value <= 1):
                raise ValueError(f"augmentation {name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class AugmentationParams:
    """One draw of the augmentation: box side factor, rotation, flip, per-channel colour gain."""

    scale: float = 1.0
    rotation_deg: float = 0.0
    flip: bool = False
    colour: tuple[float, float, float] = field(default=(1.0, 1.0, 1.0))


def sample_augmentation(rng: np.random.Generator, config: AugmentationConfig) -> AugmentationParams:
    """Draws the augmentation of one sample (see the module docstring for the distributions)."""
    if not config.enabled:
        return AugmentationParams()
    scale = 1.0 + config.scale * float(np.clip(rng.standard_normal(), -1.0, 1.0))
    rotate = rng.random() < config.rotation_prob
    rotation = config.rotation_deg * float(np.clip(rng.standard_normal(), -2.0, 2.0))
    flip = bool(rng.random() < config.flip_prob)
    low, high = 1.0 - config.colour, 1.0 + config.colour
    colour = tuple(float(c) for c in rng.uniform(low, high, size=3))
    return AugmentationParams(scale, rotation if rotate else 0.0, flip, colour)  # type: ignore[arg-type]


def mirror_mano_pose(pose: np.ndarray) -> np.ndarray:
    """The MANO pose (..., 48) of the mirror image of a hand: (x, y, z) -> (x, -y, -z) per joint.

    A mirror through the camera's y-z plane is M = diag(-1, 1, 1); it maps a
    rotation R to M R M. An axis-angle vector is a pseudovector, so it maps to
    det(M) M a = (a_x, -a_y, -a_z), angle unchanged. MANO's left model is the
    mirror image (x -> -x) of the right one with the same joint order, so the
    mirrored pose of a right hand is the pose of the left hand seen in the
    flipped image, and vice versa. With `flat_hand_mean=False` the layer adds
    each model's mean pose; MANO's left mean is the mirror of the right mean,
    so mirroring the pose relative to the mean mirrors the full pose too.
    The shape coefficients are unchanged (the left model's known shape-direction
    bug is fixed in `repehand_ros.mano.layer.ManoPair`).
    """
    pose = np.asarray(pose, dtype=np.float32)
    signs = np.tile(np.array([1.0, -1.0, -1.0], dtype=np.float32), pose.shape[-1] // 3)
    return pose * signs


def flip_sample(sample: Mapping[str, np.ndarray]) -> TrainingSample:
    """The sample of the horizontally flipped crop: the hands swap places and are mirrored.

    The image's columns are reversed (crop pixel x -> 223 - x, so heatmap x ->
    223 / 32 - x); what was the left hand is now a right hand and takes the
    right hand's targets, mirrored: 3D joints x -> -x, MANO pose by
    `mirror_mano_pose`, relative translation (left - right wrist) becomes
    (x, -y, -z). Depth targets and masks are kept. Applying it twice gives
    the sample back.
    """
    flipped = {key: np.array(value, copy=True) for key, value in sample.items()}
    flipped["image"] = np.ascontiguousarray(np.asarray(sample["image"])[..., ::-1])
    for key in HAND_KEYS:
        flipped[f"right_{key}"] = np.array(sample[f"left_{key}"], copy=True)
        flipped[f"left_{key}"] = np.array(sample[f"right_{key}"], copy=True)
    for hand in HANDS:
        joint_img = flipped[f"{hand}_joint_img"]
        joint_img[..., 0] = (INPUT_SIZE - 1) / CELL_PIXELS - joint_img[..., 0]
        flipped[f"{hand}_joint_cam"][..., 0] *= -1.0
        flipped[f"{hand}_mano_pose"] = mirror_mano_pose(flipped[f"{hand}_mano_pose"])
    flipped["rel_trans"][..., 1:] *= -1.0
    return flipped


def load_image(image: np.ndarray | str | Path) -> np.ndarray:
    """The record's image as (H, W, 3) uint8 RGB, reading the file if given a path."""
    if isinstance(image, (str, Path)):
        bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RecordError(f"cannot read image {image} (missing or not an image)")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise RecordError(f"expected an (H, W, 3) uint8 RGB image, got {array.dtype} {array.shape}")
    return array


def _check_record(record: TrainingRecord) -> None:
    shapes = {
        "joints_img": (2, NUM_JOINTS, 2),
        "joints_cam": (2, NUM_JOINTS, 3),
        "joints_valid": (2, NUM_JOINTS),
        "mano_pose": (2, NUM_POSE_PARAMS),
        "mano_shape": (2, NUM_SHAPE_PARAMS),
        "mano_valid": (2,),
    }
    for name, shape in shapes.items():
        found = np.shape(getattr(record, name))
        if found != shape:
            raise RecordError(f"record {name} has shape {found}, expected {shape}")


def hands_box(record: TrainingRecord) -> Box:
    """The box around both annotated hands (their boxes, or their annotated 2D joints)."""
    boxes: list[Box] = []
    for h in range(2):
        given = None if record.hand_boxes is None else np.asarray(record.hand_boxes[h], float)
        if given is not None and np.all(np.isfinite(given)) and np.any(given[2:] > given[:2]):
            boxes.append(Box(*(float(v) for v in given)))
            continue
        valid = np.asarray(record.joints_valid[h]) > 0
        if valid.any():
            points = np.asarray(record.joints_img[h], float)[valid]
            low, high = points.min(axis=0), points.max(axis=0)
            boxes.append(Box(float(low[0]), float(low[1]), float(high[0]), float(high[1])))
    if not boxes:
        raise RecordError("record has no annotated hand (no valid joints and no hand box)")
    return crop_box_around(boxes, scale=CROP_SCALE)


def crop_matrix(box: Box, params: AugmentationParams) -> tuple[np.ndarray, np.ndarray]:
    """The 2x3 image-to-crop affine for `box` with the augmentation's scale and rotation.

    Returns (affine, rotation): `rotation` is the 2x2 matrix the crop is
    rotated by about its centre, to be applied to camera-frame x, y as well.
    """
    cx, cy = box.center
    half = 0.5 * box.width * params.scale
    scaled = CropTransform(Box(cx - half, cy - half, cx + half, cy + half), INPUT_SIZE)
    theta = math.radians(params.rotation_deg)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    centre = np.full(2, (INPUT_SIZE - 1) / 2.0)
    affine = np.empty((2, 3))
    affine[:, :2] = rotation @ scaled.matrix[:, :2]
    affine[:, 2] = rotation @ (scaled.matrix[:, 2] - centre) + centre
    return affine, rotation


def _rotate_root(pose: np.ndarray, rotation3: np.ndarray) -> np.ndarray:
    pose = np.array(pose, dtype=np.float64, copy=True)
    root, _ = cv2.Rodrigues(pose[:3].reshape(3, 1))
    rotated, _ = cv2.Rodrigues(rotation3 @ root)
    pose[:3] = rotated.reshape(3)
    return pose


def make_training_sample(
    record: TrainingRecord, params: AugmentationParams | None = None
) -> TrainingSample:
    """The network input and loss targets of `record`, augmented by `params` (none if None)."""
    params = params or AugmentationParams()
    _check_record(record)
    image = load_image(record.image)
    affine, rotation = crop_matrix(hands_box(record), params)
    crop = cv2.warpAffine(
        image,
        affine,
        (INPUT_SIZE, INPUT_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    gains = np.asarray(params.colour, dtype=np.float32)
    pixels = np.clip(crop.astype(np.float32) * gains, 0.0, 255.0) / 255.0
    sample: TrainingSample = {"image": np.ascontiguousarray(pixels.transpose(2, 0, 1))}

    rotation3 = np.eye(3)
    rotation3[:2, :2] = rotation
    wrists: list[np.ndarray | None] = []
    for h, hand in enumerate(HANDS):
        valid = (np.asarray(record.joints_valid[h]) > 0).astype(np.float32)
        points = np.asarray(record.joints_img[h], dtype=np.float64)
        crop_points = points @ affine[:, :2].T + affine[:, 2]
        cam = np.asarray(record.joints_cam[h], dtype=np.float64) @ rotation3.T
        wrist_valid = valid[WRIST] > 0
        relative = cam - cam[WRIST]
        joint_valid = valid * float(wrist_valid)
        depth = (relative[:, 2] / (DEPTH_RANGE_M / 2) + 1.0) / 2.0 * HEATMAP_SIZE
        joint_img = np.concatenate((crop_points / CELL_PIXELS, depth[:, None]), axis=1)
        inside = (joint_img >= 0) & (joint_img < HEATMAP_SIZE)
        mano_valid = float(np.asarray(record.mano_valid[h]) > 0)
        pose = np.asarray(record.mano_pose[h], dtype=np.float64)
        if mano_valid:
            pose = _rotate_root(pose, rotation3)
        sample[f"{hand}_joint_img"] = joint_img.astype(np.float32)
        sample[f"{hand}_joint_img_valid"] = joint_valid * inside.all(axis=1)
        sample[f"{hand}_joint_proj_valid"] = valid * inside[:, :2].all(axis=1)
        sample[f"{hand}_joint_cam"] = (relative * joint_valid[:, None]).astype(np.float32)
        sample[f"{hand}_joint_valid"] = joint_valid.astype(np.float32)
        sample[f"{hand}_mano_pose"] = (pose * mano_valid).astype(np.float32)
        sample[f"{hand}_mano_shape"] = (
            np.asarray(record.mano_shape[h], dtype=np.float32) * mano_valid
        )
        sample[f"{hand}_mano_valid"] = np.float32(mano_valid)
        wrists.append(cam[WRIST] if wrist_valid else None)
    right_wrist, left_wrist = wrists
    both = right_wrist is not None and left_wrist is not None
    relative_translation = (left_wrist - right_wrist) if both else np.zeros(3)  # type: ignore[operator]
    sample["rel_trans"] = np.asarray(relative_translation, dtype=np.float32)
    sample["rel_trans_valid"] = np.float32(both)
    if params.flip:
        sample = flip_sample(sample)
    return {key: np.asarray(value, dtype=np.float32) for key, value in sample.items()}
