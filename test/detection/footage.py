"""Real camera footage for the tests: a thin door to repehand_ros.data.footage.

Same names as the library (right04_rgb, tree_frames_rgb, footage_path, ...);
a test that needs the footage on a machine without apt-get is skipped and
says why, rather than failing.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from repehand_ros.data import footage as _footage
from repehand_ros.data.footage import FILES, PACKAGE, cache_dir, is_cached

__all__ = ["FILES", "PACKAGE", "cache_dir", "footage_path", "right04_rgb", "tree_frames_rgb"]


def _skip_unless_fetchable() -> None:
    if not is_cached() and (shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None):
        pytest.skip(f"apt-get and dpkg-deb are needed to fetch the {PACKAGE} footage")


def footage_path(name: str):
    _skip_unless_fetchable()
    return _footage.footage_path(name)


def right04_rgb() -> np.ndarray:
    _skip_unless_fetchable()
    return _footage.right04_rgb()


def tree_frames_rgb() -> list[np.ndarray]:
    _skip_unless_fetchable()
    return _footage.tree_frames_rgb()
