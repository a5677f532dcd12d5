"""This process's place in a training run: one process alone, or one of many under `torchrun`.

Started by `torchrun --nproc_per_node=N ...` (which sets RANK, WORLD_SIZE,
LOCAL_RANK), every process joins the process group (nccl on CUDA, gloo on
CPU) and takes the GPU of its local rank. The helpers here answer questions
all processes must agree on (did any rank ask to stop? the mean of a value
over the ranks), and are plain local answers for a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from repehand_ros.model.devices import resolve_device


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the run: rank, world size and device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes logs, progress bars and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device_name: str) -> DistributedContext:
    """Joins the torchrun process group when WORLD_SIZE > 1; else a single-process context.

    The device follows `repehand_ros.model.devices.resolve_device` (DeviceError
    when it is not here); under torchrun a CUDA device is the local rank's GPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world_size > 1:
        if device.type == "cuda":
            # One GPU per process under torchrun: the local rank picks it.
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank, world_size, local_rank, device)


def leave_distributed(context: DistributedContext) -> None:
    """Leaves the process group `setup_distributed` joined (nothing for a single process)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """Whether `flag` is set on any rank (every rank gets the same answer)."""
    if not context.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def mean_over_ranks(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The mean of `values` over the ranks (a new tensor; `values` itself on one process)."""
    if context.distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= context.world_size
    return values


def sum_over_ranks(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The sum of `values` over the ranks (a new tensor; `values` itself on one process)."""
    if context.distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


__all__ = [
    "DistributedContext",
    "any_rank",
    "leave_distributed",
    "mean_over_ranks",
    "setup_distributed",
    "sum_over_ranks",
]
