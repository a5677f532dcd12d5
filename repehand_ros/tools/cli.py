"""The `repehand` command: one program, one sub-command per offline tool.

Each sub-command lives in its own module under `repehand_ros.tools` and
exposes `register(subparsers)`, which adds its parser and sets `func` to a
callable taking the parsed arguments and returning the exit status. A
sub-command reports a user error by raising `CommandError` (tools.command,
which sub-commands import: this module only imports them): one clear line,
exit status 2, no stack trace. A sub-command that runs ROS sets
`accepts_ros_args=True` and receives what follows `--ros-args` as `args.ros_args`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from repehand_ros import __version__
from repehand_ros.tools.command import CommandError

# Modules that provide sub-commands, in the order `--help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "repehand_ros.tools.demo",
    "repehand_ros.tools.eval",
    "repehand_ros.tools.train",
    "repehand_ros.tools.export",
    "repehand_ros.tools.node",
    "repehand_ros.tools.retarget",
    "repehand_ros.tools.dds_demo",
    "repehand_ros.tools.showcase",
    "repehand_ros.tools.play",
    "repehand_ros.tools.record",
    "repehand_ros.tools.replay",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repehand",
        description="RepeHand two-hand reconstruction: offline tools and ROS 2 helpers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug messages as well as progress"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything from --ros-args on belongs to ROS (remappings, -p name:=value, ...).
    split = argv.index("--ros-args") if "--ros-args" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.ros_args = argv[split:]
    if args.ros_args and not getattr(args, "accepts_ros_args", False):
        parser.error(f"'repehand {args.command}' takes no --ros-args")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except CommandError as error:
        print(f"repehand {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"repehand {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: sub-commands raise the
    # module's CommandError, which a copy of the class would not catch.
    from repehand_ros.tools.cli import main as module_main

    sys.exit(module_main())
