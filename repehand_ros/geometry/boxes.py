"""Axis-aligned boxes in image pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """A box in image pixels: u (x) to the right, v (y) down, float, sub-pixel.

    The box may extend past the image border (crops near the edge do).
    """

    x_min: float
    y_min: float
    x_max: float
    y_max: float

    def __post_init__(self) -> None:
        values = (self.x_min, self.y_min, self.x_max, self.y_max)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"box coordinates must be finite, got {values}")
        if self.x_max < self.x_min or self.y_max < self.y_min:
            raise ValueError(f"box has negative size: {values}")

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def center(self) -> tuple[float, float]:
        return (0.5 * (self.x_min + self.x_max), 0.5 * (self.y_min + self.y_max))
