"""Warnings about bad input, at most one per reason per period, however many reasons come."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

WARN_PERIOD_S = 5.0
"""Repeated warnings about the same problem are logged at most this often."""
MAX_REASONS = 64
"""Distinct problems warned about within one WARN_PERIOD_S, at most."""
_VARYING_PARTS = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


class ReasonLimitedWarnings:
    """Says each reason at most every WARN_PERIOD_S, so that one bad input repeated at camera
    rate does not hide another (rclpy's own throttling is per call site).

    The reason is the text with its numbers and quoted values blanked: "unknown
    encoding 'a'" and "unknown encoding 'b'" are one reason. At most MAX_REASONS are
    remembered, so a sender inventing new reasons cannot grow the table or the log
    without bound.
    """

    def __init__(self, warn: Callable[[str], object]) -> None:
        self._warn = warn
        self._last_warned: dict[str, float] = {}

    def __call__(self, text: str) -> None:
        reason = _VARYING_PARTS.sub("_", text)
        now = time.monotonic()
        last = self._last_warned.get(reason)
        if last is not None and now - last < WARN_PERIOD_S:
            return
        if last is None and len(self._last_warned) >= MAX_REASONS:
            self._last_warned = {
                key: when for key, when in self._last_warned.items() if now - when < WARN_PERIOD_S
            }
            if len(self._last_warned) >= MAX_REASONS:
                return
        self._last_warned[reason] = now
        self._warn(text)
