"""What the network takes: RGB crops scaled to [0, 1], channels first (the official ToTensor()/255).

Every path into the network (the reconstructor, evaluation, training) scales
its crops here, so the network sees the same numbers whichever way it runs.
"""

from __future__ import annotations

import numpy as np

PIXEL_MAX = 255.0
"""The value of a full-intensity channel in the crops the network's input is made from."""


def normalise_crops(crops: np.ndarray) -> np.ndarray:
    """Crops (N, S, S, 3) RGB, uint8 or float 0..255, to the network's input (N, 3, S, S)
    float32 in [0, 1]; one crop (S, S, 3) gives (3, S, S).

    The official `ToTensor()` on the float crop, then /255: the pixel values are
    not rounded or clipped here (the official crop is bilinear on the float image).
    The result is a new C-contiguous array; `crops` is left as it was.
    """
    crops = np.asarray(crops)
    if crops.ndim < 3 or crops.shape[-1] != 3:
        raise ValueError(f"expected RGB crops (N, S, S, 3) or one (S, S, 3), got {crops.shape}")
    channels_first = np.moveaxis(crops.astype(np.float32, copy=False), -1, -3).copy(order="C")
    channels_first /= np.float32(PIXEL_MAX)
    return channels_first


__all__ = ["PIXEL_MAX", "normalise_crops"]
