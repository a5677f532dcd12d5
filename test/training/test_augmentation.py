"""Training crops and the paper's augmentation: targets, rotation, and the hand-swapping flip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from fixtures.mano_files import make_mano_arrays

from repehand_ros.geometry.crop import CropTransform
from repehand_ros.mano.layer import ManoHand
from repehand_ros.training.augmentation import (
    CELL_PIXELS,
    SAMPLE_KEYS,
    AugmentationConfig,
    AugmentationParams,
    RecordError,
    TrainingRecord,
    crop_matrix,
    flip_sample,
    hands_box,
    make_training_sample,
    mirror_mano_pose,
    sample_augmentation,
)

FOCAL = 500.0
PRINCIPAL = np.array([160.0, 120.0])


def _record(seed: int = 0, left_valid: bool = True) -> TrainingRecord:
    """Two hands 0.5 m in front of a pinhole camera, right hand on the image's left."""
    rng = np.random.default_rng(seed)
    joints = rng.normal(0.0, 0.03, (2, 21, 3))
    joints[0, :, 0] -= 0.07
    joints[1, :, 0] += 0.07
    joints[..., 2] += 0.5
    pixels = joints[..., :2] / joints[..., 2:] * FOCAL + PRINCIPAL
    valid = np.ones((2, 21))
    mano_valid = np.ones(2)
    if not left_valid:
        valid[1] = 0
        mano_valid[1] = 0
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    return TrainingRecord(
        image=image,
        joints_img=pixels,
        joints_cam=joints,
        joints_valid=valid,
        mano_pose=rng.normal(0.0, 0.4, (2, 48)),
        mano_shape=rng.normal(0.0, 0.5, (2, 10)),
        mano_valid=mano_valid,
    )


def test_plain_sample_has_every_key_and_the_crop_geometry() -> None:
    record = _record()
    sample = make_training_sample(record)
    assert set(sample) == set(SAMPLE_KEYS)
    assert sample["image"].shape == (3, 224, 224) and sample["image"].dtype == np.float32
    assert sample["image"].min() >= 0.0 and sample["image"].max() <= 1.0
    crop = CropTransform(hands_box(record))
    for side, hand in enumerate(("right", "left")):
        expected = crop.to_crop(record.joints_img[side]) / CELL_PIXELS
        np.testing.assert_allclose(sample[f"{hand}_joint_img"][:, :2], expected, atol=1e-4)
        relative = record.joints_cam[side] - record.joints_cam[side, 0]
        np.testing.assert_allclose(sample[f"{hand}_joint_cam"], relative, atol=1e-6)
        np.testing.assert_allclose(sample[f"{hand}_mano_pose"], record.mano_pose[side], atol=1e-6)
        # The wrist sits at the middle depth cell.
        assert sample[f"{hand}_joint_img"][0, 2] == pytest.approx(3.5)
    expected_rel = record.joints_cam[1, 0] - record.joints_cam[0, 0]
    np.testing.assert_allclose(sample["rel_trans"], expected_rel, atol=1e-6)
    assert sample["rel_trans_valid"] == 1.0


def test_crop_pixels_come_from_the_image() -> None:
    record = _record()
    sample = make_training_sample(record)
    crop = CropTransform(hands_box(record))
    expected = crop.warp(record.image).astype(np.float32).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(sample["image"], expected, atol=1.5 / 255.0)


def test_absent_hand_is_masked_and_has_no_relative_translation() -> None:
    sample = make_training_sample(_record(left_valid=False))
    for key in ("joint_img_valid", "joint_proj_valid", "joint_valid"):
        assert not sample[f"left_{key}"].any()
        assert sample[f"right_{key}"].all()
    assert sample["left_mano_valid"] == 0.0 and sample["rel_trans_valid"] == 0.0


def test_record_without_any_hand_is_refused() -> None:
    record = _record()
    record.joints_valid = np.zeros((2, 21))
    with pytest.raises(RecordError, match="no annotated hand"):
        make_training_sample(record)


def test_flip_swaps_the_hands_and_mirrors_them() -> None:
    sample = make_training_sample(_record())
    flipped = flip_sample(sample)
    np.testing.assert_array_equal(flipped["image"], sample["image"][..., ::-1])
    for mine, theirs in (("right", "left"), ("left", "right")):
        np.testing.assert_allclose(
            flipped[f"{mine}_joint_img"][:, 0], 223 / 32 - sample[f"{theirs}_joint_img"][:, 0]
        )
        np.testing.assert_array_equal(
            flipped[f"{mine}_joint_img"][:, 1:], sample[f"{theirs}_joint_img"][:, 1:]
        )
        np.testing.assert_array_equal(
            flipped[f"{mine}_joint_cam"], sample[f"{theirs}_joint_cam"] * [-1, 1, 1]
        )
        np.testing.assert_array_equal(
            flipped[f"{mine}_mano_pose"], mirror_mano_pose(sample[f"{theirs}_mano_pose"])
        )
        np.testing.assert_array_equal(flipped[f"{mine}_mano_shape"], sample[f"{theirs}_mano_shape"])
    np.testing.assert_array_equal(flipped["rel_trans"], sample["rel_trans"] * [1, -1, -1])
    # The hand on the image's left (the right hand) is on the right after the flip.
    assert sample["right_joint_img"][:, 0].mean() < sample["left_joint_img"][:, 0].mean()
    assert flipped["left_joint_img"][:, 0].mean() > flipped["right_joint_img"][:, 0].mean()


