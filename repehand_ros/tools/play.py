"""`repehand play SOURCE...`: a camera stand-in publishing recorded footage over ROS 2.

Publishes `sensor_msgs/Image` and `sensor_msgs/CameraInfo` (sensor-data QoS:
best effort, keep last 5, as camera drivers do) at the footage's own rate,
from each SOURCE in turn:

* a video file (its frame rate; 30 Hz when the file does not say);
* a folder of images (sorted by name), or a single image repeated `--repeat`
  times (both at `--rate`, 10 Hz by default);
* a ROS 2 bag (folder with metadata.yaml, MCAP or sqlite3), read with
  `rosbags`: Image or CompressedImage and CameraInfo as recorded, at the
  recorded pace, stamps and frame ids kept (CompressedImage is decoded to
  rgb8 unless `--keep-compressed`); and its aligned depth images (RealSense's
  `aligned_depth_to_color/image_raw`, `depth_registered`, or
  `--bag-depth-topic`), with their CameraInfo if recorded, on `--depth-topic`
  just after the image they were recorded after (`--no-depth`: not).

Images go out as rgb8 stamped with the time of publishing (bags: the
recorded stamp, unless `--restamp`), in `--frame-id`. Intrinsics: a
calibration file (`--camera-info`: OpenCV's YAML or XML, camera_calibration's
YAML, or a CameraInfo as YAML, whose frame id is then the default), a focal
length (`--focal`), or else the default camera: focal length max(width,
height) pixels, principal point at the image centre, no distortion
(`PinholeCamera.default`: about 53 degrees across the long side, like a
webcam). A CameraInfo goes out just before each image.

With `--log FILE` every published frame is appended to FILE as one JSON line
(index, source, stamp_ns, size), so that results can be matched back to
frames (the showcase does).
"""

# The frames come from repehand_ros.ros.footage and repehand_ros.ros.player publishes
# them; this module reads the options and reports. The docstring is --help.

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from repehand_ros.ros.footage import DEFAULT_REPEAT
from repehand_ros.ros.player import DEFAULT_FRAME_ID
from repehand_ros.tools.command import CommandError

if TYPE_CHECKING:
    from repehand_ros.io.calibration import Calibration
    from repehand_ros.ros.footage import SourceOptions


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that choose and pace the frames (shared with `repehand showcase`)."""
    parser.add_argument(
        "--rate", type=float, help="frames per second (default: a video's own, 10 for images)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"how many times a single image is sent (default {DEFAULT_REPEAT})",
    )
    parser.add_argument("--skip", type=int, default=0, help="skip the first N frames of a video")
    parser.add_argument("--limit", type=int, help="at most N frames of each video, folder or bag")
    parser.add_argument("--bag-topic", help="a bag's image topic, when it has several")
    parser.add_argument(
        "--camera-info",
        type=Path,
        metavar="FILE",
        help="calibration file: OpenCV YAML/XML, camera_calibration YAML or a CameraInfo as YAML",
    )
    parser.add_argument("--focal", type=float, help="focal length in pixels (no calibration)")
    parser.add_argument(
        "--frame-id", help=f"the images' frame (default {DEFAULT_FRAME_ID}; bags: as recorded)"
    )


def source_options(args: argparse.Namespace) -> SourceOptions:
    from repehand_ros.ros.footage import SourceOptions

    if args.rate is not None and not 0.01 <= args.rate <= 1000:
        raise CommandError(f"--rate must be in [0.01, 1000], got {args.rate}")
    if args.repeat < 1 or args.skip < 0 or (args.limit is not None and args.limit < 1):
        raise CommandError("--repeat and --limit must be at least 1, --skip at least 0")
    return SourceOptions(args.rate, args.repeat, args.skip, args.limit, args.bag_topic)


def calibration_of(args: argparse.Namespace) -> Calibration | None:
    """The --camera-info file (checked with --focal); CommandError for a bad one."""
    from repehand_ros.io.calibration import CalibrationError, read_calibration

    if args.focal is not None and not args.focal > 0:
        raise CommandError(f"--focal must be positive, got {args.focal}")
    try:
        return read_calibration(args.camera_info) if args.camera_info else None
    except CalibrationError as error:
        raise CommandError(str(error)) from None


def default_sources() -> list[Path]:
    """The opencv-doc footage: tree.avi (a hand in its last frames), then right04.jpg."""
    from repehand_ros.data.footage import FootageUnavailableError, footage_path

    try:
        return [footage_path("tree.avi"), footage_path("right04.jpg")]
    except FootageUnavailableError as error:
        raise CommandError(f"the default footage is not available: {error}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "play",
        help="publish a video, image folder, image or bag as a camera (Image + CameraInfo)",
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
    add_source_arguments(parser)
    parser.add_argument("--image-topic", default="image")
    parser.add_argument("--camera-info-topic", default="camera_info")
    parser.add_argument("--restamp", action="store_true", help="stamp bag images with now")
    parser.add_argument(
        "--keep-compressed",
        action="store_true",
        help="publish a bag's CompressedImage as recorded, on IMAGE_TOPIC/compressed",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="wait up to this long for a subscriber before the first frame (0: do not)",
    )
    parser.add_argument("--log", type=Path, help="append one JSON line per published frame")
    depth = parser.add_mutually_exclusive_group()
    depth.add_argument(
        "--bag-depth-topic",
        help="a bag's depth image topic (default: its one aligned depth topic, if any)",
    )
    depth.add_argument(
        "--no-depth", action="store_true", help="do not publish a bag's depth images"
    )
    parser.add_argument(
        "--depth-topic", default="depth/image", help="where a bag's depth images go"
    )
    parser.add_argument(
        "--depth-camera-info-topic",
        default="depth/camera_info",
        help="where their CameraInfo goes, when the bag has one",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from repehand_ros.io.calibration import CalibrationError, CameraChoice
    from repehand_ros.io.signals import StopOnSignal
    from repehand_ros.ros.bags import AUTO_DEPTH
    from repehand_ros.ros.footage import SourceError, iter_frames
    from repehand_ros.ros.player import PlayerSettings, play

    depth_topic = "" if args.no_depth else args.bag_depth_topic or AUTO_DEPTH
    options = dataclasses.replace(source_options(args), depth_topic=depth_topic)
    calibration = calibration_of(args)
    cameras = CameraChoice(calibration.camera if calibration else None, focal=args.focal)
    settings = PlayerSettings(
        image_topic=args.image_topic,
        camera_info_topic=args.camera_info_topic,
        frame_id=args.frame_id or (calibration.frame_id if calibration else None),
        restamp=args.restamp,
        keep_compressed=args.keep_compressed,
        wait_s=args.wait,
        depth_topic=args.depth_topic,
        depth_camera_info_topic=args.depth_camera_info_topic,
    )
    sources = list(args.sources) or default_sources()
    try:
        with StopOnSignal("publishing no more frames") as stop:
            frames = iter_frames(sources, options)
            count = play(frames, settings, cameras, args.log, lambda: stop.requested)
    except (SourceError, CalibrationError) as error:
        raise CommandError(str(error)) from None
    print(json.dumps({"event": "done", "frames": count, "sources": [str(s) for s in sources]}))
    return 0
