#!/usr/bin/env bash
# The main job: sets up .venv if needed, then shows both hands' message
# crossing ROS 2 (DDS) between two processes, live.
# Extra arguments go to `repehand dds-demo` (see: ./run.sh --help).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
bash scripts/setup_env.sh
exec .venv/bin/repehand dds-demo "$@"
