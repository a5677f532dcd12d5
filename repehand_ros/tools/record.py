"""`repehand record BAG`: what the hands node publishes, from live DDS, into a new rosbag2.

Prints one JSON line when subscribed ({"event": "ready"}), one per matched
topic, with --progress one per TwoHandMesh recorded, and a summary at the
end. The first Ctrl-C (or SIGTERM) stops recording and closes the bag; the
recording itself is `repehand_ros.ros.recorder`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from repehand_ros.ros import bags
from repehand_ros.tools.command import CommandError


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
    from repehand_ros.io.signals import StopOnSignal
    from repehand_ros.ros.recorder import (
        HANDS_EVENT,
        MATCHED_EVENT,
        READY_EVENT,
        node_outputs,
        record,
    )

    if args.bag.exists():
        raise CommandError(f"{args.bag} exists already; a bag is never overwritten")
    hands_topic = node_outputs(args.node)[0].name

    def progress(topic: str, received: int, data: bytes) -> None:
        if args.progress and topic == hands_topic:
            _print_json(event=HANDS_EVENT, stamp_ns=bags.stamp_ns(data), received_ns=received)

    with StopOnSignal("closing the bag") as stop:
        counts = record(
            args.bag,
            node_outputs(args.node),
            lambda: stop.requested,
            storage=args.storage,
            on_ready=lambda: _print_json(event=READY_EVENT, bag=str(args.bag)),
            on_message=progress,
            on_matched=lambda topic: _print_json(event=MATCHED_EVENT, topic=topic),
            ros_args=[a for a in args.ros_args if a != "--ros-args"],
        )
    _print_json(event="done", bag=str(args.bag), messages=counts)
    return 0
