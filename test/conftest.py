"""Session-wide test set-up: keep ROS 2 traffic of the tests private and local.

Every test run gets its own DDS domain, discovery limited to this machine, and
a log directory of its own, so parallel runs and other ROS 2 programs on the
machine cannot see or disturb the tests' messages. Subprocesses inherit this.
"""

from __future__ import annotations

import os
import random
import tempfile

os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_LOG_DIR", tempfile.mkdtemp(prefix="repehand-test-roslog-"))
