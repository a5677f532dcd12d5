"""The network's input crop: the box, the warp, and mapping points both ways."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.detection.box_ops import KEYPOINT_BOX_SCALE, box_around_points
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import (
    TRAINING_CROP_FACTOR,
    CropTransform,
    crop_box_around,
    heatmap_to_crop_pixels,
)


def test_box_around_one_hand_is_square_centred_and_enlarged_by_1_25():
    box = crop_box_around([Box(100.0, 50.0, 180.0, 210.0)])  # 80 x 160
    assert box.center == pytest.approx((140.0, 130.0))
    assert box.width == pytest.approx(160.0 * 1.25)
    assert box.height == pytest.approx(160.0 * 1.25)


def test_box_around_two_hands_is_centred_on_their_union():
    right, left = Box(10.0, 100.0, 60.0, 150.0), Box(300.0, 120.0, 340.0, 200.0)
    box = crop_box_around([right, left])  # union 10..340 x 100..200
    assert box.center == pytest.approx((175.0, 150.0))
    assert box.width == pytest.approx(330.0 * 1.25)
    assert box.height == pytest.approx(box.width)
    for hand in (right, left):
        assert box.x_min < hand.x_min and hand.x_max < box.x_max
        assert box.y_min < hand.y_min and hand.y_max < box.y_max


def test_box_around_keeps_the_requested_aspect_and_scale():
    box = crop_box_around([Box(0.0, 0.0, 40.0, 100.0)], scale=1.5, aspect=4.0 / 3.0)
    assert box.width / box.height == pytest.approx(4.0 / 3.0)
    assert box.height == pytest.approx(150.0)  # the long side is never shrunk


@pytest.mark.parametrize(
    "boxes, scale",
    [([], 1.25), ([Box(5.0, 5.0, 5.0, 5.0)], 1.25), ([Box(0.0, 0.0, 1.0, 1.0)], 0.0)],
)
def test_box_around_refuses_what_cannot_make_a_crop(boxes, scale):
    with pytest.raises(ValueError, match="crop_box_around"):
        crop_box_around(boxes, scale=scale)


def test_box_edges_map_to_the_crop_edges_and_back_as_the_official_transform_does():
    """Box min -> 0, box max -> size, centre -> size / 2: the official gen_trans_from_patch_cv."""
    crop = CropTransform(Box(30.0, -20.0, 478.0, 428.0), size=224)  # 448 px: scale 0.5
    assert crop.scale == pytest.approx(0.5)
    corners = np.array([[30.0, -20.0], [478.0, 428.0], [254.0, 204.0]])
    np.testing.assert_allclose(
        crop.to_crop(corners), [[0.0, 0.0], [224.0, 224.0], [112.0, 112.0]], atol=1e-12
    )
    points = np.random.default_rng(0).uniform(-100.0, 600.0, size=(50, 2))
    np.testing.assert_allclose(crop.to_image(crop.to_crop(points)), points, atol=1e-9)
    np.testing.assert_allclose(crop.matrix @ np.vstack([crop.inverse, [0, 0, 1]]), np.eye(3)[:2])


def test_warp_at_scale_one_copies_the_pixels_it_covers():
    image = np.random.default_rng(1).integers(0, 256, size=(300, 400, 3), dtype=np.uint8)
    crop = CropTransform(Box(10.0, 20.0, 234.0, 244.0), size=224)  # pixel (10, 20) -> (0, 0)
    np.testing.assert_array_equal(crop.warp(image), image[20:244, 10:234])


def test_warped_pixels_and_mapped_points_agree():
    """A bright dot lands in the crop where to_crop says, and to_image brings it back."""
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:480, 0:640]
    dot = np.array([412.3, 171.8])
    image[..., 1] = (255 * np.exp(-((xx - dot[0]) ** 2 + (yy - dot[1]) ** 2) / 50.0)).astype(
        np.uint8
    )
    crop = CropTransform(crop_box_around([Box(300.0, 80.0, 520.0, 260.0)]), 224)
    patch = crop.warp(image)[..., 1].astype(np.float64)
    rows, cols = np.mgrid[0:224, 0:224]
    seen = np.array([(cols * patch).sum(), (rows * patch).sum()]) / patch.sum()
    np.testing.assert_allclose(seen, crop.to_crop(dot), atol=0.25)
    np.testing.assert_allclose(crop.to_image(seen), dot, atol=0.25 / crop.scale)


def test_parts_outside_the_image_are_black():
    image = np.full((100, 100, 3), 200, dtype=np.uint8)
    # Crop pixel (i, j) samples the image at (i, j) + the box's min: the image 50 px right.
    crop = CropTransform(Box(-50.0, 0.0, 50.0, 100.0), size=100)
    patch = crop.warp(image)
    assert patch.shape == (100, 100, 3) and patch.dtype == np.uint8
    assert np.all(patch[:, :50] == 0)
    assert np.all(patch[:, 50:] == 200)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((10, 10), dtype=np.uint8),
        np.zeros((10, 10, 4), dtype=np.uint8),
        np.zeros((0, 10, 3), dtype=np.uint8),
    ],
)
def test_warp_refuses_images_that_are_not_rgb_uint8(image):
    with pytest.raises(ValueError, match="warp"):
        CropTransform(Box(0.0, 0.0, 10.0, 10.0), size=8).warp(image)


def test_a_rectangular_box_is_stretched_to_the_square_crop_as_the_official_code_does():
    """InterHand2.6M's RootNet boxes are not square: the official crop stretches them."""
    crop = CropTransform(Box(100.0, 50.0, 300.0, 450.0), size=256)  # 200 x 400
    np.testing.assert_allclose(crop.matrix, [[1.28, 0.0, -128.0], [0.0, 0.64, -32.0]])
    np.testing.assert_allclose(crop.to_crop([[200.0, 250.0]]), [[128.0, 128.0]])
    points = np.random.default_rng(2).uniform(0.0, 500.0, size=(20, 2))
    np.testing.assert_allclose(crop.to_image(crop.to_crop(points)), points, atol=1e-9)


