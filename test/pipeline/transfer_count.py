"""Counting the copies PyTorch makes between host memory and a device, as they are dispatched.

`TransferCount` is a dispatch mode: every operator PyTorch runs inside it
passes through `__torch_dispatch__`, so a copy across devices is seen
whichever Python call made it (`.to()`, `.cpu()`, `copy_`, a module moving a
buffer). Used by the tests (on the CPU with the `meta` device as the "GPU",
and on CUDA) and by bench/gpu_check.py.

The meta device holds shapes but no data, so a copy out of it cannot run:
with `meta_reads_as_zeros` such a copy is counted and answered with zeros of
the right shape on the host instead (the counts and shapes are what is checked
there, never values).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten


@dataclass
class Copy:
    source: str
    target: str
    shape: tuple[int, ...]


@dataclass
class TransferCount(TorchDispatchMode):
    meta_reads_as_zeros: bool = False
    copies: list[Copy] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def to_device(self) -> list[Copy]:
        """Copies from host memory to a device."""
        return [c for c in self.copies if c.source == "cpu" and c.target != "cpu"]

    @property
    def to_host(self) -> list[Copy]:
        """Copies from a device to host memory."""
        return [c for c in self.copies if c.source != "cpu" and c.target == "cpu"]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        crossing = None
        if func.overloadpacket in (_aten._to_copy, _aten.to):
            # `.to()` and `.cpu()` reach here as _to_copy, or under inference mode as `to`
            # itself (the device as keyword or positional argument).
            source = args[0].device
            positional = [a for a in args[1:] if isinstance(a, torch.device)]
            target = torch.device(kwargs.get("device") or (positional or [source])[0])
            crossing = (source, target, tuple(args[0].shape))
        elif func is _aten.copy_.default:
            target, source = args[0].device, args[1].device
            crossing = (source, target, tuple(args[1].shape))
        if crossing is not None and crossing[0].type != crossing[1].type:
            source, target, shape = crossing
            self.copies.append(Copy(source.type, target.type, shape))
            if self.meta_reads_as_zeros and source.type == "meta":
                if func is _aten.copy_.default:
                    return args[0].zero_()
                dtype = kwargs.get("dtype") or args[0].dtype
                return torch.zeros(shape, dtype=dtype, device=target)
        return func(*args, **kwargs)
