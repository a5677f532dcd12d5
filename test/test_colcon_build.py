"""The package builds with colcon as in a ROS 2 workspace, messages and library together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)


@pytest.fixture(scope="module")
def colcon_install(tmp_path_factory) -> Path:
    workspace = tmp_path_factory.mktemp("ros2_ws")
    (workspace / "src").mkdir()
    (workspace / "src" / "repehand_ros").symlink_to(REPO)
    env = {**os.environ, "AMENT_PREFIX_PATH": str(VENV), "CMAKE_PREFIX_PATH": str(VENV)}
    cmake_args = [f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"]
    result = subprocess.run(
        [str(VENV / "bin" / "colcon"), "build", "--cmake-args", *cmake_args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workspace / "install" / "repehand_ros"


@pytest.mark.timeout(900)
def test_colcon_installs_messages_and_library_as_one_python_package(colcon_install):
    site_packages = colcon_install / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = site_packages / "site-packages"
    probe = (
        "import repehand_ros, repehand_ros.msg, repehand_ros.pipeline.results;"
        "from repehand_ros.msg import TwoHandMesh;"
        "print(repehand_ros.__file__); print(repehand_ros.msg.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(site_packages)},
        cwd=colcon_install,
        capture_output=True,
        text=True,
        check=True,
    )
    library_init, messages_init = result.stdout.split()
    assert Path(library_init) == site_packages / "repehand_ros" / "__init__.py"
    assert Path(messages_init) == site_packages / "repehand_ros" / "msg" / "__init__.py"
    assert "__version__" in Path(library_init).read_text()


@pytest.mark.timeout(900)
def test_colcon_installs_the_command_manifest_and_ament_index_entry(colcon_install):
    assert os.access(colcon_install / "lib" / "repehand_ros" / "repehand", os.X_OK)
    assert os.access(colcon_install / "lib" / "repehand_ros" / "hands_node", os.X_OK)
    assert os.access(colcon_install / "bin" / "repehand", os.X_OK)
    share = colcon_install / "share"
    assert (share / "repehand_ros" / "package.xml").is_file()
    assert (share / "repehand_ros" / "msg" / "TwoHandMesh.msg").is_file()
    assert (share / "repehand_ros" / "launch" / "hands.launch.py").is_file()
    for name in ("hands.yaml", "hands.rviz", "fastdds_large_images.xml"):
        assert (share / "repehand_ros" / "config" / name).is_file()
    assert (share / "ament_index" / "resource_index" / "packages" / "repehand_ros").is_file()
