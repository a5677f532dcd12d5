"""What every backend module shares: the error a backend raises, and the batch sizes
its engines are built for."""

from __future__ import annotations


class BackendError(RuntimeError):
    """A backend that cannot run here: not installed, no GPU, a bad model file."""


ENGINE_BATCHES: tuple[int, int] = (1, 2)
"""Crops per frame an engine takes: one crop around both hands, or one per hand far apart."""
