#!/usr/bin/env bash
# Creates or updates the project's environment in .venv, in one step:
#   1. checks the tools it needs (Python 3.11 with headers, a C/C++ compiler, CMake);
#   2. installs the pinned packages of requirements/lock.txt (ROS 2 Kilted wheels,
#      PyTorch, timm, smplx, OpenCV, ONNX Runtime, ...);
#   3. builds the messages in msg/ with CMake (ament + rosidl) and installs them
#      into .venv, with the launch and config files and, in .venv/lib/repehand_ros,
#      the executables that `ros2 run` and `ros2 launch` start;
#   4. where tf2_msgs is missing (the wheels lack it), builds the stand-in in
#      interfaces/tf2_msgs the same way, so that TF can be published;
#   5. installs the repehand_ros library from this source tree (editable);
#   6. fetches the demo footage (Debian's opencv-doc right04.jpg and tree.avi) into the
#      cache, once; when that fails it warns and goes on (what needs it says so later).
# It records what it was built from and does nothing when nothing changed.
#
# REPEHAND_ROS_DISTRO=jazzy builds a second environment the same way, in .venv-jazzy,
# from requirements/lock-jazzy.txt: the ROS 2 Jazzy wheels with only what the ROS tests
# need beside them (./test.sh runs those tests there too). The default is kilted (.venv).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

fail() {
  echo "setup: error: $*" >&2
  exit 1
}

distro=${REPEHAND_ROS_DISTRO:-kilted}
case $distro in
  kilted) venv_name=.venv lock=requirements/lock.txt distro_name=Kilted ;;
  jazzy) venv_name=.venv-jazzy lock=requirements/lock-jazzy.txt distro_name=Jazzy ;;
  *) fail "REPEHAND_ROS_DISTRO is '$distro'; it must be kilted (the default) or jazzy." ;;
esac
venv="$root/$venv_name"
stamp_file="$venv/.repehand-setup-stamp"
# Present when .venv holds our stand-in tf2_msgs rather than a real one.
tf2_fallback_marker="$venv/.repehand-tf2_msgs-fallback"

find_python() {
  if [ -n "${REPEHAND_PYTHON:-}" ]; then
    echo "$REPEHAND_PYTHON"
    return
  fi
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return
    fi
  done
}

python=$(find_python)
[ -n "$python" ] || fail "Python 3.11 was not found on PATH. Install it (Debian/Ubuntu:" \
  "apt-get install python3.11 python3.11-venv python3.11-dev) or set REPEHAND_PYTHON to it."
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
  || fail "could not run '$python' to ask its version."
[ "$version" = "3.11" ] || fail "Python 3.11 is needed (the ROS 2 $distro_name wheels and" \
  "$lock are built for it), but '$python' is Python $version." \
  "Install Python 3.11 or set REPEHAND_PYTHON to a Python 3.11 interpreter."
"$python" -c 'import venv, ensurepip' 2>/dev/null || fail "'$python' cannot create virtual" \
  "environments (Debian/Ubuntu: apt-get install python3.11-venv)."
python_include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$python_include/Python.h" ] || fail "the Python headers are missing ($python_include/" \
  "Python.h); the messages' Python bindings are compiled against them (Debian/Ubuntu:" \
  "apt-get install python3.11-dev)."
for tool in cc c++ cmake; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' was not found on PATH; building the" \
    "messages needs a C/C++ compiler and CMake >= 3.16 (Debian/Ubuntu: apt-get install" \
    "build-essential cmake)."
done
cmake_version=$(cmake --version | head -n 1 | awk '{print $3}')
printf '%s\n3.16\n' "$cmake_version" | sort -V -C -r \
  || fail "CMake $cmake_version is too old; 3.16 or newer is needed."

