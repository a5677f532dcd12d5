"""`repehand replay`: one JSON line of summary, user errors in one line (the work itself is
tested in test/ros/test_offline_replay.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.bags import STAMPS_NS, write_camera_bag

from repehand_ros.data.footage import FootageUnavailableError, right04_rgb
from repehand_ros.tools import cli

REPEHAND = Path(sys.executable).with_name("repehand")


@pytest.fixture(scope="module")
def right04() -> np.ndarray:
    try:
        return right04_rgb()
    except FootageUnavailableError as error:
        pytest.skip(f"no footage: {error}")


def test_the_command_reports_json_and_refuses_to_overwrite(right04, tmp_path, capsys):
    in_bag, out_bag = tmp_path / "in", tmp_path / "out"
    write_camera_bag(in_bag, right04, compressed=False)
    options = ["--set", "backend=keypoints", "--set", f"cache_dir={tmp_path / 'cache'}"]
    result = subprocess.run(
        [str(REPEHAND), "replay", str(in_bag), str(out_bag), *options],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["results"] == len(STAMPS_NS) and printed["backend"] == "mediapipe-keypoints"
    # User errors: one line, exit status 2 (in this process: quicker).
    assert cli.main(["replay", str(in_bag), str(out_bag), *options]) == 2
    assert "exists already" in capsys.readouterr().err
    other = str(tmp_path / "other")
    assert cli.main(["replay", str(in_bag), other, "--set", "backend=nonsense"]) == 2
    assert "backend" in capsys.readouterr().err


def test_a_depth_topic_the_bag_lacks_is_a_user_error(right04, tmp_path, capsys):
    in_bag = tmp_path / "in"
    write_camera_bag(in_bag, right04, compressed=False)
    options = ["--set", "backend=keypoints", "--set", f"cache_dir={tmp_path / 'cache'}"]
    out = str(tmp_path / "out")
    assert cli.main(["replay", str(in_bag), out, "--depth-topic", "/depth", *options]) == 2
    assert "has no Image topic /depth" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one or the other
        cli.main(["replay", str(in_bag), out, "--depth-topic", "/depth", "--no-depth"])
