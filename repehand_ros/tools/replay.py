"""`repehand replay IN_BAG OUT_BAG`: the node's work on a recorded bag, offline, without ROS.

The work is `repehand_ros.ros.replay` (its description is this command's);
this module reads the options and prints the summary as one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from repehand_ros.ros import bags
from repehand_ros.tools.command import CommandError


def _description() -> str | None:
    from repehand_ros.ros import replay

    return replay.__doc__.split("\n\n", 1)[1] if replay.__doc__ else None


def _override(text: str) -> tuple[str, Any]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name.strip(), yaml.safe_load(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="run the reconstructor on a bag's images and write TwoHandMesh, TF, markers to a bag",
        description=_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("in_bag", type=Path, metavar="IN_BAG", help="bag with camera images")
    parser.add_argument("out_bag", type=Path, metavar="OUT_BAG", help="new bag (must not exist)")
    parser.add_argument(
        "--params-file",
        type=Path,
        metavar="YAML",
        help="node parameters (default: config/hands.yaml when found, else the defaults)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        type=_override,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter, e.g. --set device=cpu --set detection.mirrored=true",
    )
    parser.add_argument("--image-topic", help="the bag's image topic, when it has several")
    depth = parser.add_mutually_exclusive_group()
    depth.add_argument(
        "--depth-topic",
        default=bags.AUTO_DEPTH,
        help="the bag's depth image topic, registered (aligned) to the colour camera "
        "(default: the one aligned_depth_to_color or depth_registered topic it has, if any)",
    )
    depth.add_argument(
        "--no-depth",
        dest="depth_topic",
        action="store_const",
        const="",
        help="place the hands from the images alone, even when the bag has depth",
    )
    parser.add_argument("--node", default="/hands", help="name the outputs as this node's")
    parser.add_argument("--storage", choices=sorted(bags.STORAGES), default="mcap")
    parser.add_argument(
        "--copy-images", action="store_true", help="copy the images and CameraInfo too"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.ros.bags import is_bag
    from repehand_ros.ros.footage import SourceError
    from repehand_ros.ros.package_files import PARAMS_FILE, config_file
    from repehand_ros.ros.replay import parameter_values, replay

    if not is_bag(args.in_bag):
        raise CommandError(f"{args.in_bag} is not a ROS 2 bag (a folder with metadata.yaml)")
    if args.out_bag.exists():
        raise CommandError(f"{args.out_bag} exists already; a bag is never overwritten")
    params = args.params_file
    if params is None:
        try:
            params = config_file(PARAMS_FILE)
        except FileNotFoundError:
            params = None
    elif not params.is_file():
        raise CommandError(f"parameter file not found: {params}")
    try:
        values = parameter_values(params, dict(args.overrides))
        summary = replay(
            args.in_bag,
            args.out_bag,
            values,
            image_topic=args.image_topic,
            node=args.node,
            storage=args.storage,
            copy_images=args.copy_images,
            depth_topic=args.depth_topic,
        )
    except (SourceError, ValueError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None
    print(json.dumps({"in": str(args.in_bag), "out": str(args.out_bag), **summary}))
    return 0