def test_flipping_twice_is_the_identity() -> None:
    sample = make_training_sample(_record(left_valid=False), AugmentationParams(rotation_deg=10))
    twice = flip_sample(flip_sample(sample))
    assert set(twice) == set(sample)
    for key, value in sample.items():
        np.testing.assert_allclose(twice[key], value, atol=1e-6, err_msg=key)


def test_flipped_sample_matches_flipping_the_image_first() -> None:
    """The flip in the sample equals a crop of the mirrored image with the hands swapped."""
    record = _record()
    sample = make_training_sample(record, AugmentationParams(flip=True))
    width = record.image.shape[1]
    mirrored = TrainingRecord(
        image=np.ascontiguousarray(record.image[:, ::-1]),
        joints_img=(record.joints_img * [-1, 1] + [width - 1, 0])[::-1],
        joints_cam=(record.joints_cam * [-1, 1, 1])[::-1],
        joints_valid=record.joints_valid[::-1],
        mano_pose=mirror_mano_pose(record.mano_pose)[::-1],
        mano_shape=record.mano_shape[::-1],
        mano_valid=record.mano_valid[::-1],
    )
    direct = make_training_sample(mirrored)
    for key in sample:
        if key != "image":
            np.testing.assert_allclose(sample[key], direct[key], atol=1e-4, err_msg=key)
    np.testing.assert_allclose(sample["image"], direct["image"], atol=2.0 / 255.0)


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


def test_rotation_turns_2d_and_3d_by_the_same_angle_and_the_root_pose_with_them() -> None:
    record = _record(seed=2)
    plain = make_training_sample(record)
    rotated = make_training_sample(record, AugmentationParams(rotation_deg=25.0))
    for hand in ("right", "left"):
        before_2d = plain[f"{hand}_joint_img"][1:, :2] - plain[f"{hand}_joint_img"][:1, :2]
        after_2d = rotated[f"{hand}_joint_img"][1:, :2] - rotated[f"{hand}_joint_img"][:1, :2]
        turn_2d = np.arctan2(after_2d[:, 1], after_2d[:, 0]) - np.arctan2(
            before_2d[:, 1], before_2d[:, 0]
        )
        before_3d = plain[f"{hand}_joint_cam"][1:, :2]
        after_3d = rotated[f"{hand}_joint_cam"][1:, :2]
        turn_3d = np.arctan2(after_3d[:, 1], after_3d[:, 0]) - np.arctan2(
            before_3d[:, 1], before_3d[:, 0]
        )
        wrap = lambda a: (a + np.pi) % (2 * np.pi) - np.pi  # noqa: E731
        np.testing.assert_allclose(wrap(turn_2d), np.deg2rad(25.0), atol=1e-4)
        np.testing.assert_allclose(wrap(turn_3d), np.deg2rad(25.0), atol=1e-4)
        np.testing.assert_allclose(
            np.linalg.norm(rotated[f"{hand}_joint_cam"], axis=1),
            np.linalg.norm(plain[f"{hand}_joint_cam"], axis=1),
            atol=1e-6,
        )
        _, rotation = crop_matrix(hands_box(record), AugmentationParams(rotation_deg=25.0))
        rotation3 = np.eye(3)
        rotation3[:2, :2] = rotation
        root_before, _ = cv2.Rodrigues(plain[f"{hand}_mano_pose"][:3].astype(np.float64))
        root_after, _ = cv2.Rodrigues(rotated[f"{hand}_mano_pose"][:3].astype(np.float64))
        np.testing.assert_allclose(root_after, rotation3 @ root_before, atol=1e-5)
        np.testing.assert_array_equal(
            rotated[f"{hand}_mano_pose"][3:], plain[f"{hand}_mano_pose"][3:]
        )


def test_scale_zooms_about_the_crop_centre() -> None:
    record = _record()
    plain = make_training_sample(record)
    zoomed = make_training_sample(record, AugmentationParams(scale=1.25))
    centre = (224 - 1) / 2 / CELL_PIXELS
    for hand in ("right", "left"):
        np.testing.assert_allclose(
            zoomed[f"{hand}_joint_img"][:, :2] - centre,
            (plain[f"{hand}_joint_img"][:, :2] - centre) / 1.25,
            atol=1e-4,
        )
        np.testing.assert_array_equal(zoomed[f"{hand}_joint_cam"], plain[f"{hand}_joint_cam"])


def test_colour_gain_multiplies_each_channel() -> None:
    record = _record()
    record.image = np.full((240, 320, 3), 100, dtype=np.uint8)
    sample = make_training_sample(record, AugmentationParams(scale=0.5, colour=(0.8, 1.0, 1.2)))
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
