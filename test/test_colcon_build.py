"""The package builds with colcon as in a ROS 2 workspace, messages and library together.

The workspace is built as the README's "Building in a ROS 2 workspace instead" does
with the .venv as the ROS environment: its commands, as typed, in bash.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
README = (REPO / "README.md").read_text()

# The README's commands (test_the_readme_gives_these_commands keeps them there).
ENVIRONMENT = [
    "source .venv/bin/activate",
    'export AMENT_PREFIX_PATH="$VIRTUAL_ENV" CMAKE_PREFIX_PATH="$VIRTUAL_ENV"',
]
BUILD = "colcon build --packages-select repehand_ros && source install/setup.bash"


def bash(script: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`script` in a bash started from this repository with a plain environment."""
    lines = ["set -e", f"cd {shlex.quote(str(REPO))}", *ENVIRONMENT]
    lines += [f"cd {shlex.quote(str(cwd))}", *script]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AMENT_", "CMAKE_", "COLCON_", "PYTHON", "VIRTUAL_ENV"))
        and k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE")
    }
    return subprocess.run(
        ["bash", "-c", "\n".join(lines)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    workspace = tmp_path_factory.mktemp("ros2_ws")
    (workspace / "src").mkdir()
    (workspace / "src" / "repehand_ros").symlink_to(REPO)
    result = bash([BUILD], workspace)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workspace


@pytest.fixture(scope="module")
def colcon_install(workspace) -> Path:
    return workspace / "install" / "repehand_ros"


def test_the_readme_gives_these_commands():
    for command in [*ENVIRONMENT, BUILD]:
        assert command in README, command


@pytest.mark.timeout(900)
def test_after_sourcing_setup_bash_python_and_ros_tools_find_the_package(workspace):
    probe = (
        "from pathlib import Path;"
        "from ament_index_python.packages import get_package_prefix;"
        "from repehand_ros.msg import TwoHandMesh;"
        "TwoHandMesh();"
        "prefix = Path(get_package_prefix('repehand_ros'));"
        "print(prefix);"
        "print(*sorted(p.name for p in (prefix / 'lib' / 'repehand_ros').iterdir()))"
    )
    result = bash(["source install/setup.bash", f'python3 -c "{probe}"'], workspace)
    assert result.returncode == 0, result.stderr[-3000:]
    prefix, executables = result.stdout.splitlines()
    assert Path(prefix) == workspace / "install" / "repehand_ros"
    assert executables.split() == ["hands_node", "repehand"]


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
