"""Training end to end on the tiny InterHand2.6M fixture: the loss falls at 224 and 256,
the last partial batch is dropped, NaN steps are counted, checkpoints are in the official layout
and load, resume and Ctrl-C behave, DDP under torchrun runs."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from fixtures.interhand import write_interhand_fixture

from repehand_ros.io.files import PARTIAL_MARK
from repehand_ros.mano.layer import ManoPair
from repehand_ros.model import load_model
from repehand_ros.model.checkpoint import read_snapshot
from repehand_ros.training.augmentation import TrainingRecord
from repehand_ros.training.checkpoints import (
    LAST_CHECKPOINT,
    TrainingStateError,
    read_training_state,
    snapshot_name,
)
from repehand_ros.training.config import ConfigError, TrainConfig
from repehand_ros.training.interhand_records import InterHandRecords
from repehand_ros.training.logs import LOG_FILE
from repehand_ros.training.losses import LOSS_WEIGHTS
from repehand_ros.training.trainer import TrainingDivergedError, train

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Three training images in InterHand's layout: train holds an interacting pair and a
    right hand alone, val one more interacting pair (the official training set is both)."""
    root = tmp_path_factory.mktemp("interhand")
    write_interhand_fixture(
        root, split="train", captures=(0,), cameras=("400262",), frames_per_capture=2
    )
    write_interhand_fixture(
        root, split="val", seed=1, captures=(1,), cameras=("400263",), frames_per_capture=1
    )
    return root


def _config(data_root: Path, mano_dir: Path, out: Path, **changes) -> TrainConfig:
    values = {
        "data_root": str(data_root),
        "mano_dir": str(mano_dir),
        "out_dir": str(out),
        "epochs": 4,
        "batch_size": 3,  # all three images every step: the losses of steps compare
        "lr": 3e-3,  # five times the paper's: overfit three images in a few steps
        "num_workers": 0,
        "log_every": 1,
        "checkpoint_every": 100,
        "augmentation": {"enabled": False},
        "backbone_weights": None,  # no download in tests (see test_initialisation.py)
        **changes,
    }
    return TrainConfig(**values).validate()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, data_root, mano_dir):
    out = tmp_path_factory.mktemp("run")
    config = _config(data_root, mano_dir, out)
    return config, train(config, progress=False)


def test_loss_falls_when_overfitting_three_images(first_run) -> None:
    _, result = first_run
    losses = result.losses
    assert result.global_step == 4 and len(losses) == 4 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert np.mean(losses[-2:]) < 0.9 * np.mean(losses[:2])
    assert (result.skipped_steps, result.nan_elements) == (0, 0)


def test_the_last_partial_batch_is_dropped(data_root, mano_dir, tmp_path) -> None:
    # Three images, batch 2: one step an epoch, not two.
    result = train(_config(data_root, mano_dir, tmp_path, epochs=2, batch_size=2), progress=False)
    assert result.global_step == 2
    with pytest.raises(ConfigError, match="fewer than one batch"):
        train(_config(data_root, mano_dir, tmp_path / "big", batch_size=4), progress=False)


def test_trains_end_to_end_at_256_pixels(data_root, mano_dir, tmp_path) -> None:
    config = _config(data_root, mano_dir, tmp_path, input_size=256, epochs=3)
    result = train(config, progress=False)
    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    assert result.losses[-1] < result.losses[0]
    network = load_model(result.checkpoint)
    assert (network.input_size, network.heatmap_size) == (256, 8)


def test_checkpoint_is_the_official_layout_and_loads(first_run) -> None:
    config, result = first_run
    out = Path(config.out_dir)
    assert result.checkpoint == out / snapshot_name(3)
    snapshot = read_snapshot(out / LAST_CHECKPOINT)
    official = {"network", "epoch", "optimizer", "torch_rng_state", "numpy_rng_state"}
    assert official | {"random_rng_state", "dataloader_seed", "scheduler"} <= set(snapshot)
    assert snapshot["dataloader_seed"] is None
    assert snapshot["epoch"] == 3 and snapshot["global_step"] == 4
    assert all(key.startswith("module.") for key in snapshot["network"])
    assert any(key.startswith("module.hand_backbone.model.") for key in snapshot["network"])
    network = load_model(out / snapshot_name(3))
    key = "module.hand_position_net.conv_r2.0.weight"
    torch.testing.assert_close(
        network.joint_localizer.right_heatmap.weight, snapshot["network"][key]
    )
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name or PARTIAL_MARK in p.name]
    rows = (out / LOG_FILE).read_text().splitlines()
    counts = ("nan_elements", "skipped_steps", "samples_per_s", "wall_time")
    assert rows[0] == ",".join(("epoch", "global_step", "lr", "total", *LOSS_WEIGHTS, *counts))
    assert len(rows) == 1 + 4
    assert yaml.safe_load((out / "config.yaml").read_text())["epochs"] == 4


def test_resume_continues_from_the_saved_epoch(first_run, data_root, mano_dir, tmp_path) -> None:
    config, _ = first_run
    checkpoint = Path(config.out_dir) / LAST_CHECKPOINT
    shutil.copy(Path(config.out_dir) / LOG_FILE, tmp_path / LOG_FILE)
    resumed = train(
        _config(data_root, mano_dir, tmp_path, epochs=5), resume=checkpoint, progress=False
    )
    assert (resumed.last_epoch, resumed.global_step, len(resumed.losses)) == (4, 5, 1)
    state = read_training_state(tmp_path / LAST_CHECKPOINT)
    assert (state["epoch"], state["global_step"], state["epoch_samples"]) == (4, 5, 0)
    steps = [int(r.split(",")[1]) for r in (tmp_path / LOG_FILE).read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5]


