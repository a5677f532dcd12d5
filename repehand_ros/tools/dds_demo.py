"""`repehand dds-demo`: a TwoHandMesh crosses DDS between two processes, live.

The talker (this process) publishes synthetic two-hand messages, fully
populated and labelled `synthetic` in their backend field; a listener in a
second process receives them and reports what arrived and how late. It shows
that the generated messages, the ROS 2 middleware and this machine's network
set-up work, before any camera or model is involved.
"""

# The talker and the listener are repehand_ros.ros.dds_demo; this module reads the
# options, and runs as the listener's process (python -m). The docstring is --help.

from __future__ import annotations

import argparse
import sys

from repehand_ros.ros.dds_demo import DEFAULT_TOPIC, listen


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", default=DEFAULT_TOPIC, help="topic name (default: %(default)s)")
    parser.add_argument(
        "--count", type=int, default=20, help="messages to send (default: %(default)s)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for discovery and delivery (default: %(default)s)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dds-demo",
        help="show a TwoHandMesh crossing DDS between two processes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common_arguments(parser)
    parser.add_argument(
        "--rate", type=float, default=10.0, help="messages per second (default: %(default)s)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.ros.dds_demo import talk

    listener = [sys.executable, "-m", __name__]
    return talk(args.topic, args.count, args.rate, args.timeout, listener)


def listener_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The listening half of `repehand dds-demo`.")
    _add_common_arguments(parser)
    args = parser.parse_args(argv)
    return listen(args.topic, args.count, args.timeout)


if __name__ == "__main__":
    sys.exit(listener_main())
