"""One check of the camera image for every hand-finder, with errors that say what to do."""

from __future__ import annotations

import numpy as np


def check_rgb_image(image: np.ndarray) -> np.ndarray:
    """Return `image` as a C-contiguous RGB uint8 H x W x 3 array, or raise ValueError.

    Checked here rather than left to MediaPipe or OpenCV, whose own errors
    for a grey, RGBA or float image are obscure or silent.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim == 2:
        raise ValueError(
            f"image is grey ({image.shape[0]} x {image.shape[1]}); expected RGB H x W x 3: "
            "convert it with cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        rgba = image.ndim == 3 and image.shape[2] == 4
        hint = " (RGBA: drop alpha with cv2.COLOR_RGBA2RGB)" if rgba else ""
        raise ValueError(f"image must be RGB H x W x 3, got shape {image.shape}{hint}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (0-255), got dtype {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    return np.ascontiguousarray(image)
