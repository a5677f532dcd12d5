"""Checkpoint files of a run: official snapshot names, atomic copies, and how far a run got."""

from __future__ import annotations

import pytest
import torch

from repehand_ros.io.files import PARTIAL_MARK
from repehand_ros.training.checkpoints import (
    LAST_CHECKPOINT,
    TRAINING_KEYS,
    RunPosition,
    TrainingStateError,
    copy_as_snapshot,
    epochs_left,
    read_training_state,
    snapshot_name,
)


def test_snapshots_have_the_official_names_and_are_whole_copies(tmp_path):
    last = tmp_path / LAST_CHECKPOINT
    last.write_bytes(b"checkpoint bytes")
    snapshot = copy_as_snapshot(last, 7)
    assert snapshot == tmp_path / "snapshot_7.pth.tar" == tmp_path / snapshot_name(7)
    assert snapshot.read_bytes() == b"checkpoint bytes"
    assert not [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]


def test_how_far_a_run_got(tmp_path):
    state = {"epoch": 2, "global_step": 30, "epoch_samples": 12, "optimizer": {}, "scheduler": {}}
    assert set(state) == set(TRAINING_KEYS)
    assert RunPosition.of(state) == RunPosition(last_epoch=2, global_step=30, epoch_samples=12)
    assert RunPosition() == RunPosition(-1, 0, 0)
    assert epochs_left(5, None) == 5
    with pytest.raises(TrainingStateError, match="checkpoint to resume not found"):
        epochs_left(5, tmp_path / "missing.pth.tar")


def test_a_file_that_is_not_a_checkpoint_cannot_resume(tmp_path):
    path = tmp_path / "junk.pth.tar"
    torch.save([1, 2, 3], path)
    with pytest.raises(TrainingStateError):
        read_training_state(path)
