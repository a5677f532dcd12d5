"""`repehand showcase [SOURCE...]`: the whole ROS 2 graph on recorded footage, end to end.

Three processes over real DDS, as on a robot:

    repehand play  --(Image, CameraInfo)-->  repehand node  --(TwoHandMesh, /tf,
    markers, /diagnostics)-->  repehand record  (a rosbag2)

The player publishes the footage at its own frame rate (stamped now), the
node runs with config/hands.yaml (RepeHand when its weights and MANO files
are in weights/, otherwise the MediaPipe keypoint backend), and the recorder
writes everything the node publishes into a bag. When the footage is over and
the node has answered its last frame, all three are stopped, and --out gets:

    bag/              the rosbag2 (MCAP; `ros2 bag play`, Foxglove, rosbags)
    hands.mp4         the footage with both hands drawn over it, matched by
                      stamp (hands.avi when OpenCV has no MP4 encoder)
    best_frame.png    the frame with the most, and most confident, hands
    summary.json      frames in, hands found per side, latency percentiles,
                      frames dropped (also printed)
    frames.jsonl, node.log, player.log, recorder.log   what each process did

Default SOURCE: Debian opencv-doc's tree.avi (a hand in its last frames),
then right04.jpg (a hand holding a chessboard) for a few seconds.
"""

# The graph is run by repehand_ros.ros.showcase and read back by
# repehand_ros.ros.showcase_summary; this module reads the options and prints. The
# docstring is --help.

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from repehand_ros.ros import bags
from repehand_ros.tools.command import CommandError
from repehand_ros.tools.play import add_source_arguments, default_sources, source_options

DEFAULT_OUT = Path("output")
STILL_SECONDS = 3.0
"""How long a single image (right04.jpg by default) is shown."""
REPEHAND = (
    sys.executable,
    "-c",
    "import sys; from repehand_ros.tools.cli import main; sys.exit(main())",
)
"""`repehand` with this interpreter (not `-m`: CommandError must stay one class)."""


def describe(summary: dict[str, Any]) -> str:
    """The summary in a few lines, for people."""
    latency = summary["latency_ms"]
    found = summary["hands_found"]
    lines = [
        f"frames in: {summary['frames_in']}, results: {summary['frames_with_result']} "
        f"(backend {', '.join(summary['backends']) or 'none'})",
        f"hands found: right in {found['right']}, left in {found['left']} frames",
        f"frames dropped by the node (newest first): {summary['frames_dropped']}",
    ]
    if latency:
        lines.append(
            "latency, image stamp to recorded result: "
            f"p50 {latency['p50']} ms, p90 {latency['p90']} ms, max {latency['max']} ms"
        )
    outputs = summary["outputs"]
    lines.append(f"bag: {outputs['bag']}")
    lines.append(f"video: {outputs['video']}")
    if outputs["best_frame"]:
        lines.append(f"best frame: {outputs['best_frame']}")
    lines.append(f"summary: {outputs['summary']}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "showcase",
        help="run player, node and recorder on footage; write a bag, a video and a summary",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sources",
        nargs="*",
        type=Path,
        metavar="SOURCE",
        help="video, image folder, image or bag (default: the opencv-doc footage)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (output/)")
    parser.add_argument(
        "--params-file",
        type=Path,
        metavar="YAML",
        help="the node's parameters (default: config/hands.yaml)",
    )
    parser.add_argument(
        "--namespace", default="", help="run the graph in this ROS namespace (default: none)"
    )
    parser.add_argument("--storage", choices=sorted(bags.STORAGES), default="mcap")
    add_source_arguments(parser)
    parser.set_defaults(func=run, accepts_ros_args=True, repeat=None)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.ros import showcase
    from repehand_ros.ros.package_files import PARAMS_FILE, config_file
    from repehand_ros.ros.showcase_summary import video_format
    from repehand_ros.visualization.answered_video import write_answered_video

    if args.repeat is None:
        rate = args.rate or 10.0
        args.repeat = max(1, round(STILL_SECONDS * rate))
    options = source_options(args)
    sources = list(args.sources) or default_sources()
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise CommandError(f"source not found: {', '.join(missing)}")
    try:
        params = args.params_file or config_file(PARAMS_FILE)
    except FileNotFoundError as error:
        raise CommandError(str(error)) from None
    if not params.is_file():
        raise CommandError(f"parameter file not found: {params}")
    player_args = []
    for option, value in (
        ("--camera-info", args.camera_info),
        ("--focal", args.focal),
        ("--frame-id", args.frame_id),
    ):
        if value is not None:
            player_args += [option, str(value)]
    settings = showcase.ShowcaseSettings(
        sources=[s.resolve() for s in sources],
        out=args.out,
        options=options,
        params_file=params.resolve(),
        namespace=args.namespace,
        storage=args.storage,
        node_ros_args=list(args.ros_args),
        player_args=player_args,
        repehand=REPEHAND,
    )
    print(
        "showcase: player -> node -> recorder over DDS on "
        f"{', '.join(s.name for s in settings.sources)} (logs in {args.out})",
        flush=True,
    )
    try:
        run = showcase.run_showcase(settings)
        video, best_frame = write_answered_video(
            showcase.answered_footage(settings, run),
            settings.out / "hands",
            *video_format(run.frames),
            settings.out / "best_frame.png",
        )
        summary = showcase.write_summary(settings, run, video, best_frame)
    except RuntimeError as error:
        raise CommandError(str(error)) from None
    print(describe(summary))
    print(json.dumps({key: summary[key] for key in summary if key != "messages"}))
    return 0
