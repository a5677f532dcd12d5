"""Training samples: the official patch transform, targets and masks, rotation and the flip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from fixtures.mano_files import make_mano_arrays

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import CropTransform
from repehand_ros.mano.layer import ManoHand
from repehand_ros.training.augmentation import (
    SAMPLE_KEYS,
    AugmentationConfig,
    AugmentationParams,
    RecordError,
    TrainingRecord,
    crop_matrix,
    make_training_sample,
    mirror_mano_pose,
    rotation_about_z,
    sample_augmentation,
)
from repehand_ros.training.crop_box import hands_box, training_crop_box

FOCAL = 500.0
PRINCIPAL = np.array([160.0, 120.0])
WIDTH, HEIGHT = 320, 240
STRIDE = 32


def _project(points: np.ndarray) -> np.ndarray:
    return points[..., :2] / points[..., 2:] * FOCAL + PRINCIPAL


def _record(seed: int = 0, left_valid: bool = True) -> TrainingRecord:
    """Two hands 0.5 m in front of a pinhole camera, right hand on the image's left.

    The "MANO fit" joints are the annotated ones moved by a few millimetres.
    """
    rng = np.random.default_rng(seed)
    joints = rng.normal(0.0, 0.03, (2, 21, 3))
    joints[0, :, 0] -= 0.07
    joints[1, :, 0] += 0.07
    joints[..., 2] += 0.5
    mano_joints = joints + rng.normal(0.0, 0.003, joints.shape)
    valid = np.ones((2, 21))
    mano_valid = np.ones(2)
    if not left_valid:
        valid[1] = 0
        mano_valid[1] = 0
    pixels = _project(joints)
    box = training_crop_box(hands_box(pixels, valid, "interacting"), WIDTH, HEIGHT)
    return TrainingRecord(
        image=rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8),
        crop_box=box,
        joints_img=pixels,
        joints_cam=joints,
        joints_valid=valid,
        mano_pose=rng.normal(0.0, 0.4, (2, 48)),
        mano_shape=rng.normal(0.0, 0.5, (2, 10)),
        mano_valid=mano_valid,
        mano_joints_img=_project(mano_joints),
        mano_joints_cam=mano_joints,
    )


def _official_patch_transform(
    box: Box, size: int, scale: float, rot: float, flip: bool
) -> np.ndarray:
    """The official gen_trans_from_patch_cv, built from its three point pairs."""
    cx, cy = box.center
    if flip:
        cx = WIDTH - cx - 1
    theta = np.deg2rad(rot)
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    down = turn @ np.array([0.0, box.height * scale / 2])
    right = turn @ np.array([box.width * scale / 2, 0.0])
    source = np.float32([[cx, cy], [cx + down[0], cy + down[1]], [cx + right[0], cy + right[1]]])
    half = size / 2
    target = np.float32([[half, half], [half, 2 * half], [2 * half, half]])
    matrix = cv2.getAffineTransform(source, target)
    if flip:  # the official code mirrors the image first
        matrix = matrix @ np.array([[-1.0, 0.0, WIDTH - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return matrix


@pytest.mark.parametrize("size", [224, 256])
def test_plain_sample_targets_in_the_networks_grid(size: int) -> None:
    record = _record()
    sample = make_training_sample(record, size)
    cells = size // STRIDE
    assert set(sample) == set(SAMPLE_KEYS)
    assert sample["image"].shape == (3, size, size) and sample["image"].dtype == np.float32
    assert sample["image"].min() >= 0.0 and sample["image"].max() <= 1.0
    crop = CropTransform(record.crop_box, size)
    for side, hand in enumerate(("right", "left")):
        expected = crop.to_crop(record.joints_img[side]) / STRIDE
        np.testing.assert_allclose(sample[f"{hand}_joint_img"][:, :2], expected, atol=1e-4)
        relative = record.joints_cam[side] - record.joints_cam[side, 0]
        np.testing.assert_allclose(sample[f"{hand}_joint_cam"], relative, atol=1e-6)
        depth = (relative[:, 2] / 0.15 + 1) / 2 * cells
        np.testing.assert_allclose(sample[f"{hand}_joint_img"][:, 2], depth, atol=1e-5)
        assert sample[f"{hand}_joint_img"][0, 2] == pytest.approx(cells / 2)  # the wrist
        mano_expected = crop.to_crop(record.mano_joints_img[side]) / STRIDE
        np.testing.assert_allclose(
            sample[f"{hand}_mano_joint_img"][:, :2], mano_expected, atol=1e-4
        )
        mano_relative = record.mano_joints_cam[side] - record.mano_joints_cam[side, 0]
        np.testing.assert_allclose(sample[f"{hand}_mano_joint_cam"], mano_relative, atol=1e-6)
        np.testing.assert_allclose(sample[f"{hand}_mano_pose"], record.mano_pose[side], atol=1e-6)
        assert sample[f"{hand}_joint_trunc"].all() and sample[f"{hand}_mano_joint_trunc"].all()
    expected_rel = record.joints_cam[1, 0] - record.joints_cam[0, 0]
    np.testing.assert_allclose(sample["rel_trans"], expected_rel, atol=1e-6)
    assert sample["rel_trans_valid"] == 1.0


def test_crop_pixels_come_from_the_image() -> None:
    record = _record()
    sample = make_training_sample(record, 224)
    crop = CropTransform(record.crop_box, 224)
    expected = crop.warp(record.image).astype(np.float32).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(sample["image"], expected, atol=1.5 / 255.0)


@pytest.mark.parametrize(
    ("scale", "rot", "flip"), [(1.0, 0.0, False), (1.2, 25.0, False), (0.8, -40.0, True)]
)
@pytest.mark.parametrize("rectangle", [False, True])
def test_crop_matrix_is_the_official_patch_transform(
    scale: float, rot: float, flip: bool, rectangle: bool
) -> None:
    box = Box(40.0, 30.0, 200.0, 120.0) if rectangle else _record().crop_box
    params = AugmentationParams(scale=scale, rotation_deg=rot, flip=flip)
    np.testing.assert_allclose(
        crop_matrix(box, 224, params, WIDTH),
        _official_patch_transform(box, 224, scale, rot, flip),
        atol=1e-3,
    )
    if (scale, rot, flip) == (1.0, 0.0, False):
        np.testing.assert_allclose(
            crop_matrix(box, 224, params, WIDTH), CropTransform(box, 224).matrix
        )


def test_masks_joint_valid_is_the_projection_mask_and_joint_trunc_the_grids() -> None:
    record = _record()
    record.joints_img[0, 4] = (-500.0, 50.0)  # right thumb tip far left of the crop
    record.joints_cam[1, 7, 2] += 0.5  # left index_3 half a metre behind its wrist
    record.mano_joints_img[1, 20] = (5000.0, 50.0)  # left pinky tip of the MANO fit: off
    record.joints_valid[0, 9] = 0  # right middle_1 not annotated in 3D
    sample = make_training_sample(record, 224)
    right_valid, right_trunc = sample["right_joint_valid"], sample["right_joint_trunc"]
    assert right_valid[4] == 1 and right_trunc[4] == 0  # projected, not in joint_img
    assert right_valid[9] == 0 and right_trunc[9] == 0
    assert sample["left_joint_valid"][7] == 1 and sample["left_joint_trunc"][7] == 0
    assert sample["left_mano_joint_trunc"][20] == 0 and sample["left_mano_joint_trunc"][:20].all()
    assert right_valid.sum() == 20 and right_trunc.sum() == 19


def test_a_hand_without_its_wrist_has_no_valid_joint() -> None:
    record = _record()
    record.joints_valid[1, 0] = 0
    sample = make_training_sample(record, 224)
    assert not sample["left_joint_valid"].any() and not sample["left_joint_trunc"].any()
    assert sample["rel_trans_valid"] == 0.0
    assert sample["left_mano_valid"] == 1.0  # the MANO fit does not need the annotation


def test_absent_hand_is_masked() -> None:
    sample = make_training_sample(_record(left_valid=False), 224)
    for key in ("joint_trunc", "joint_valid", "mano_joint_trunc"):
        assert not sample[f"left_{key}"].any()
    assert sample["right_joint_valid"].all()
    assert sample["left_mano_valid"] == 0.0 and sample["rel_trans_valid"] == 0.0
    assert not sample["left_mano_pose"].any() and not sample["left_mano_joint_img"].any()


def test_record_without_any_valid_joint_is_refused() -> None:
    record = _record()
    record.joints_valid = np.zeros((2, 21))
    with pytest.raises(RecordError, match="no valid 3D joint"):
        make_training_sample(record, 224)


def _mirrored(record: TrainingRecord) -> TrainingRecord:
    """The record of the mirrored image: x -> W - 1 - x, hands swapped, poses mirrored."""

    def pixels(points: np.ndarray) -> np.ndarray:
        return (points * [-1, 1] + [WIDTH - 1, 0])[::-1]

    box = record.crop_box
    return TrainingRecord(
        image=np.ascontiguousarray(record.image[:, ::-1]),
        crop_box=Box(WIDTH - 1 - box.x_max, box.y_min, WIDTH - 1 - box.x_min, box.y_max),
        joints_img=pixels(record.joints_img),
        joints_cam=(record.joints_cam * [-1, 1, 1])[::-1],
        joints_valid=record.joints_valid[::-1],
        mano_pose=mirror_mano_pose(record.mano_pose)[::-1],
        mano_shape=record.mano_shape[::-1],
        mano_valid=record.mano_valid[::-1],
        mano_joints_img=pixels(record.mano_joints_img),
        mano_joints_cam=(record.mano_joints_cam * [-1, 1, 1])[::-1],
    )


def test_flip_is_the_crop_of_the_mirrored_image_with_the_hands_swapped() -> None:
    record = _record()
    flipped = make_training_sample(record, 224, AugmentationParams(flip=True))
    direct = make_training_sample(_mirrored(record), 224)
    for key in SAMPLE_KEYS:
        if key != "image":
            np.testing.assert_allclose(flipped[key], direct[key], atol=1e-4, err_msg=key)
    np.testing.assert_allclose(flipped["image"], direct["image"], atol=1.5 / 255.0)
    plain = make_training_sample(record, 224)
    # In heatmap cells the mirror is x -> D - x (crop pixel u -> S - u), the hands swapped.
    np.testing.assert_allclose(
        flipped["right_joint_img"][:, 0], 7 - plain["left_joint_img"][:, 0], atol=1e-4
    )
    np.testing.assert_allclose(flipped["rel_trans"], plain["rel_trans"] * [1, -1, -1], atol=1e-6)
    assert plain["right_joint_img"][:, 0].mean() < plain["left_joint_img"][:, 0].mean()
    assert flipped["right_joint_img"][:, 0].mean() < flipped["left_joint_img"][:, 0].mean()


def _mirrored_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A left MANO model that is the exact mirror (x -> -x) of the right model `arrays`."""
    left = {key: np.array(value, copy=True) for key, value in arrays.items()}
    left["v_template"][:, 0] *= -1
    left["J"][:, 0] *= -1
    left["shapedirs"][:, 0, :] *= -1
    left["hands_mean"] = mirror_mano_pose(arrays["hands_mean"]).astype(np.float64)
    return left


