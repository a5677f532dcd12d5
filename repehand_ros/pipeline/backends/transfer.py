"""How a frame crosses between host and GPU: once each way.

On a GPU the crops go up from pinned host memory (`PinnedBuffer`) in one
copy, and all of the network's outputs come back packed in one flat buffer
(`FlatLayout`) in one copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from repehand_ros.model.outputs import HAND_FIELDS, HANDS, OUTPUT_NAMES
from repehand_ros.pipeline.backends.base import BackendError

if TYPE_CHECKING:
    import torch

_HAND_TAILS: dict[str, tuple[int, ...]] = {
    "joints_hm": (21, 3),
    "root_rotmat": (3, 3),
    "pose_rotmat": (15, 3, 3),
    "root_pose": (3,),
    "hand_pose": (45,),
    "shape": (10,),
    "cam": (3,),
}

OUTPUT_TAIL_SHAPES: dict[str, tuple[int, ...]] = {
    **{f"{hand}_{field}": _HAND_TAILS[field] for hand in HANDS for field in HAND_FIELDS},
    "relative_translation": (3,),
}
"""Each output's shape for one crop (`RepeHandOutput`'s documented shapes, batch left out)."""


class FlatLayout:
    """All of a batch's outputs in one flat float32 buffer, so they cross to the host in one copy.

    Output after output in `OUTPUT_NAMES` order, each as its own contiguous
    (N, *tail) block: for a batch of N the buffer holds N * `per_crop` values,
    and output i starts at N times the summed sizes of the outputs before it.
    """

    def __init__(self, tails: Mapping[str, tuple[int, ...]] = OUTPUT_TAIL_SHAPES) -> None:
        self.tails = {name: tuple(tails[name]) for name in OUTPUT_NAMES}
        self.sizes = {name: int(np.prod(tail)) for name, tail in self.tails.items()}
        self.per_crop = sum(self.sizes.values())
        starts, total = {}, 0
        for name in OUTPUT_NAMES:
            starts[name] = total
            total += self.sizes[name]
        self._starts = starts

    def length(self, batch: int) -> int:
        """Values in the buffer of a batch of `batch` crops."""
        return batch * self.per_crop

    def span(self, name: str, batch: int) -> tuple[int, int]:
        """Where output `name` of a batch of `batch` crops lies: [start, stop) in values."""
        start = batch * self._starts[name]
        return start, start + batch * self.sizes[name]

    def pack(self, named: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The outputs (on any device, any float type) as one flat float32 tensor there."""
        import torch

        pieces = []
        for name in OUTPUT_NAMES:
            value = named[name]
            if tuple(value.shape[1:]) != self.tails[name]:
                raise BackendError(
                    f"network output {name} has shape {tuple(value.shape)}, expected "
                    f"(batch, {', '.join(map(str, self.tails[name]))})"
                )
            pieces.append(value.reshape(-1).float())
        return torch.cat(pieces)

    def unpack(self, flat: np.ndarray, batch: int) -> dict[str, np.ndarray]:
        """The outputs of a batch of `batch` crops from its flat buffer, as new arrays (the
        buffer may be reused for the next frame)."""
        if flat.shape != (self.length(batch),):
            raise BackendError(
                f"packed outputs hold {flat.shape} values, expected ({self.length(batch)},)"
            )
        named = {}
        for name in OUTPUT_NAMES:
            start, stop = self.span(name, batch)
            named[name] = np.array(flat[start:stop], dtype=np.float32).reshape(
                batch, *self.tails[name]
            )
        return named


class PinnedBuffer:
    """A page-locked host buffer, grown when a larger batch comes: the GPU copies from and to
    it without the driver staging the data through a buffer of its own."""

    def __init__(self) -> None:
        self._buffer: torch.Tensor | None = None

    def view(self, shape: tuple[int, ...]) -> torch.Tensor:
        import torch

        count = int(np.prod(shape))
        if self._buffer is None or self._buffer.numel() < count:
            self._buffer = torch.empty(count, dtype=torch.float32, pin_memory=True)
        return self._buffer[:count].view(shape)
