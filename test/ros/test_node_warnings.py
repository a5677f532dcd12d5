"""The node's warnings about bad input: one per reason per period, however many reasons."""

from __future__ import annotations

import pytest
import rclpy

from repehand_ros.ros import node as node_module
from repehand_ros.ros.node import MAX_REASONS, HandsNode


class RecordingLogger:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, text: str) -> None:
        self.warnings.append(text)


@pytest.fixture
def hands_node():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = HandsNode(context=context)
    logger = RecordingLogger()
    node.get_logger = lambda: logger
    yield node, logger
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_each_reason_is_said_once_a_period_and_one_does_not_hide_another(hands_node, monkeypatch):
    node, logger = hands_node
    clock = [100.0]
    monkeypatch.setattr(node_module.time, "monotonic", lambda: clock[0])
    for encoding in ("a", "b", "c"):
        node._warn_per_reason(f"frame skipped: unknown encoding '{encoding}'")
    node._warn_per_reason("frame skipped: PNG image (png) declares 60000x60000")
    node._warn_per_reason("frame skipped: PNG image (png) declares 20000x20000")
    node._warn_per_reason("image refused: header.stamp -5 s 0 ns is not a valid time")
    assert logger.warnings == [
        "frame skipped: unknown encoding 'a'",
        "frame skipped: PNG image (png) declares 60000x60000",
        "image refused: header.stamp -5 s 0 ns is not a valid time",
    ]
    clock[0] += node_module.WARN_PERIOD_S
    node._warn_per_reason("frame skipped: unknown encoding 'd'")
    assert logger.warnings[-1] == "frame skipped: unknown encoding 'd'"


def test_a_sender_inventing_reasons_cannot_flood_the_log(hands_node, monkeypatch):
    node, logger = hands_node
    clock = [0.0]
    monkeypatch.setattr(node_module.time, "monotonic", lambda: clock[0])
    words = [f"reason{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(3 * MAX_REASONS)]
    for word in words:
        node._warn_per_reason(f"frame skipped: {word}")
    assert len(logger.warnings) == MAX_REASONS
    clock[0] += node_module.WARN_PERIOD_S
    node._warn_per_reason("frame skipped: another reason later")
    assert logger.warnings[-1] == "frame skipped: another reason later"
