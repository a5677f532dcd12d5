"""The one-step set-up: clear refusals on a machine that lacks something, quick re-runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