def test_mirrored_pose_on_the_left_model_is_the_mirror_image_of_the_right_hand() -> None:
    right_arrays = make_mano_arrays(3)
    right_arrays["posedirs"] = np.zeros_like(right_arrays["posedirs"])  # pose blend shapes off
    right = ManoHand(right_arrays, is_right=True)
    left = ManoHand(_mirrored_arrays(right_arrays), is_right=False)
    generator = torch.Generator().manual_seed(0)
    pose = 0.5 * torch.randn(4, 48, generator=generator, dtype=torch.float64).float()
    shape = torch.randn(4, 10, generator=generator)
    mirrored = torch.from_numpy(mirror_mano_pose(pose.numpy()))
    with torch.no_grad():
        seen = right(pose[:, :3], pose[:, 3:], shape)
        in_mirror = left(mirrored[:, :3], mirrored[:, 3:], shape)
    sign = torch.tensor([-1.0, 1.0, 1.0])
    torch.testing.assert_close(in_mirror.joints, seen.joints * sign, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(in_mirror.vertices, seen.vertices * sign, atol=1e-6, rtol=1e-5)


def _angles(vectors: np.ndarray) -> np.ndarray:
    return np.arctan2(vectors[:, 1], vectors[:, 0])


def test_rotation_turns_2d_and_3d_by_minus_rot_and_the_root_pose_with_them() -> None:
    record = _record(seed=2)
    plain = make_training_sample(record, 224)
    rotated = make_training_sample(record, 224, AugmentationParams(rotation_deg=25.0))
    wrap = lambda a: (a + np.pi) % (2 * np.pi) - np.pi  # noqa: E731
    for hand in ("right", "left"):
        for key in ("joint_img", "mano_joint_img"):
            before = plain[f"{hand}_{key}"][1:, :2] - plain[f"{hand}_{key}"][:1, :2]
            after = rotated[f"{hand}_{key}"][1:, :2] - rotated[f"{hand}_{key}"][:1, :2]
            turn = wrap(_angles(after) - _angles(before))
            np.testing.assert_allclose(turn, np.deg2rad(-25.0), atol=1e-4, err_msg=key)
        for key in ("joint_cam", "mano_joint_cam"):
            turn = wrap(_angles(rotated[f"{hand}_{key}"][1:]) - _angles(plain[f"{hand}_{key}"][1:]))
            np.testing.assert_allclose(turn, np.deg2rad(-25.0), atol=1e-4, err_msg=key)
        np.testing.assert_allclose(
            rotated[f"{hand}_joint_img"][:, 2], plain[f"{hand}_joint_img"][:, 2], atol=1e-5
        )
        root_before, _ = cv2.Rodrigues(plain[f"{hand}_mano_pose"][:3].astype(np.float64))
        root_after, _ = cv2.Rodrigues(rotated[f"{hand}_mano_pose"][:3].astype(np.float64))
        np.testing.assert_allclose(root_after, rotation_about_z(-25.0) @ root_before, atol=1e-5)
        np.testing.assert_array_equal(
            rotated[f"{hand}_mano_pose"][3:], plain[f"{hand}_mano_pose"][3:]
        )


def test_scale_zooms_about_the_crop_centre() -> None:
    record = _record()
    plain = make_training_sample(record, 256)
    zoomed = make_training_sample(record, 256, AugmentationParams(scale=1.25))
    centre = 256 / 2 / STRIDE
    for hand in ("right", "left"):
        np.testing.assert_allclose(
            zoomed[f"{hand}_joint_img"][:, :2] - centre,
            (plain[f"{hand}_joint_img"][:, :2] - centre) / 1.25,
            atol=1e-4,
        )
        np.testing.assert_array_equal(zoomed[f"{hand}_joint_cam"], plain[f"{hand}_joint_cam"])


def test_colour_gain_multiplies_each_channel() -> None:
    record = _record()
    record.image = np.full((HEIGHT, WIDTH, 3), 100, dtype=np.uint8)
    sample = make_training_sample(record, 224, AugmentationParams(colour=(0.8, 1.0, 1.2)))
    np.testing.assert_allclose(sample["image"][:, 112, 112], [80 / 255, 100 / 255, 120 / 255])


def test_augmentation_draws_follow_the_paper() -> None:
    rng = np.random.default_rng(0)
    config = AugmentationConfig()
    draws = [sample_augmentation(rng, config) for _ in range(4000)]
    scales = np.array([d.scale for d in draws])
    rotations = np.array([d.rotation_deg for d in draws])
    colours = np.array([d.colour for d in draws])
    assert scales.min() >= 0.75 and scales.max() <= 1.25
    assert np.abs(rotations).max() <= 60.0
    assert np.mean(rotations != 0) == pytest.approx(0.6, abs=0.03)
    assert np.std(rotations[rotations != 0]) == pytest.approx(30.0 * 0.94, rel=0.1)
    assert colours.min() >= 0.8 and colours.max() <= 1.2
    assert np.mean([d.flip for d in draws]) == pytest.approx(0.5, abs=0.03)
    assert sample_augmentation(rng, AugmentationConfig(enabled=False)) == AugmentationParams()


@pytest.mark.parametrize(
    "values", [{"scale": -0.1}, {"scale": 1.0}, {"rotation_prob": 1.5}, {"colour": 2.0}]
)
def test_bad_augmentation_strengths_are_refused(values) -> None:
    with pytest.raises(ValueError, match="augmentation"):
        AugmentationConfig(**values)
