#!/usr/bin/env bash
# The test suite: sets up .venv if needed, then lint, format check, type check, the
# Python 3.10 check (vermin) and tests; then the ROS tests once more under ROS 2 Jazzy.
# Extra arguments go to pytest (for example: ./test.sh -k dds -x).
#
# ROS 2 Jazzy: once the main tests pass, the ROS tests (test/ros, test/tools/test_play.py)
# run again in .venv-jazzy, against the ROS 2 Jazzy wheels (REPEHAND_ROS_DISTRO=jazzy
# scripts/setup_env.sh builds it: about 2 minutes the first time, nothing later). That run
# is left out when the arguments choose tests (a test file or folder, -k, -m, --lf, ...)
# or with REPEHAND_SKIP_JAZZY=1 (quick local runs); other arguments (-x, -q, ...) go to
# it too. The exit status is a failure when either run fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"

# Whether pytest's arguments choose the tests to run (rather than how to run them).
chooses_tests() {
  local arg
  for arg in "$@"; do
    case $arg in
      -k* | -m* | --keyword* | --lf | --last-failed | --sw | --stepwise | --deselect* \
        | --ignore* | --co | --collect-only | --fixtures | --markers | -h | --help | -V \
        | --version)
        return 0
        ;;
      -*) ;;
      *) [ ! -e "${arg%%::*}" ] || return 0 ;;
    esac
  done
  return 1
}

# The main run is Kilted's .venv, whatever the caller's shell says.
unset REPEHAND_ROS_DISTRO
bash scripts/setup_env.sh
echo "test: ruff check"
.venv/bin/ruff check .
echo "test: ruff format --check"
.venv/bin/ruff format --check .
echo "test: mypy (pyproject.toml's [tool.mypy])"
.venv/bin/mypy
echo "test: vermin (nothing newer than Python 3.10, pyproject.toml's requires-python)"
.venv/bin/vermin --quiet --violations --no-tips --eval-annotations --target=3.10- \
  repehand_ros bench test launch scripts setup.py
echo "test: pytest"
.venv/bin/python -m pytest "$@"

if [ "${REPEHAND_SKIP_JAZZY:-0}" = 1 ] || chooses_tests "$@"; then
  echo "test: the ROS tests under ROS 2 Jazzy left out (REPEHAND_SKIP_JAZZY=1 or tests chosen)"
  exit 0
fi
echo "test: the ROS tests under ROS 2 Jazzy (.venv-jazzy; REPEHAND_SKIP_JAZZY=1 leaves them out)"
REPEHAND_ROS_DISTRO=jazzy bash scripts/setup_env.sh
# Jazzy's Fast DDS 2 reads its profile from FASTRTPS_DEFAULT_PROFILES_FILE (Fast DDS 3, of
# Kilted, from FASTDDS_DEFAULT_PROFILES_FILE, which test/conftest.py sets): the same large
# shared-memory segments for camera images (see test/ros/test_jazzy.py).
export FASTRTPS_DEFAULT_PROFILES_FILE="$root/config/fastdds_large_images.xml"
# test_image_conversion compares with Kilted's list of image encodings; test_jazzy.py
# checks Jazzy's instead.
exec .venv-jazzy/bin/python -m pytest "$@" test/ros test/tools/test_play.py \
  --deselect test/ros/test_image_conversion.py::test_the_list_is_the_one_sensor_msgs_ships
