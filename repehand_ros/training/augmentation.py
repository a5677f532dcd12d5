"""From an annotated image to one training sample: the official crop, augmentation and targets.

A `TrainingRecord` is what a dataset reader provides for one image (both
hands, camera frame, metres, and the crop box of `repehand_ros.training.crop_box`).
`make_training_sample` turns it into what the network and the losses see
(`TrainingSample`, a dict of float32 arrays keyed by `SAMPLE_KEYS`), for a
network whose input is S x S pixels and whose heatmap grid is D = S / 32 cells
on each axis (`repehand_ros.model.variants.HEATMAP_STRIDE`).

The crop is the official `generate_patch_image`: with the augmentation's box
factor `scale`, rotation `rot` (degrees) and flip, the image (mirrored first,
x -> W - 1 - x, when flipped) is warped by the affine map that takes the box
centre c to the crop centre d = (S/2, S/2) and the box's axes, turned by
`rot` in the image, onto the crop's axes:

    u = d + (S / (side * scale)) R(-rot) (x - c)

so the content turns by -rot in the crop (image axes: x right, y down). The
camera-frame quantities turn with it: 3D joints, the relative translation and
each MANO root orientation are multiplied by R_z(-rot) (the official
`rot_aug_mat`), after the mirror x -> -x when flipped. A flipped sample's
right hand is the mirror image of the record's left hand and vice versa, its
MANO pose mirrored by `mirror_mano_pose` (the official flip negates the y and
z axis-angle components).

Targets, per hand, in the official units: `joint_img` is (x, y) in heatmap
cells (crop pixel / 32) and z the wrist-relative depth mapped from
[-0.15, 0.15] m onto [0, D]; `joint_cam` the wrist-relative joints in metres.
The same for the MANO fit's joints (`mano_joint_img`, `mano_joint_cam`).
Masks are the official ones: `joint_valid` (the 3D annotation, wrist-gated)
for `joint_cam` and the 2D projection, `joint_trunc` = `joint_valid` and
inside the D x D x D grid for `joint_img`, `mano_joint_trunc` = inside the
grid for `mano_joint_img`, `mano_valid` for the MANO terms.

Augmentation strengths (the paper's, drawn as the official `get_aug_config`):
box factor 1 + 0.25 clip(N(0, 1), -1, 1) (above 1 the hands look smaller);
rotation 30 clip(N(0, 1), -2, 2) degrees with probability 0.6, else none;
each RGB channel multiplied by U(0.8, 1.2); flip with probability 0.5.

The module is near 400 lines for one job, a sample's crop and targets, most
of it the geometry this explanation describes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import NUM_JOINTS, WRIST
from repehand_ros.model.inputs import PIXEL_MAX, normalise_crops
from repehand_ros.model.variants import HEATMAP_STRIDE, check_input_size

HANDS: tuple[str, str] = ("right", "left")
"""Hand order of every (2, ...) array in a `TrainingRecord`: right first."""

NUM_POSE_PARAMS = 48
"""MANO pose per hand: root orientation (3) then 15 finger joints (45), axis-angle."""

NUM_SHAPE_PARAMS = 10

DEPTH_RANGE_M = 0.3
"""Depth span of the heatmap grid around each wrist, metres (the official `bbox_3d_size`)."""

TrainingSample = dict[str, np.ndarray]
"""One training sample: `image` (3, S, S) in [0, 1] plus the targets of `SAMPLE_KEYS`."""

HAND_KEYS: tuple[str, ...] = (
    "joint_img",  # (21, 3) annotated joints: x, y heatmap cells, z depth cell about the wrist
    "joint_trunc",  # (21,) joint_valid and inside the D^3 grid: the joint_img mask
    "joint_cam",  # (21, 3) annotated joints, metres, camera axes, relative to the wrist
    "joint_valid",  # (21,) 3D annotation valid (and its wrist): joint_cam and joint_proj mask
    "mano_joint_img",  # (21, 3) the MANO fit's joints in joint_img's units
    "mano_joint_trunc",  # (21,) the MANO fit's joints inside the grid: mano_joint_img mask
    "mano_joint_cam",  # (21, 3) the MANO fit's joints, metres, relative to their wrist
    "mano_pose",  # (48,) axis-angle, root orientation in the (augmented) camera frame
    "mano_shape",  # (10,)
    "mano_valid",  # () 1 where the hand has a MANO fit: the mano_* terms' mask
)
"""Per-hand keys of a sample; each appears as `right_<key>` and `left_<key>`."""

SAMPLE_KEYS: tuple[str, ...] = (
    "image",
    *(f"{hand}_{key}" for hand in HANDS for key in HAND_KEYS),
    "rel_trans",  # (3,) left wrist minus right wrist, metres, camera axes
    "rel_trans_valid",  # () 1 where both wrists are annotated in 3D
)


class RecordError(ValueError):
    """A dataset record that cannot be turned into a training sample."""


@dataclass
class TrainingRecord:
    """One annotated image with both hands, as a dataset reader provides it.

    Every (2, ...) array is right hand first, then left; joints are in
    `repehand_ros.mano.joints.JOINT_NAMES` order. A hand without annotation
    has all-zero valid flags (its values are ignored).

    Attributes:
        image: (H, W, 3) uint8 RGB image, or the path of an image file.
        crop_box: the box to crop before augmentation, image pixels
            (`repehand_ros.training.crop_box.training_crop_box`).
        joints_img: (2, 21, 2) annotated joints in image pixels (OpenCV convention).
        joints_cam: (2, 21, 3) annotated joints in the camera frame, metres.
        joints_valid: (2, 21) 1 where the 3D annotation is valid.
        mano_pose: (2, 48) MANO pose, axis-angle, root orientation in the camera frame.
        mano_shape: (2, 10) MANO shape coefficients.
        mano_valid: (2,) 1 where the hand has a MANO fit.
        mano_joints_img: (2, 21, 2) the MANO fit's 21 joints projected, image pixels.
        mano_joints_cam: (2, 21, 3) the MANO fit's 21 joints, camera frame, metres.
    """

    image: np.ndarray | str | Path
    crop_box: Box
    joints_img: np.ndarray
    joints_cam: np.ndarray
    joints_valid: np.ndarray
    mano_pose: np.ndarray
    mano_shape: np.ndarray
    mano_valid: np.ndarray
    mano_joints_img: np.ndarray
    mano_joints_cam: np.ndarray


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
    """One draw of the augmentation: box side factor, rotation (the official `rot`, degrees),
    flip, per-channel colour gain."""

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
    red, green, blue = (float(c) for c in rng.uniform(low, high, size=3))
    return AugmentationParams(scale, rotation if rotate else 0.0, flip, (red, green, blue))


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
        "mano_joints_img": (2, NUM_JOINTS, 2),
        "mano_joints_cam": (2, NUM_JOINTS, 3),
    }
    for name, shape in shapes.items():
        found = np.shape(getattr(record, name))
        if found != shape:
            raise RecordError(f"record {name} has shape {found}, expected {shape}")
    if not (np.asarray(record.joints_valid) > 0).any():
        raise RecordError("record has no valid 3D joint (the official reader skips such images)")


def rotation_about_z(degrees: float) -> np.ndarray:
    """(3, 3) rotation by `degrees` about the camera's z axis (x towards y: clockwise on screen)."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    return np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])