def test_resume_refuses_a_file_without_training_state(tmp_path, first_run) -> None:
    config, _ = first_run
    weights_only = tmp_path / "weights.pth.tar"
    snapshot = read_snapshot(Path(config.out_dir) / LAST_CHECKPOINT)
    torch.save({"network": snapshot["network"]}, weights_only)
    with pytest.raises(TrainingStateError, match="init_checkpoint"):
        read_training_state(weights_only)


class _InterruptOnFirstLoad:
    """Records that deliver SIGINT (as Ctrl-C does) while the first batch is being read."""

    def __init__(self, records) -> None:
        self.records = records
        self.loads = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        self.loads += 1
        if self.loads == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return self.records[index]


def test_ctrl_c_saves_the_finished_step_and_resume_completes_the_epoch(
    data_root, mano_dir, tmp_path
) -> None:
    config = _config(data_root, mano_dir, tmp_path, epochs=1, batch_size=1)
    records = _InterruptOnFirstLoad(InterHandRecords(data_root, ManoPair.from_dir(mano_dir)))
    with pytest.raises(KeyboardInterrupt):
        train(config, records=records, progress=False)
    state = read_training_state(tmp_path / LAST_CHECKPOINT)
    assert (state["epoch"], state["global_step"], state["epoch_samples"]) == (-1, 1, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", LAST_CHECKPOINT, LOG_FILE]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed = train(config, resume=tmp_path / LAST_CHECKPOINT, progress=False)
    assert (resumed.last_epoch, resumed.global_step, len(resumed.losses)) == (0, 3, 2)


class _Spoiled:
    """Records with non-finite targets: `inf` makes a step's loss infinite, `nan` one NaN
    element (a finger pose value of a hand with a MANO fit)."""

    def __init__(self, records, inf: set[int], nan: set[int]) -> None:
        self.records, self.inf, self.nan = records, inf, nan

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> TrainingRecord:
        record = self.records[index]
        if index in self.inf:
            record.mano_shape = record.mano_shape.copy()
            record.mano_shape[0, 0] = np.inf
        if index in self.nan:
            record.mano_pose = record.mano_pose.copy()
            record.mano_pose[0, 10] = np.nan
        return record


def test_non_finite_steps_are_skipped_and_nan_elements_counted(
    data_root, mano_dir, tmp_path
) -> None:
    records = InterHandRecords(data_root, ManoPair.from_dir(mano_dir))
    config = _config(data_root, mano_dir, tmp_path, epochs=1, batch_size=1)
    result = train(config, records=_Spoiled(records, inf={0}, nan={1}), progress=False)
    assert (result.global_step, result.skipped_steps, result.nan_elements) == (3, 1, 1)
    assert sum(not np.isfinite(loss) for loss in result.losses) == 1
    with (tmp_path / LOG_FILE).open() as stream:
        rows = list(csv.DictReader(stream))
    assert [int(float(r["skipped_steps"])) for r in rows].count(1) == 1
    assert sum(float(r["nan_elements"]) for r in rows) == 1
    assert all(np.isfinite(float(r["total"])) for r in rows if r["skipped_steps"] == "0")
    weights = read_snapshot(tmp_path / LAST_CHECKPOINT)["network"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_a_run_that_stays_non_finite_stops(data_root, mano_dir, tmp_path) -> None:
    records = InterHandRecords(data_root, ManoPair.from_dir(mano_dir))
    config = _config(
        data_root, mano_dir, tmp_path, epochs=1, batch_size=1, max_consecutive_bad_steps=2
    )
    with pytest.raises(TrainingDivergedError, match="2 steps in a row"):
        train(config, records=_Spoiled(records, inf={0, 1, 2}, nan=set()), progress=False)


@pytest.mark.timeout(300)
def test_ddp_under_torchrun_two_cpu_processes(tmp_path, mano_dir) -> None:
    root = tmp_path / "interhand"
    write_interhand_fixture(
        root, split="train", captures=(0,), cameras=("400262", "400263"), frames_per_capture=1
    )
    config = tmp_path / "train.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "batch_size": 2,
                "num_workers": 0,
                "log_every": 1,
                "device": "cpu",
                "lr": 1e-3,
                "splits": ["train"],
                "backbone_weights": None,
            }
        )
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # a free local port, no rendezvous server to set up
        "--nproc_per_node=2",
        "-m",
        "repehand_ros.tools.train",
        "--config",
        str(config),
        "--data",
        str(root),
        "--mano-dir",
        str(mano_dir),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    try:
        finished = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=280
        )
    except FileNotFoundError as error:  # pragma: no cover - torch always ships the launcher
        pytest.skip(f"torchrun cannot start here: {error}")
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    state = read_training_state(out / LAST_CHECKPOINT)
    # Two images, one per process and step: one step per epoch, two epochs.
    assert (state["epoch"], state["global_step"]) == (1, 2)
    load_model(out / snapshot_name(1))
    rows = (out / LOG_FILE).read_text().splitlines()
    assert len(rows) == 1 + 2  # rank 0 alone writes the log
