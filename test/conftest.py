"""Session-wide test set-up: keep ROS 2 traffic of the tests private and local.

Every test run gets its own DDS domain, discovery limited to this machine,
the project's Fast DDS profile for large images, and a log directory of its
own, so parallel runs and other ROS 2 programs on the machine cannot see or
disturb the tests' messages. Subprocesses inherit this.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fixtures.mano_files import write_official_mano_dir

os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_LOG_DIR", tempfile.mkdtemp(prefix="repehand-test-roslog-"))
# Camera images (900 KiB) need Fast DDS's shared memory with large segments (see the file),
# under Fast DDS 3's name (Kilted) and Fast DDS 2's (Jazzy), which each ignores the other's.
for _profile_variable in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):
    os.environ[_profile_variable] = str(
        Path(__file__).resolve().parents[1] / "config" / "fastdds_large_images.xml"
    )


@pytest.fixture(scope="session")
def mano_fixture(tmp_path_factory) -> tuple[Path, dict[str, dict[str, np.ndarray]]]:
    """MANO_RIGHT.pkl and MANO_LEFT.pkl in the official format (fixture arrays), and the arrays."""
    directory = tmp_path_factory.mktemp("mano")
    return directory, write_official_mano_dir(directory)


@pytest.fixture(scope="session")
def mano_dir(mano_fixture) -> Path:
    return mano_fixture[0]


@pytest.fixture(scope="session")
def mano_arrays(mano_fixture) -> dict[str, dict[str, np.ndarray]]:
    return mano_fixture[1]
