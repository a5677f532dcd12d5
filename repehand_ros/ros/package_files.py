"""This package's files outside the Python code: the message definitions and config/.

Each is found in the source tree (a checkout, or .venv's editable install),
or where an installation puts it: share/repehand_ros under the Python prefix,
or the package's share directory in the ament index (colcon).
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = "repehand_ros"
PARAMS_FILE = "hands.yaml"
"""The node's parameters, every one with its default and description (config/)."""
FASTDDS_PROFILE = "fastdds_large_images.xml"
"""Fast DDS with segments large enough for camera images (config/)."""


def _share_candidates(folder: str) -> list[Path]:
    candidates = [Path(__file__).resolve().parents[2] / folder]
    candidates.append(Path(sys.prefix) / "share" / PACKAGE / folder)
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory(PACKAGE)) / folder)
    except Exception:  # no ament index, or the package is not installed in it
        pass
    return candidates


def message_dir() -> Path:
    """The folder of this package's msg/*.msg."""
    candidates = _share_candidates("msg")
    for candidate in candidates:
        if (candidate / "TwoHandMesh.msg").is_file():
            return candidate
    raise FileNotFoundError(
        f"the {PACKAGE} message definitions (msg/*.msg) were not found; looked in "
        + ", ".join(str(c) for c in candidates)
    )


def config_file(name: str) -> Path:
    """A file of config/ (PARAMS_FILE, FASTDDS_PROFILE, ...); FileNotFoundError naming where
    it was looked for."""
    candidates = [folder / name for folder in _share_candidates("config")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"config/{name} not found; looked in {[str(c) for c in candidates]}")
