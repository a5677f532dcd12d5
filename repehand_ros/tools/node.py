"""`repehand node`: the ROS 2 node, configured and activated at once (no launch needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from repehand_ros.tools.command import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "node",
        help="run the ROS 2 node (autostarted), as hands.launch.py would",
        description=(
            "Run the hands node: it configures and activates itself, subscribes to the camera "
            "and publishes ~/hands (TwoHandMesh), /tf, ~/markers and /diagnostics. "
            "ROS arguments follow --ros-args, e.g. "
            "--ros-args -r image:=/camera/color/image_raw -p device:=cuda"
        ),
    )
    parser.add_argument(
        "--params-file",
        type=Path,
        metavar="YAML",
        help="parameter file, e.g. config/hands.yaml (every parameter documented there)",
    )
    parser.add_argument(
        "--no-autostart",
        action="store_true",
        help="stay unconfigured and wait for a lifecycle manager",
    )
    parser.set_defaults(func=run, accepts_ros_args=True)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.ros.node import run as run_node

    ros_args = ["--ros-args"]
    if args.params_file is not None:
        if not args.params_file.is_file():
            raise CommandError(f"parameter file not found: {args.params_file}")
        ros_args += ["--params-file", str(args.params_file)]
    # After the file, so that it wins over the file's autostart.
    ros_args += ["-p", f"autostart:={'false' if args.no_autostart else 'true'}"]
    return run_node(["repehand-node", *ros_args, *args.ros_args])
