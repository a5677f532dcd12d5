"""What the node reports on /diagnostics: rates, latency, drops, bad input, model state,
where the intrinsics come from, and what became of depth (depth_intake's values)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

WINDOW_S = 5.0
"""Rates and latencies are over the last few seconds, so they follow changes quickly."""


@dataclass
class _Window:
    times: collections.deque = field(default_factory=collections.deque)

    def add(self, now: float) -> None:
        self.times.append(now)
        self.trim(now)

    def trim(self, now: float) -> None:
        while self.times and now - self.times[0] > WINDOW_S:
            self.times.popleft()

    def rate(self, now: float) -> float:
        self.trim(now)
        return len(self.times) / WINDOW_S


class NodeStats:
    """Counters and rates, updated from the receiving and the model threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inputs = _Window()
        self._outputs = _Window()
        self._latencies: collections.deque[tuple[float, float]] = collections.deque()
        self.received = 0
        self.processed = 0
        self.bad_input = 0
        self.bad_camera_infos = 0
        self.without_camera_info = 0
        self.lost_in_transport = 0
        self.failures = 0
        self.last_input: float | None = None

    def frame_received(self) -> None:
        now = time.monotonic()
        with self._lock:
            self.received += 1
            self.last_input = now
            self._inputs.add(now)

    def frame_published(self, latency_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            self.processed += 1
            self._outputs.add(now)
            self._latencies.append((now, latency_s))
            while self._latencies and now - self._latencies[0][0] > WINDOW_S:
                self._latencies.popleft()

    def bad_frame(self) -> None:
        with self._lock:
            self.bad_input += 1

    def bad_camera_info(self) -> None:
        """A CameraInfo refused (not a frame: its images are counted as without one)."""
        with self._lock:
            self.bad_camera_infos += 1

    def frame_without_camera_info(self) -> None:
        with self._lock:
            self.without_camera_info += 1

    def frames_lost(self, count: int) -> None:
        """Frames the middleware reports lost before delivery (a DDS message-lost event)."""
        with self._lock:
            self.lost_in_transport += count

    def failed_frame(self) -> None:
        with self._lock:
            self.failures += 1

    def seconds_since_input(self) -> float | None:
        with self._lock:
            return None if self.last_input is None else time.monotonic() - self.last_input

    def summary(self) -> dict[str, float]:
        now = time.monotonic()
        with self._lock:
            latencies = [latency for _, latency in self._latencies]
            return {
                "input_rate_hz": self._inputs.rate(now),
                "output_rate_hz": self._outputs.rate(now),
                "latency_ms_mean": 1e3 * float(np.mean(latencies)) if latencies else 0.0,
                "latency_ms_p95": 1e3 * float(np.percentile(latencies, 95)) if latencies else 0.0,
                "frames_received": float(self.received),
                "frames_processed": float(self.processed),
                "bad_input_frames": float(self.bad_input),
                "bad_camera_info_messages": float(self.bad_camera_infos),
                "frames_without_camera_info": float(self.without_camera_info),
                "frames_lost_in_transport": float(self.lost_in_transport),
                "failed_frames": float(self.failures),
            }


def diagnostic_array(
    node_name: str,
    stats: NodeStats,
    dropped: int,
    model_state: str,
    intrinsics: str,
    device: str,
    level: int,
    message: str,
    stamp,
    extra: Mapping[str, str] | None = None,
) -> DiagnosticArray:
    """One DiagnosticStatus for the node, named after it, with every number as a key-value,
    and the `extra` key-values (text) after them."""
    values = {**stats.summary(), "frames_dropped": float(dropped)}
    status = DiagnosticStatus(
        level=bytes([level]),
        name=f"{node_name}: hand reconstruction",
        message=message,
        hardware_id=device,
        values=[
            *(KeyValue(key=key, value=f"{value:.6g}") for key, value in values.items()),
            KeyValue(key="model_state", value=model_state),
            KeyValue(key="intrinsics", value=intrinsics),
            KeyValue(key="device", value=device),
            *(KeyValue(key=key, value=value) for key, value in (extra or {}).items()),
        ],
    )
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
