"""Warnings about bad input: one per reason per period, however many reasons."""

from __future__ import annotations

from repehand_ros.ros import reason_limited
from repehand_ros.ros.reason_limited import MAX_REASONS, WARN_PERIOD_S, ReasonLimitedWarnings


def test_each_reason_is_said_once_a_period_and_one_does_not_hide_another(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(reason_limited.time, "monotonic", lambda: clock[0])
    said: list[str] = []
    warn = ReasonLimitedWarnings(said.append)
    for encoding in ("a", "b", "c"):
        warn(f"frame skipped: unknown encoding '{encoding}'")
    warn("frame skipped: PNG image (png) declares 60000x60000")
    warn("frame skipped: PNG image (png) declares 20000x20000")
    warn("image refused: header.stamp -5 s 0 ns is not a valid time")
    assert said == [
        "frame skipped: unknown encoding 'a'",
        "frame skipped: PNG image (png) declares 60000x60000",
        "image refused: header.stamp -5 s 0 ns is not a valid time",
    ]
    clock[0] += WARN_PERIOD_S
    warn("frame skipped: unknown encoding 'd'")
    assert said[-1] == "frame skipped: unknown encoding 'd'"


def test_a_sender_inventing_reasons_cannot_flood_the_log(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(reason_limited.time, "monotonic", lambda: clock[0])
    said: list[str] = []
    warn = ReasonLimitedWarnings(said.append)
    words = [f"reason{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(3 * MAX_REASONS)]
    for word in words:
        warn(f"frame skipped: {word}")
    assert len(said) == MAX_REASONS
    clock[0] += WARN_PERIOD_S
    warn("frame skipped: another reason later")
    assert said[-1] == "frame skipped: another reason later"
