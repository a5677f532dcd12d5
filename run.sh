#!/usr/bin/env bash
# The main job: sets up .venv if needed (and fetches the demo footage), then runs the
# whole ROS 2 graph on recorded footage: a player process publishing the camera images,
# the hands node, and a recorder writing what the node publishes to a rosbag; then
# writes a video with the hands drawn over the footage and a summary into output/.
# Extra arguments go to `repehand showcase` (see: ./run.sh --help), e.g. your own
# video, image folder or bag: ./run.sh my_hands.mp4 --out my_output
# `./run.sh dds-demo [...]` runs the earlier two-process DDS check instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
bash scripts/setup_env.sh
if [ "${1:-}" = "dds-demo" ]; then
  shift
  exec .venv/bin/repehand dds-demo "$@"
fi
exec .venv/bin/repehand showcase "$@"
