"""The one-step set-up: clear refusals on a machine that lacks something, quick re-runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from importlib.metadata import distribution
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "scripts" / "setup_env.sh"


def run_setup(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_second_run_with_nothing_changed_does_nothing():
    result = run_setup(dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "setup: .venv is up to date" in result.stdout
    assert "installing" not in result.stdout


def test_wrong_python_version_is_refused_with_a_clear_message(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9\n")
    fake.chmod(0o755)
    result = run_setup({**os.environ, "REPEHAND_PYTHON": str(fake)})
    assert result.returncode == 1
    assert "setup: error: Python 3.11 is needed" in result.stderr
    assert "is Python 3.9" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_cmake_is_refused_with_a_clear_message(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            target = bin_dir / tool.name
            if tool.name != "cmake" and not target.exists():
                target.symlink_to(tool)
    env = {**os.environ, "PATH": str(bin_dir), "REPEHAND_PYTHON": sys.executable}
    result = run_setup(env)
    assert result.returncode == 1
    assert "setup: error: 'cmake' was not found on PATH" in result.stderr
    assert "apt-get install build-essential cmake" in result.stderr


# What `ros2 run` and `ros2 launch` find with .venv as the ROS environment. ros2cli and
# launch are not installable here; this is what they do: ament_index_python gives the
# package's prefix (the AMENT_PREFIX_PATH entry holding
# share/ament_index/resource_index/packages/repehand_ros), and the executables are the
# executable files below <prefix>/lib/repehand_ros (ros2pkg's get_executable_paths, and
# launch_ros's ExecutableInPackage).
VENV = Path(sys.prefix)


def ros_executables(prefix: Path) -> dict[str, Path]:
    found = {}
    for directory, folders, names in os.walk(prefix / "lib" / "repehand_ros"):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            path = Path(directory) / name
            if os.access(path, os.X_OK):
                found[name] = path
    return found


def package_prefix(monkeypatch) -> Path:
    from ament_index_python.packages import get_package_prefix

    monkeypatch.setenv("AMENT_PREFIX_PATH", str(VENV))
    return Path(get_package_prefix("repehand_ros"))


def foreign_ros_environment(tmp_path: Path) -> dict[str, str]:
    """A shell that sourced a ROS 2 installation for another Python, with the .venv added:
    its packages shadow rclpy and repehand_ros, and python3 on PATH is not the .venv's."""
    foreign = tmp_path / "opt_ros"
    for module in ("rclpy", "repehand_ros"):
        package = foreign / "lib" / "python3.12" / "site-packages" / module
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f"raise ImportError('{module} of another Python')\n")
    return {
        **os.environ,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(foreign / "lib" / "python3.12" / "site-packages"),
        "AMENT_PREFIX_PATH": f"{foreign}{os.pathsep}{VENV}",
        "LD_LIBRARY_PATH": os.pathsep.join(
            [str(foreign / "lib"), "/usr/local/cuda/lib64", str(foreign / "opt" / "vendor" / "lib")]
        ),
    }


def test_ros_tools_find_the_packages_executables_in_the_venv(monkeypatch):
    prefix = package_prefix(monkeypatch)
    assert prefix == VENV
    found = ros_executables(prefix)
    # The executables a colcon workspace installs into lib/repehand_ros (CMakeLists.txt),
    # which are the package's console commands (pyproject.toml, as installed in .venv).
    cmake = (REPO / "CMakeLists.txt").read_text()
    colcon = re.search(r"install\(PROGRAMS ([^)]*) DESTINATION lib/\$\{PROJECT_NAME\}\)", cmake)
    assert colcon, "CMakeLists.txt installs no executables into lib/${PROJECT_NAME}"
    installed_by_colcon = {Path(script).name for script in colcon.group(1).split()}
    entry_points = distribution("repehand_ros").entry_points
    scripts = {entry.name for entry in entry_points if entry.group == "console_scripts"}
    assert set(found) == installed_by_colcon == scripts >= {"hands_node", "repehand"}


def test_the_executables_run_with_the_venv_python_apart_from_a_foreign_ros(monkeypatch, tmp_path):
    found = ros_executables(package_prefix(monkeypatch))
    env = foreign_ros_environment(tmp_path)
    result = subprocess.run(
        [str(found["repehand"]), "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: repehand")
    # What each executable hands to the Python it starts: the caller's ROS left out, other
    # library folders (CUDA) kept.
    for executable in found.values():
        lines = executable.read_text().splitlines()
        assert lines[-1].startswith(f'exec "{VENV}/bin/python" ')
        probe = tmp_path / f"{executable.name}.env.sh"
        probe.write_text("\n".join([*lines[:-1], "exec env"]) + "\n")
        seen = subprocess.run(["sh", str(probe)], env=env, capture_output=True, text=True)
        seen_env = dict(line.split("=", 1) for line in seen.stdout.splitlines() if "=" in line)
        assert "PYTHONPATH" not in seen_env
        assert "_ROS_WHEELS_BOOTSTRAP_COMPLETE" not in seen_env
        assert seen_env["AMENT_PREFIX_PATH"] == str(VENV)
        assert seen_env["LD_LIBRARY_PATH"] == "/usr/local/cuda/lib64"


@pytest.mark.dds
def test_hands_node_starts_as_ros2_launch_starts_it(monkeypatch, tmp_path):
    """The command line launch_ros gives the node, in a shell with another ROS sourced."""
    import rclpy
    from lifecycle_msgs.srv import GetState

    prefix = package_prefix(monkeypatch)
    namespace = f"t{uuid.uuid4().hex[:8]}"
    command = [
        str(ros_executables(prefix)["hands_node"]),
        "--ros-args",
        "-r",
        "__node:=hands",
        "-r",
        f"__ns:=/{namespace}",
        "--params-file",
        str(prefix / "share" / "repehand_ros" / "config" / "hands.yaml"),
        "-p",
        "autostart:=false",
    ]
    log = tmp_path / "hands_node.log"
    with open(log, "w") as stream:
        process = subprocess.Popen(
            command, env=foreign_ros_environment(tmp_path), stdout=stream, stderr=stream
        )
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        client_node = rclpy.create_node(f"probe_{namespace}", context=context)
        client = client_node.create_client(GetState, f"/{namespace}/hands/get_state")
        assert client.wait_for_service(timeout_sec=60), "no node:\n" + log.read_text()[-3000:]
        future = client.call_async(GetState.Request())
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(client_node)
        executor.spin_until_future_complete(future, timeout_sec=30)
        assert future.result().current_state.label == "unconfigured"
        executor.shutdown()
        client_node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