# Everything the environment is built from; a change to any of it means work.
stamp=$(cd "$root" && {
  "$python" -c 'import sys; print(sys.executable, sys.version)'
  cat "$lock" CMakeLists.txt package.xml pyproject.toml setup.py msg/*.msg
  cat cmake/* interfaces/tf2_msgs/package.xml interfaces/tf2_msgs/CMakeLists.txt \
    interfaces/tf2_msgs/msg/*.msg
  # Installed into $venv_name/share/repehand_ros, where ros2 launch reads them.
  cat launch/*.py config/*.*
  cat scripts/setup_env.sh
} | sha256sum | cut -d' ' -f1)

# Step 6, also when .venv is up to date: quick when the files are already cached.
fetch_footage() {
  "$venv/bin/python" -m repehand_ros.data.footage \
    || echo "setup: warning: the demo footage could not be fetched (see above); ./run.sh" \
      "without a SOURCE and the tests that use the footage need it" >&2
}

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] \
  && "$venv/bin/python" -c 'import repehand_ros.msg' >/dev/null 2>&1; then
  echo "setup: $venv_name is up to date"
  fetch_footage
  exit 0
fi

if [ -x "$venv/bin/python" ]; then
  echo "setup: updating $venv_name"
else
  echo "setup: creating $venv_name (a few minutes)"
fi
rm -f "$stamp_file"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
mkdir -p "$venv/build"
pip_log="$venv/build/pip.log"
echo "setup: installing the pinned packages of $lock (log: $pip_log)"
pip_pin=$(grep -E '^pip==' "$root/$lock" || true)
{
  if [ -n "$pip_pin" ]; then
    "${pip[@]}" install "$pip_pin"
  fi
  "${pip[@]}" install -r "$root/$lock"
} >"$pip_log" 2>&1 || { tail -n 30 "$pip_log" >&2; fail "installing the pinned packages failed (log: $pip_log)"; }

# Configures, builds and installs one ament/rosidl CMake package into $venv_name.
# Usage: cmake_install WHAT SOURCE_DIR BUILD_DIR LOG [EXTRA_CMAKE_ARGS...]
cmake_install() {
  local what=$1 source=$2 build=$3 log=$4
  shift 4
  cmake -S "$source" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" \
    -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
    "$@" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "configuring $what failed (log: $log)"; }
  cmake --build "$build" --parallel "$(nproc)" >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "building $what failed (log: $log)"; }
  cmake --install "$build" >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "installing $what failed (log: $log)"; }
}

export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv"
echo "setup: building the messages in msg/"
cmake_install "the messages" "$root" "$venv/build/messages" "$venv/build/cmake.log" \
  -DREPEHAND_INSTALL_PYTHON_LIBRARY=OFF

# A real tf2_msgs is left alone; the stand-in is rebuilt when it is ours, so
# that changes to interfaces/tf2_msgs take effect.
if [ -f "$tf2_fallback_marker" ] || ! "$venv/bin/python" -c 'import tf2_msgs' >/dev/null 2>&1; then
  echo "setup: building the stand-in tf2_msgs in interfaces/ (the ROS 2 wheels lack it)"
  cmake_install "the stand-in tf2_msgs" "$root/interfaces/tf2_msgs" "$venv/build/tf2_msgs" \
    "$venv/build/tf2_msgs-cmake.log"
  touch "$tf2_fallback_marker"
fi

echo "setup: installing repehand_ros from the source tree"
# compat mode puts the source tree on sys.path, so the library's package wins
# over the messages-only folder in site-packages and extends it (see
# repehand_ros/__init__.py).
"${pip[@]}" install --no-deps --no-build-isolation --config-settings editable_mode=compat \
  -e "$root" >"$venv/build/pip-editable.log" 2>&1 \
  || { tail -n 30 "$venv/build/pip-editable.log" >&2; fail "installing repehand_ros failed"; }
"${pip[@]}" check >/dev/null || { "${pip[@]}" check >&2; fail "the installed packages conflict (pip check)"; }
"$venv/bin/python" -c 'import repehand_ros; from repehand_ros.msg import TwoHandMesh' \
  || fail "the environment was built but repehand_ros or its messages do not import"
"$venv/bin/python" -c 'from tf2_msgs.msg import TFMessage' \
  || fail "the environment was built but tf2_msgs (TFMessage) does not import"
[ -x "$venv/lib/repehand_ros/hands_node" ] \
  || fail "the environment was built but $venv/lib/repehand_ros/hands_node is missing"
echo "$stamp" >"$stamp_file"
echo "setup: $venv_name is ready"
fetch_footage
