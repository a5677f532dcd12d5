"""A one-slot mailbox between the thread that receives frames and the one that processes them.

The newest frame wins: a frame that arrives while the previous one still
waits replaces it, and the replaced one is counted as dropped. So the worker
always starts on the most recent image and latency cannot grow when the
camera is faster than the model.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestOnlyMailbox(Generic[T]):
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        """Leave `item` for the worker, replacing (and counting) one not yet taken."""
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._condition.notify()

    def take(self) -> T | None:
        """The newest item, waiting for one; None once the mailbox is closed."""
        with self._condition:
            while self._item is None and not self._closed:
                self._condition.wait()
            item, self._item = self._item, None
            return None if self._closed else item

    def close(self) -> None:
        """Wake the worker and make every later `take` return None."""
        with self._condition:
            self._closed = True
            self._item = None
            self._condition.notify_all()

    def reopen(self) -> None:
        with self._condition:
            self._closed = False