def test_crop_refuses_a_box_without_area_or_a_bad_size():
    with pytest.raises(ValueError, match="no area"):
        CropTransform(Box(0.0, 0.0, 10.0, 0.0), 224)
    with pytest.raises(ValueError, match="size"):
        CropTransform(Box(0.0, 0.0, 10.0, 10.0), size=0)


@pytest.mark.parametrize(("size", "cells"), [(224, 7), (256, 8), (384, 12)])
def test_heatmap_cells_map_to_multiples_of_32_crop_pixels(size, cells):
    points = np.array([[0.0, 0.0], [6.0, 6.0], [3.0, 1.5]])
    np.testing.assert_allclose(
        heatmap_to_crop_pixels(points, size, cells), [[0, 0], [192, 192], [96, 48]]
    )
    crop = CropTransform(Box(100.0, 100.0, 548.0, 548.0), size)
    np.testing.assert_allclose(crop.heatmap_to_image(points, cells), crop.to_image(points * 32.0))


def test_a_hand_crop_is_the_training_crop_of_its_landmarks():
    """The official training crop: the joints' tight box x1.25 (get_bbox), made square and
    x1.25 again (process_bbox), 1.5625 times the joints' longer side, centred on them."""
    landmarks = np.array([[300.0, 200.0], [380.0, 260.0], [340.0, 360.0], [310.0, 330.0]])
    hand_box = box_around_points(landmarks, KEYPOINT_BOX_SCALE)
    crop = crop_box_around([hand_box])
    assert pytest.approx(1.5625) == TRAINING_CROP_FACTOR
    assert crop.width == pytest.approx(crop.height) == pytest.approx(1.5625 * 160.0)
    assert crop.center == pytest.approx((340.0, 280.0))
