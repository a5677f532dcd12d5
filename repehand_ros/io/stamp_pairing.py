"""Each colour frame paired with the depth image of the same instant, by header stamp.

An RGB-D camera publishes its colour and (aligned) depth images on two
topics, stamped with when each was exposed; they arrive in either order, a
few milliseconds apart, one of them sometimes not at all. `StampPairing`
keeps the most recent depth images (a bounded number, sorted by stamp,
whatever order they came in) and gives a colour frame the one nearest its
stamp, if that is within `max_offset_s`: the stamps of one frameset are
equal (RealSense) or a few milliseconds apart, while the neighbouring
frames are a frame period away, so a slop under half the period (15 ms at
30 frames a second) takes the right image and never its neighbour.

Which of the two comes first, and what a colour frame waits for:

- Depth first: it is in the buffer when the colour frame is matched.
- Colour first: the depth may still be on its way (RealSense's aligned depth
  is computed from the frameset and sent just after the colour image). The
  match then waits for it, on the thread that is about to run the model
  anyway, but only while it can still come and at most `wait_s`: it stops as
  soon as a depth image within the slop arrives, or one stamped after the
  window (the stream has passed this frame: its depth was dropped), and it
  does not wait at all for a depth stream that is stale or has not started.
  Taking the nearest depth already received instead costs no latency, but
  that image is a frame older than the colour one (33 ms at 30 fps), and a
  hand moving at 1 m/s has moved 3 cm, more than the fit's gate; pairing it
  would either be refused by the slop (depth never used) or fit the hand to
  where it was. Waiting costs, in the usual case, the few milliseconds by
  which the depth image trails the colour one, and a dropped depth image
  costs at most one frame period (until the next one shows the stream has
  passed) or `wait_s`, whichever is sooner. Set `wait_s` to 0 to never wait
  (the lowest latency, for streams whose depth always comes first).
- Out of order: images are kept sorted by stamp, so an image that arrives
  late still pairs with its colour frame if that is matched after it; a
  colour frame older than the kept images finds no partner within the slop
  (unmatched). A stamp far older than the newest kept (a bag played again, a
  restarted clock) starts the buffer afresh.

Staleness: when the newest depth image is older than the colour frame by
more than `timeout_s` (stamps, not the wall clock, so that a bag replayed
at any speed pairs alike), the depth camera is taken to be silent: the
frame gets no depth and no wait, and the pairing says "stale"; "none" when
no depth image has arrived at all. A colour frame without depth is
processed from the image alone, as without a depth camera.

Thread-safe: depth images are added on one thread (the executor's) while
frames are matched on another (the model's). Nothing here knows ROS: stamps
are integer nanoseconds and the images are whatever the caller keeps.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

T = TypeVar("T")

NANOSECONDS_PER_SECOND = 1_000_000_000

MATCHED = "matched"
"""A depth image within the slop of the colour frame's stamp."""
UNMATCHED = "unmatched"
"""Depth images are arriving, but none within the slop of this frame."""
STALE = "stale"
"""The newest depth image is older than the frame by more than the timeout."""
NONE = "none"
"""No depth image has arrived yet."""
STATUSES: tuple[str, ...] = (MATCHED, UNMATCHED, STALE, NONE)


@dataclass(frozen=True)
class PairingSettings:
    """How colour frames are paired with depth images (times in seconds)."""

    max_offset_s: float = 0.015
    """The slop: the largest difference of stamps of a colour frame and its depth image.
    Keep it under half the frame period, so that a frame never pairs with a neighbour's
    depth (8 ms at 60 frames a second)."""
    wait_s: float = 0.05
    """Longest wait for a depth image that may still come after its colour frame."""
    timeout_s: float = 1.0
    """A newest depth image older than the colour frame by more than this: depth is stale."""
    capacity: int = 16
    """Depth images kept (the most recent by stamp): half a second at 30 frames a second."""

    def __post_init__(self) -> None:
        for name in ("max_offset_s", "wait_s", "timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"pairing {name} must be a number of seconds >= 0, got {value!r}")
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int):
            raise ValueError(f"pairing capacity must be an integer, got {self.capacity!r}")
        if self.capacity < 1:
            raise ValueError(f"pairing capacity must be at least 1, got {self.capacity}")


