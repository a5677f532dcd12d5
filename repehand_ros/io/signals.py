"""Stopping a long run cleanly on Ctrl-C (or SIGTERM), with everything written so far kept."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)


class StopOnSignal:
    """Turns the first SIGINT/SIGTERM into a request the loop honours at its next step; a second
    one raises KeyboardInterrupt at once.

    Used as a context manager around a loop that checks `requested`; the previous
    handlers come back on exit. Outside the main thread (where Python cannot
    install handlers) it installs nothing and `requested` stays False.
    """

    def __init__(
        self,
        what: str = "finishing the current step",
        signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
    ) -> None:
        self.requested = False
        self._what = what
        self._signals = signals
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("stop requested: %s (press Ctrl-C again to stop at once)", self._what)

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in self._signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
