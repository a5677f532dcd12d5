"""Recording what the hands node publishes, from live DDS, into a rosbag2 (MCAP or sqlite3).

Raw subscriptions hand over the CDR bytes as they crossed DDS, and they are
written unchanged, each logged at its receive time, with the type's
definition and hash from `repehand_ros.ros.bags`. The bag reads back with
`rosbags` and plays in RViz (`ros2 bag play`) or Foxglove. `repehand record`
runs `record` (the showcase runs that command in a process of its own).

Recorded by default, for a node named /hands: /hands/hands (TwoHandMesh),
/hands/faces (HandMeshFaces, latched), /hands/markers (MarkerArray), /tf and
/diagnostics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from repehand_ros.ros import bags

READY_EVENT = "ready"
"""`repehand record` prints {"event": READY_EVENT, "bag": ...} once subscribed."""
HANDS_EVENT = "hands"
"""... {"event": HANDS_EVENT, "stamp_ns": ..., "received_ns": ...} per TwoHandMesh (--progress)."""
MATCHED_EVENT = "matched"
"""... {"event": MATCHED_EVENT, "topic": ...} when a topic's first publisher is matched."""


@dataclass(frozen=True)
class Topic:
    name: str
    msgtype: str
    latched: bool = False
    """Reliable and transient local (a late joiner gets the last message), like ~/faces."""
    depth: int = 100


def node_outputs(node: str = "/hands") -> list[Topic]:
    """Everything the hands node `node` (its fully qualified name) publishes."""
    node = "/" + node.strip("/")
    return [
        Topic(f"{node}/hands", bags.TWO_HAND_MESH),
        Topic(f"{node}/faces", bags.HAND_MESH_FACES, latched=True, depth=1),
        Topic(f"{node}/markers", bags.MARKER_ARRAY),
        Topic("/tf", bags.TF_MESSAGE),
        Topic("/diagnostics", bags.DIAGNOSTIC_ARRAY),
    ]


def _subscription_qos(topic: Topic):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        depth=topic.depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if topic.latched else DurabilityPolicy.VOLATILE,
    )


def record(
    path: Path | str,
    topics: Sequence[Topic],
    should_stop: Callable[[], bool],
    storage: str = "mcap",
    on_ready: Callable[[], None] | None = None,
    on_message: Callable[[str, int, bytes], None] | None = None,
    on_matched: Callable[[str], None] | None = None,
    ros_args: Sequence[str] = (),
) -> dict[str, int]:
    """Record `topics` into a new bag at `path` until `should_stop()`; returns counts per topic.

    `on_message(topic, receive time ns, CDR bytes)` is called after each write, and
    `on_matched(topic)` once when a topic's first publisher is matched.
    ROS is initialised in a context of its own, without signal handlers (the
    caller decides when to stop).
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    context = rclpy.Context()
    rclpy.init(
        args=["repehand-record", "--ros-args", *ros_args] if ros_args else None,
        context=context,
        signal_handler_options=SignalHandlerOptions.NO,
    )
    writer = bags.BagWriter(path, storage)
    node = rclpy.create_node("repehand_recorder", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    subscriptions = []
    try:
        for topic in topics:
            writer.add_topic(
                topic.name, topic.msgtype, bags.qos(min(topic.depth, 10), topic.latched)
            )

            def write(data: bytes, name: str = topic.name) -> None:
                received = time.time_ns()
                writer.write(name, received, data)
                if on_message is not None:
                    on_message(name, received, data)

            subscriptions.append(
                node.create_subscription(
                    bags.message_class(topic.msgtype),
                    topic.name,
                    write,
                    _subscription_qos(topic),
                    raw=True,
                )
            )
        if on_ready is not None:
            on_ready()
        unmatched = dict(zip([t.name for t in topics], subscriptions, strict=True))
        while not should_stop():
            executor.spin_once(timeout_sec=0.05)
            for name, subscription in list(unmatched.items()):
                if subscription.get_publisher_count():
                    del unmatched[name]
                    if on_matched is not None:
                        on_matched(name)
        # What already arrived is still written.
        executor.spin_once(timeout_sec=0.0)
        return dict(writer.counts)
    finally:
        writer.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
