"""bench/gpu_check.sh in its dry mode runs in the test command: everything on the CPU, every
GPU part skipped with its reason; its JSON checked. (On a GPU the same script measures.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
GPU_ROWS = (
    "torch-cuda",
    "torch-cuda-fp16",
    "torch-cuda-graphs",
    "torch-cuda-fp16-graphs",
    "torch-cuda-fp16-compiled",
    "torch-cuda-fp16-compiled-graphs",
    "onnxruntime-cuda",
    "onnxruntime-tensorrt",
    "onnxruntime-tensorrt-fp16",
    "tensorrt",
    "tensorrt-fp16",
)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], float, str]:
    out = tmp_path_factory.mktemp("gpu_check")
    started = time.monotonic()
    run = subprocess.run(
        ["bash", str(REPO / "bench" / "gpu_check.sh"), "--dry-run", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHON": sys.executable},
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return json.loads((out / "gpu_check.json").read_text()), elapsed, run.stdout


def test_the_dry_run_is_quick_and_says_it_is_one(dry_run):
    report, elapsed, stdout = dry_run
    assert report["mode"] == "dry-run" and report["complete"]
    # About 20 s on an idle 2-core machine; the bound leaves room for a busy one.
    assert elapsed < 150, f"the dry run took {elapsed:.0f} s"
    assert report["weights"].startswith("random")
    assert report["mano"].startswith("fixture")
    assert "fixed regions" in report["detection"]
    assert "skipped:" in stdout and "torch-cuda-fp16" in stdout


def test_every_gpu_part_is_skipped_with_its_reason(dry_run):
    report, _, _ = dry_run
    rows = {row["name"]: row for row in report["rows"]}
    assert set(GPU_ROWS) <= set(rows)
    for name in GPU_ROWS:
        assert rows[name]["status"] == "skipped", name
        assert rows[name]["reason"].startswith("dry run"), rows[name]
    tests = report["tests"]
    assert tests["ran"] and tests["exit_code"] == 0, tests
    assert "skipped" in tests["summary"] and "passed" not in tests["summary"], tests


def test_the_cpu_rows_measure_everything_the_gpu_rows_would(dry_run):
    report, _, _ = dry_run
    rows = {row["name"]: row for row in report["rows"]}
    for name in ("torch-cpu", "onnxruntime-cpu"):
        row = rows[name]
        assert row["status"] == "ran", row
        for batch in ("batch1", "batch2"):
            assert row["network_ms"][batch]["median"] > 0
            stages = row["reconstructor_ms"][batch]
            for stage in ("detection_ms", "network_ms", "mano_ms", "total_ms"):
                assert stages[stage]["median"] >= 0, (name, batch, stage)
            assert stages["total_ms"]["median"] >= stages["network_ms"]["median"]
        assert row["reconstructor_ms"]["batch1"]["crops_per_frame"] == [1]
        assert row["reconstructor_ms"]["batch2"]["crops_per_frame"] == [2]
        deviation = row["deviation"]
        assert deviation["passed"] and deviation["bound_mm"] == report["bound_mm"]
        assert deviation["max_joint_mm"] < 0.05, deviation
    assert rows["torch-cpu"]["deviation"]["max_joint_mm"] == 0.0
    assert rows["torch-cpu"]["transfers_per_frame"] == {
        "batch1": {"to_device": 0, "to_host": 0},
        "batch2": {"to_device": 0, "to_host": 0},
    }
    assert rows["onnxruntime-cpu"]["transfers_per_frame"] is None
    # The torch backend's GPU code path, counted on the meta device: once each way.
    assert report["meta_transfers"] == {
        "batch1": {"to_device": 1, "to_host": 1},
        "batch2": {"to_device": 1, "to_host": 1},
    }
