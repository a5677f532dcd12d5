"""Shared, slow-to-make things for the detection tests: MediaPipe and the footage."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from footage import right04_rgb, tree_frames_rgb

from repehand_ros.detection import MediaPipeHandDetector, MediaPipeSettings


@pytest.fixture(scope="session")
def right04() -> np.ndarray:
    return right04_rgb()


@pytest.fixture(scope="session")
def tree_frames() -> list[np.ndarray]:
    return tree_frames_rgb()


@pytest.fixture(scope="session")
def detector() -> Iterator[MediaPipeHandDetector]:
    """The detector for a normal (not mirrored) camera."""
    with MediaPipeHandDetector(MediaPipeSettings(mirrored=False)) as found:
        yield found


@pytest.fixture(scope="session")
def selfie_detector() -> Iterator[MediaPipeHandDetector]:
    with MediaPipeHandDetector(MediaPipeSettings(mirrored=True)) as found:
        yield found