def crop_matrix(
    box: Box, input_size: int, params: AugmentationParams, image_width: int
) -> np.ndarray:
    """The 2x3 image-to-crop affine of the official `generate_patch_image` (module docstring).

    u = d + S R(-rot) (x - c), S = diag(size / (box width x scale), size / (box height x
    scale)): without rotation and flip this is `CropTransform(box, size)` (box centre to
    the crop centre, box sides to the crop's). A flip mirrors the image first
    (x -> W - 1 - x), and with it the box centre.
    """
    cx, cy = box.center
    if params.flip:
        cx = image_width - 1.0 - cx
    sides = np.diag(
        [input_size / (box.width * params.scale), input_size / (box.height * params.scale)]
    )
    linear = sides @ rotation_about_z(-params.rotation_deg)[:2, :2]
    affine = np.column_stack((linear, input_size / 2.0 - linear @ np.array([cx, cy])))
    if params.flip:
        mirror = np.array([[-1.0, 0.0, image_width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        affine = affine @ mirror
    return affine


def _rotate_root(pose: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    pose = np.array(pose, dtype=np.float64, copy=True)
    root, _ = cv2.Rodrigues(pose[:3].reshape(3, 1))
    rotated, _ = cv2.Rodrigues(rotation @ root)
    pose[:3] = rotated.reshape(3)
    return pose


def _grid_targets(
    pixels: np.ndarray, relative_cam: np.ndarray, affine: np.ndarray, heatmap_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(21, 3) heatmap-unit joints and (21,) whether each lies inside the D x D x D grid."""
    crop_pixels = pixels @ affine[:, :2].T + affine[:, 2]
    depth = (relative_cam[:, 2] / (DEPTH_RANGE_M / 2) + 1.0) / 2.0 * heatmap_size
    grid = np.concatenate((crop_pixels / HEATMAP_STRIDE, depth[:, None]), axis=1)
    inside = np.all((grid >= 0) & (grid < heatmap_size), axis=1)
    return grid, inside.astype(np.float32)


@dataclass(frozen=True)
class _SampleFrame:
    """How one sample's crop sees the record: image affine, camera-frame turn (and mirror)."""

    affine: np.ndarray
    camera: np.ndarray  # (3, 3) R_z(-rot) after the mirror when flipped: for points
    rotation: np.ndarray  # (3, 3) R_z(-rot): for the MANO root orientation
    flip: bool
    heatmap_size: int


def _hand_targets(
    record: TrainingRecord, source: int, frame: _SampleFrame
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The `HAND_KEYS` targets made from the record's hand `source`, and its camera-frame wrist
    (None when the wrist is not annotated in 3D)."""
    valid = (np.asarray(record.joints_valid[source]) > 0).astype(np.float64)
    valid *= valid[WRIST]  # no wrist, no wrist-relative joints
    cam = np.asarray(record.joints_cam[source], dtype=np.float64) @ frame.camera.T
    relative = np.where(valid[:, None] > 0, cam - cam[WRIST], 0.0)
    pixels = np.asarray(record.joints_img[source], dtype=np.float64)
    joint_img, inside = _grid_targets(pixels, relative, frame.affine, frame.heatmap_size)
    targets = {
        "joint_img": np.where(valid[:, None] > 0, joint_img, 0.0),
        "joint_trunc": valid * inside,
        "joint_cam": relative,
        "joint_valid": valid,
    }
    if np.asarray(record.mano_valid[source]) > 0:
        mano_cam = np.asarray(record.mano_joints_cam[source], dtype=np.float64) @ frame.camera.T
        mano_relative = mano_cam - mano_cam[WRIST]
        mano_pixels = np.asarray(record.mano_joints_img[source], dtype=np.float64)
        mano_joint_img, mano_inside = _grid_targets(
            mano_pixels, mano_relative, frame.affine, frame.heatmap_size
        )
        pose = np.asarray(record.mano_pose[source], dtype=np.float64)
        pose = _rotate_root(mirror_mano_pose(pose) if frame.flip else pose, frame.rotation)
        targets.update(
            mano_joint_img=mano_joint_img,
            mano_joint_trunc=mano_inside,
            mano_joint_cam=mano_relative,
            mano_pose=pose,
            mano_shape=np.asarray(record.mano_shape[source]),
            mano_valid=np.float32(1),
        )
    else:
        targets.update(
            mano_joint_img=np.zeros((NUM_JOINTS, 3)),
            mano_joint_trunc=np.zeros(NUM_JOINTS),
            mano_joint_cam=np.zeros((NUM_JOINTS, 3)),
            mano_pose=np.zeros(NUM_POSE_PARAMS),
            mano_shape=np.zeros(NUM_SHAPE_PARAMS),
            mano_valid=np.float32(0),
        )
    return targets, (cam[WRIST] if valid[WRIST] > 0 else None)


def make_training_sample(
    record: TrainingRecord, input_size: int, params: AugmentationParams | None = None
) -> TrainingSample:
    """The network input (S = `input_size`) and loss targets of `record`, augmented by `params`."""
    params = params or AugmentationParams()
    check_input_size(input_size)
    heatmap_size = input_size // HEATMAP_STRIDE
    _check_record(record)
    image = load_image(record.image)
    affine = crop_matrix(record.crop_box, input_size, params, image.shape[1])
    crop = cv2.warpAffine(
        image,
        affine,
        (input_size, input_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    gains = np.asarray(params.colour, dtype=np.float32)
    coloured = np.clip(crop.astype(np.float32) * gains, 0.0, PIXEL_MAX)
    sample: TrainingSample = {"image": normalise_crops(coloured)}

    rotation = rotation_about_z(-params.rotation_deg)
    mirror = np.diag([-1.0, 1.0, 1.0]) if params.flip else np.eye(3)
    frame = _SampleFrame(affine, rotation @ mirror, rotation, params.flip, heatmap_size)
    wrists: list[np.ndarray | None] = []
    for output_hand in HANDS:
        # A flipped image shows each hand as the mirror image of the other one.
        source = 1 - HANDS.index(output_hand) if params.flip else HANDS.index(output_hand)
        targets, wrist = _hand_targets(record, source, frame)
        sample.update({f"{output_hand}_{key}": value for key, value in targets.items()})
        wrists.append(wrist)
    right_wrist, left_wrist = wrists
    if right_wrist is not None and left_wrist is not None:
        sample["rel_trans"], sample["rel_trans_valid"] = left_wrist - right_wrist, np.ones(())
    else:
        sample["rel_trans"], sample["rel_trans_valid"] = np.zeros(3), np.zeros(())
    return {key: np.asarray(value, dtype=np.float32) for key, value in sample.items()}


__all__ = [
    "DEPTH_RANGE_M",
    "HANDS",
    "HAND_KEYS",
    "SAMPLE_KEYS",
    "AugmentationConfig",
    "AugmentationParams",
    "RecordError",
    "TrainingRecord",
    "TrainingSample",
    "crop_matrix",
    "load_image",
    "make_training_sample",
    "mirror_mano_pose",
    "rotation_about_z",
    "sample_augmentation",
]
