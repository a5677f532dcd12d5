"""Record what the hands node publishes, from live DDS, into a rosbag2 (MCAP or sqlite3).

`record()` is the library function (the showcase runs it in a process of its
own through `repehand record`): raw subscriptions hand over the CDR bytes as
they crossed DDS, and they are written unchanged, each logged at its receive
time, with the type's definition and hash from `repehand_ros.tools.bags`.
The bag reads back with `rosbags` and plays in RViz (`ros2 bag play`) or
Foxglove.

Recorded by default, for a node named /hands: /hands/hands (TwoHandMesh),
/hands/faces (HandMeshFaces, latched), /hands/markers (MarkerArray), /tf and
/diagnostics.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from repehand_ros.tools import bags

READY_EVENT = "ready"
HANDS_EVENT = "hands"
MATCHED_EVENT = "matched"


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
    stop: threading.Event,
    storage: str = "mcap",
    on_ready: Callable[[], None] | None = None,
    on_message: Callable[[str, int, bytes], None] | None = None,
    on_matched: Callable[[str], None] | None = None,
    ros_args: Sequence[str] = (),
) -> dict[str, int]:
    """Record `topics` into a new bag at `path` until `stop` is set; returns counts per topic.

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
        while not stop.is_set():
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


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record the hands node's outputs into a rosbag2 (MCAP or sqlite3)",
        description=(
            "Record what the hands node publishes (TwoHandMesh, faces, markers, /tf, "
            "/diagnostics) from live DDS into a new bag, until Ctrl-C or SIGTERM. "
            "Prints one JSON line when subscribed and a JSON summary at the end."
        ),
    )
    parser.add_argument("bag", type=Path, help="the new bag's folder (must not exist)")
    parser.add_argument(
        "--node", default="/hands", help="fully qualified name of the hands node (default /hands)"
    )
    parser.add_argument("--storage", choices=sorted(bags.STORAGES), default="mcap")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="print a JSON line with the stamp of every TwoHandMesh recorded",
    )
    parser.set_defaults(func=run, accepts_ros_args=True)


def _print_json(**values: object) -> None:
    print(json.dumps(values), flush=True)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.tools.command import CommandError

    if args.bag.exists():
        raise CommandError(f"{args.bag} exists already; a bag is never overwritten")
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    hands_topic = node_outputs(args.node)[0].name

    def progress(topic: str, received: int, data: bytes) -> None:
        if args.progress and topic == hands_topic:
            _print_json(event=HANDS_EVENT, stamp_ns=bags.stamp_ns(data), received_ns=received)

    counts = record(
        args.bag,
        node_outputs(args.node),
        stop,
        storage=args.storage,
        on_ready=lambda: _print_json(event=READY_EVENT, bag=str(args.bag)),
        on_message=progress,
        on_matched=lambda topic: _print_json(event=MATCHED_EVENT, topic=topic),
        ros_args=[a for a in args.ros_args if a != "--ros-args"],
    )
    _print_json(event="done", bag=str(args.bag), messages=counts)
    return 0
