"""Real camera footage for the tests: a thin door to repehand_ros.data.footage.

Same names as the library (right04_rgb, tree_frames_rgb, footage_path,
image_rgb, frames_rgb, ...); a test that needs footage that is not cached and
cannot be fetched here (no apt-get, no network) is skipped and says why,
rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from repehand_ros.data import footage as _footage
from repehand_ros.data.footage import (
    FILES,
    PACKAGE,
    SOURCES,
    FootageUnavailableError,
    cache_dir,
    source_of,
)

__all__ = [
    "FILES",
    "PACKAGE",
    "SOURCES",
    "cache_dir",
    "footage_path",
    "frames_rgb",
    "image_rgb",
    "right04_rgb",
    "tree_frames_rgb",
]

T = TypeVar("T")


def _or_skip(name: str, load: Callable[[str], T]) -> T:
    """`load(name)`, or the test skipped with the reason (no apt-get, no network, ...)."""
    try:
        return load(name)
    except FootageUnavailableError as error:
        pytest.skip(f"no {source_of(name).name} footage: {error}")


def footage_path(name: str) -> Path:
    return _or_skip(name, _footage.footage_path)


def image_rgb(name: str) -> np.ndarray:
    return _or_skip(name, _footage.image_rgb)


def frames_rgb(name: str) -> list[np.ndarray]:
    return _or_skip(name, _footage.frames_rgb)


def right04_rgb() -> np.ndarray:
    return image_rgb("right04.jpg")


def tree_frames_rgb() -> list[np.ndarray]:
    return frames_rgb("tree.avi")
