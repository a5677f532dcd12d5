"""The network's input normalisation, the one place it lives: crops to [0, 1], channels first."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.model.inputs import PIXEL_MAX, normalise_crops


def test_uint8_crops_become_channels_first_float32_in_0_1():
    crops = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    crops[0, 0, 0] = (0, 128, 255)
    inputs = normalise_crops(crops)
    assert inputs.shape == (2, 3, 32, 32) and inputs.dtype == np.float32
    assert inputs.flags.c_contiguous
    np.testing.assert_array_equal(inputs[0, :, 0, 0], np.float32([0, 128, 255]) / np.float32(255))
    np.testing.assert_array_equal(
        inputs, crops.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(PIXEL_MAX)
    )


def test_float_crops_are_not_rounded_and_not_changed():
    crops = np.full((1, 4, 4, 3), 127.5, dtype=np.float32)
    before = crops.copy()
    inputs = normalise_crops(crops)
    np.testing.assert_array_equal(inputs, np.float32(127.5) / np.float32(255))
    np.testing.assert_array_equal(crops, before)
    assert not np.shares_memory(inputs, crops)


def test_one_crop_gives_one_input():
    crop = np.zeros((8, 8, 3), dtype=np.uint8)
    crop[..., 0] = 255
    inputs = normalise_crops(crop)
    assert inputs.shape == (3, 8, 8)
    assert inputs[0].min() == 1.0 and inputs[1:].max() == 0.0


@pytest.mark.parametrize("shape", [(8, 8), (2, 8, 8, 4), (2, 3, 8, 8)])
def test_what_is_not_rgb_crops_is_refused(shape):
    with pytest.raises(ValueError, match="expected RGB crops"):
        normalise_crops(np.zeros(shape, dtype=np.uint8))
