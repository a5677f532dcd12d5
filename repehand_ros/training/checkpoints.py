"""A training run's checkpoints: the official layout, plus what `--resume` needs to go on exactly.

Checkpoints are the official layout (`repehand_ros.model.save_checkpoint`:
{'network': weights with official names, 'epoch', 'optimizer',
'torch_rng_state', 'numpy_rng_state', 'random_rng_state', 'dataloader_seed'},
as the official `save_model`) plus the scheduler, the step count and the
config, so `repehand eval`, the node and other RepeHand code load them, and
`--resume` continues exactly (read by the safe reader,
`repehand_ros.model.checkpoint.read_snapshot`). `epoch` is the last finished
epoch (0-based, -1 before the first), as in the official snapshots;
`epoch_samples` counts the samples of the next epoch already trained on
(non-zero only for a checkpoint saved mid-epoch on Ctrl-C). `dataloader_seed`
is None: this trainer's data order comes from `seed` and the epoch, which
the saved config holds. Every file is written atomically
(`repehand_ros.io.files.write_atomically`), so a file with a final name is
always complete.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from repehand_ros.io.files import write_atomically
from repehand_ros.model.checkpoint import CheckpointError, read_snapshot, save_checkpoint
from repehand_ros.model.network import RepeHandNet

LAST_CHECKPOINT = "last.pth.tar"
"""The most recent complete state of a run (every epoch end, and on Ctrl-C)."""

TRAINING_KEYS: tuple[str, ...] = ("epoch", "optimizer", "scheduler", "global_step", "epoch_samples")
"""What a checkpoint must hold, beside the weights, to resume a run."""


class TrainingStateError(ValueError):
    """A checkpoint that cannot resume this run (no training state, other config)."""


def snapshot_name(epoch: int) -> str:
    """The official snapshot file name of a finished (0-based) epoch."""
    return f"snapshot_{epoch}.pth.tar"


@dataclass
class RunPosition:
    """Where a run stands.

    Attributes:
        last_epoch: the last finished epoch, 0-based (-1 before the first).
        global_step: optimizer steps taken (skipped ones included).
        epoch_samples: samples of the next epoch already trained on, all ranks together.
    """

    last_epoch: int = -1
    global_step: int = 0
    epoch_samples: int = 0

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> RunPosition:
        """The position a checkpoint's training state (`read_training_state`) was saved at."""
        return cls(int(state["epoch"]), int(state["global_step"]), int(state["epoch_samples"]))


def save_training_checkpoint(path: Path, network: RepeHandNet, **state: Any) -> Path:
    """The official-layout checkpoint of `network` plus training `state`, written atomically."""
    return write_atomically(path, lambda temporary: save_checkpoint(network, temporary, **state))


def copy_as_snapshot(checkpoint: Path, epoch: int) -> Path:
    """`checkpoint` copied (atomically) to `snapshot_name(epoch)` beside it; returns the copy."""
    snapshot = checkpoint.with_name(snapshot_name(epoch))
    return write_atomically(snapshot, lambda temporary: shutil.copyfile(checkpoint, temporary))


def read_training_state(path: str | Path) -> dict[str, Any]:
    """The training extras of a checkpoint saved by `train`, or TrainingStateError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise TrainingStateError(f"checkpoint to resume not found: {path}")
    try:
        snapshot = read_snapshot(path)
    except CheckpointError as error:
        raise TrainingStateError(str(error)) from error
    missing = [key for key in TRAINING_KEYS if key not in snapshot]
    if missing:
        raise TrainingStateError(
            f"{path} has no training state to resume (missing {', '.join(missing)}): it was not "
            f"saved by `repehand train`; to start from its weights set init_checkpoint instead"
        )
    return dict(snapshot)


def epochs_left(epochs: int, resume: str | Path | None) -> int:
    """How many of a run's `epochs` are still to do when resumed from `resume` (None: all)."""
    if resume is None:
        return epochs
    return max(0, epochs - 1 - RunPosition.of(read_training_state(resume)).last_epoch)


def rng_states() -> dict[str, Any]:
    """The random states the official `save_model` saves (its `dataloader_seed` is None
    without a loader generator, as here)."""
    return {
        "torch_rng_state": torch.get_rng_state(),
        "numpy_rng_state": np.random.get_state(),
        "random_rng_state": random.getstate(),
        "dataloader_seed": None,
    }


def restore_rng_states(state: Mapping[str, Any]) -> None:
    """Sets the random states a checkpoint saved, as the official `load_model` does."""
    if "torch_rng_state" in state:
        torch.set_rng_state(state["torch_rng_state"])
        np.random.set_state(state["numpy_rng_state"])
        random.setstate(state["random_rng_state"])


__all__ = [
    "LAST_CHECKPOINT",
    "TRAINING_KEYS",
    "RunPosition",
    "TrainingStateError",
    "copy_as_snapshot",
    "epochs_left",
    "read_training_state",
    "restore_rng_states",
    "rng_states",
    "save_training_checkpoint",
    "snapshot_name",
]