@dataclass(frozen=True)
class Pairing(Generic[T]):
    """What a colour frame was paired with."""

    status: str
    """MATCHED, UNMATCHED, STALE or NONE."""
    item: T | None = None
    """The depth image (as the caller added it) when MATCHED, else None."""
    depth_stamp_ns: int | None = None
    """The stamp of the nearest depth image kept (the matched one when MATCHED)."""
    offset_s: float = math.nan
    """That image's stamp minus the colour frame's, seconds (NaN without one)."""
    age_s: float = math.nan
    """The colour frame's stamp minus the newest depth image's, seconds (NaN without one;
    negative when depth is ahead)."""
    waited_s: float = 0.0
    """How long the match waited for a depth image, seconds."""
    settings: PairingSettings = field(default_factory=PairingSettings)
    """The settings the match was made with (for `describe`)."""

    @property
    def matched(self) -> bool:
        return self.status == MATCHED

    def describe(self) -> str:
        """The pairing in words, for logs and diagnostics."""
        settings = self.settings
        if self.status == MATCHED:
            return f"paired with the depth image {1e3 * self.offset_s:+.1f} ms from it"
        if self.status == NONE:
            return "no depth image received yet"
        if self.status == STALE:
            return (
                f"the newest depth image is {self.age_s:.2f} s older than the image "
                f"(depth timeout {settings.timeout_s:g} s): is the depth camera running?"
            )
        return (
            f"no depth image within {1e3 * settings.max_offset_s:g} ms of the image's stamp; "
            f"the nearest is {1e3 * self.offset_s:+.1f} ms from it"
        )


@dataclass(frozen=True)
class _Entry(Generic[T]):
    stamp_ns: int
    item: T


class StampPairing(Generic[T]):
    """The most recent depth images by stamp, and the one that belongs to a colour frame."""

    def __init__(self, settings: PairingSettings | None = None) -> None:
        self._settings = settings or PairingSettings()
        self._condition = threading.Condition()
        self._stamps: list[int] = []
        self._entries: list[_Entry[T]] = []
        self.restarts = 0
        """How often a stamp far older than the newest started the buffer afresh."""

    @property
    def settings(self) -> PairingSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: PairingSettings) -> None:
        """New settings for the next match; a smaller capacity drops the oldest images."""
        with self._condition:
            self._settings = settings
            self._trim()

    def __len__(self) -> int:
        with self._condition:
            return len(self._entries)

    @property
    def newest_stamp_ns(self) -> int | None:
        with self._condition:
            return self._stamps[-1] if self._stamps else None

    def add(self, stamp_ns: int, item: T) -> None:
        """Keep `item`, the depth image stamped `stamp_ns`; one with the same stamp is
        replaced, the oldest beyond the capacity dropped. Wakes a match waiting for it."""
        stamp_ns = int(stamp_ns)
        with self._condition:
            timeout_ns = self._settings.timeout_s * NANOSECONDS_PER_SECOND
            if self._stamps and stamp_ns < self._stamps[-1] - timeout_ns:
                # Far older than the newest: not a late image but another run of the clock.
                self._stamps.clear()
                self._entries.clear()
                self.restarts += 1
            index = bisect.bisect_left(self._stamps, stamp_ns)
            entry = _Entry(stamp_ns, item)
            if index < len(self._stamps) and self._stamps[index] == stamp_ns:
                self._entries[index] = entry
            else:
                self._stamps.insert(index, stamp_ns)
                self._entries.insert(index, entry)
            self._trim()
            self._condition.notify_all()

    def clear(self) -> None:
        """Forget every depth image (a new stream)."""
        with self._condition:
            self._stamps.clear()
            self._entries.clear()
            self._condition.notify_all()

    def match(self, stamp_ns: int, wait: bool = True) -> Pairing[T]:
        """The depth image of the colour frame stamped `stamp_ns`, waiting for it (at most
        `wait_s`, and only while it can still come) when `wait` and it is not there yet."""
        stamp_ns = int(stamp_ns)
        started = time.monotonic()
        with self._condition:
            settings = self._settings
            deadline = started + settings.wait_s
            while True:
                pairing = self._pair(stamp_ns, settings)
                if pairing.status != UNMATCHED or not wait or not self._may_come(stamp_ns):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
        return replace(pairing, waited_s=time.monotonic() - started)

    def _may_come(self, stamp_ns: int) -> bool:
        """Whether a depth image within the slop of `stamp_ns` can still arrive: the depth
        stream (arriving in stamp order) has not passed the frame's window yet."""
        window_end = stamp_ns + self._settings.max_offset_s * NANOSECONDS_PER_SECOND
        return bool(self._stamps) and self._stamps[-1] < window_end

    def _pair(self, stamp_ns: int, settings: PairingSettings) -> Pairing[T]:
        if not self._stamps:
            return Pairing(NONE, settings=settings)
        index = bisect.bisect_left(self._stamps, stamp_ns)
        candidates = [i for i in (index - 1, index) if 0 <= i < len(self._stamps)]
        nearest = min(candidates, key=lambda i: abs(self._stamps[i] - stamp_ns))
        depth_stamp = self._stamps[nearest]
        offset_s = (depth_stamp - stamp_ns) / NANOSECONDS_PER_SECOND
        age_s = (stamp_ns - self._stamps[-1]) / NANOSECONDS_PER_SECOND
        if abs(offset_s) <= settings.max_offset_s:
            status, item = MATCHED, self._entries[nearest].item
        else:
            status, item = (STALE if age_s > settings.timeout_s else UNMATCHED), None
        return Pairing(status, item, depth_stamp, offset_s, age_s, settings=settings)

    def _trim(self) -> None:
        excess = len(self._stamps) - self._settings.capacity
        if excess > 0:
            del self._stamps[:excess]
            del self._entries[:excess]
