"""What the training loop reads: augmented samples, in an order fixed by the seed and the epoch.

The augmentation of sample i in epoch e is drawn from a generator seeded
with (seed, e, i), and each epoch's order is the DistributedSampler's for
(seed, e): the same whatever the number of loader workers or processes, so
a resumed run sees the data a continuous run would. As the official
trainer, the last partial batch of an epoch is dropped.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from repehand_ros.training.augmentation import (
    AugmentationConfig,
    TrainingRecord,
    make_training_sample,
    sample_augmentation,
)
from repehand_ros.training.distributed import DistributedContext


class RecordSource(Protocol):
    """What the trainer needs from a dataset: a length and indexed `TrainingRecord`s."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> TrainingRecord: ...


class TrainingDataset(Dataset[dict[str, torch.Tensor]]):
    """Augmented training samples (dicts of tensors) from a RecordSource; set `epoch` before
    each epoch."""

    def __init__(
        self,
        records: RecordSource,
        input_size: int,
        augmentation: AugmentationConfig,
        seed: int = 0,
    ) -> None:
        self.records = records
        self.input_size = input_size
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        params = sample_augmentation(rng, self.augmentation)
        sample = make_training_sample(self.records[index], self.input_size, params)
        return {key: torch.from_numpy(value) for key, value in sample.items()}


class SkipFirst(Sampler[int]):
    """The indices of `sampler` without its first `skip` (resuming in the middle of an epoch)."""

    def __init__(self, sampler: Sampler[int], skip: int) -> None:
        self.sampler = sampler
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        for position, index in enumerate(self.sampler):
            if position >= self.skip:
                yield index

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.skip)  # type: ignore[arg-type]


def _init_worker(_: int) -> None:
    # Ctrl-C goes to the whole process group: the main process handles it, workers go on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Each worker builds MANO meshes one sample at a time: one thread each, not one per core.
    torch.set_num_threads(1)


def epoch_loader(
    dataset: TrainingDataset,
    epoch: int,
    context: DistributedContext,
    per_rank_batch: int,
    num_workers: int,
    skip_samples: int = 0,
) -> DataLoader[dict[str, torch.Tensor]]:
    """This rank's batches of `epoch` (0-based), the first `skip_samples` of the epoch (all
    ranks together) left out; sets `dataset.epoch`."""
    dataset.epoch = epoch
    epoch_order: DistributedSampler[int] = DistributedSampler(
        dataset,
        num_replicas=context.world_size,
        rank=context.rank,
        shuffle=True,
        seed=dataset.seed,
    )
    epoch_order.set_epoch(epoch)
    skip = skip_samples // context.world_size
    sampler: Sampler[int] = SkipFirst(epoch_order, skip) if skip else epoch_order
    return DataLoader(
        dataset,
        batch_size=per_rank_batch,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=context.device.type == "cuda",
        drop_last=True,
        worker_init_fn=_init_worker if num_workers else None,
    )


__all__ = ["RecordSource", "SkipFirst", "TrainingDataset", "epoch_loader"]
