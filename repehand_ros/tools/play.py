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
  rgb8 unless `--keep-compressed`).

Images go out as rgb8 stamped with the time of publishing (bags: the
recorded stamp, unless `--restamp`), in `--frame-id`. Intrinsics: a ROS
calibration YAML (`--camera-info`, as camera_calibration writes), a focal
length (`--focal`), or else the default camera: focal length max(width,
height) pixels, principal point at the image centre, no distortion
(`PinholeCamera.default`: about 53 degrees across the long side, like a
webcam). A CameraInfo goes out just before each image.

With `--log FILE` every published frame is appended to FILE as one JSON line
(index, source, stamp_ns, size), so that results can be matched back to
frames (the showcase does).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.geometry.camera import PinholeCamera

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
DEFAULT_RATE_HZ = 10.0
DEFAULT_VIDEO_RATE_HZ = 30.0
DEFAULT_REPEAT = 30
DEFAULT_FRAME_ID = "camera_optical_frame"


class SourceError(ValueError):
    """A source that cannot be played: missing, unreadable, or with nothing in it."""


@dataclass
class SourceFrame:
    """One frame of a source, decoded (`rgb`) or as a bag recorded it (`image`)."""

    index: int
    """Position among all frames of all sources played, from 0."""
    source: str
    period_s: float
    """Time to wait after this frame before the next."""
    rgb: np.ndarray | None = None
    image: Any = None
    """A bag's rclpy Image or CompressedImage, as recorded."""
    camera_info: Any = None
    """A bag's rclpy CameraInfo, the last one recorded before this image."""
    stamp_ns: int | None = None
    """The recorded stamp (bags); None: stamp with the time of publishing."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_rgb(self) -> np.ndarray:
        """H x W x 3 uint8 RGB, whatever the source."""
        if self.rgb is not None:
            return self.rgb
        from sensor_msgs.msg import CompressedImage

        from repehand_ros.ros.camera_info import image_size
        from repehand_ros.ros.image_conversion import rgb_from_compressed, rgb_from_image

        if isinstance(self.image, CompressedImage):
            # The recorded CameraInfo bounds what the image may decode to, when it says.
            size = image_size(self.camera_info) if self.camera_info is not None else (0, 0)
            return rgb_from_compressed(self.image, expected_size=size if all(size) else None)
        return rgb_from_image(self.image)


@dataclass(frozen=True)
class SourceOptions:
    rate_hz: float | None = None
    """Frame rate for videos (instead of theirs), folders and single images."""
    repeat: int = DEFAULT_REPEAT
    """How many times a single image is sent."""
    skip: int = 0
    """Frames skipped at the start of each video, folder or bag."""
    limit: int | None = None
    """At most this many frames of each video, folder or bag."""
    bag_topic: str | None = None
    """The bag's image topic, when it has several."""


def is_bag(path: Path) -> bool:
    if path.is_dir():
        return (path / "metadata.yaml").is_file()
    return path.suffix in {".mcap", ".db3"} and (path.parent / "metadata.yaml").is_file()


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SourceError(f"cannot read the image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _window(items: Iterator[Any], options: SourceOptions) -> Iterator[Any]:
    for number, item in enumerate(items):
        if number < options.skip:
            continue
        if options.limit is not None and number >= options.skip + options.limit:
            return
        yield item


def _video_frames(path: Path, options: SourceOptions) -> Iterator[tuple[np.ndarray, float]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"{path}: OpenCV cannot open it as a video (or an image, folder, bag)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    rate = options.rate_hz or (fps if 0.5 <= fps <= 1000 else DEFAULT_VIDEO_RATE_HZ)

    def decoded() -> Iterator[np.ndarray]:
        try:
            ok, frame = capture.read()
            while ok:
                yield frame
                ok, frame = capture.read()
        finally:
            capture.release()

    for bgr in _window(decoded(), options):
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), 1.0 / rate


def _bag_frames(path: Path, options: SourceOptions) -> Iterator[tuple[Any, Any, float, int]]:
    """(image message, camera info message or None, period s, recorded stamp ns)."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo

    from repehand_ros.tools import bags

    folder = path if path.is_dir() else path.parent
    topics = bags.topic_types(folder)
    images = sorted(t for t, kind in topics.items() if kind in (bags.IMAGE, bags.COMPRESSED_IMAGE))
    if not images:
        raise SourceError(f"the bag {folder} has no Image or CompressedImage topic")
    topic = options.bag_topic or images[0]
    if topic not in images:
        raise SourceError(f"the bag {folder} has no image topic {topic}; it has {images}")
    if len(images) > 1 and options.bag_topic is None:
        print(f"play: {folder} has image topics {images}; playing {topic}", file=sys.stderr)
    infos = sorted(t for t, kind in topics.items() if kind == bags.CAMERA_INFO)
    base = topic.removesuffix("/compressed").rsplit("/", 1)[0]
    info_topic = f"{base}/camera_info" if f"{base}/camera_info" in infos else None
    if info_topic is None and len(infos) == 1:
        info_topic = infos[0]
    image_class = bags.message_class(topics[topic])

    def messages() -> Iterator[tuple[Any, Any, int]]:
        info = None
        wanted = {topic} | ({info_topic} if info_topic else set())
        for name, _, logged, data in bags.read_messages(folder, topics=wanted):
            if name == info_topic:
                info = deserialize_message(data, CameraInfo)
            else:
                yield deserialize_message(data, image_class), info, logged

    previous: tuple[Any, Any, int] | None = None
    for current in _window(messages(), options):
        if previous is not None:
            yield _bag_frame(previous, current[2])
        previous = current
    if previous is not None:
        yield _bag_frame(previous, previous[2] + round(1e9 / (options.rate_hz or 30.0)))


def _bag_frame(item: tuple[Any, Any, int], next_logged: int) -> tuple[Any, Any, float, int]:
    image, info, logged = item
    stamp = image.header.stamp.sec * 1_000_000_000 + image.header.stamp.nanosec
    # The recorded pace, within reason (a gap in a recording is not waited out).
    period = min(max((next_logged - logged) * 1e-9, 0.0), 1.0)
    return image, info, period, stamp


def iter_frames(sources: Sequence[Path], options: SourceOptions) -> Iterator[SourceFrame]:
    """Every frame of `sources` in turn, with the time to wait after each."""
    index = 0
    for path in sources:
        path = Path(path)
        if not path.exists():
            raise SourceError(f"source not found: {path}")
        name = str(path)
        if is_bag(path):
            for image, info, period, stamp in _bag_frames(path, options):
                yield SourceFrame(
                    index, name, period, image=image, camera_info=info, stamp_ns=stamp
                )
                index += 1
        elif path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise SourceError(f"the folder {path} holds no images ({sorted(IMAGE_SUFFIXES)})")
            period = 1.0 / (options.rate_hz or DEFAULT_RATE_HZ)
            for file in _window(iter(files), options):
                yield SourceFrame(
                    index, name, period, rgb=_read_rgb(file), extra={"file": file.name}
                )
                index += 1
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            rgb = _read_rgb(path)
            period = 1.0 / (options.rate_hz or DEFAULT_RATE_HZ)
            for _ in range(options.repeat):
                yield SourceFrame(index, name, period, rgb=rgb)
                index += 1
        else:
            for rgb, period in _video_frames(path, options):
                yield SourceFrame(index, name, period, rgb=rgb)
                index += 1


def default_sources() -> list[Path]:
    """The opencv-doc footage: tree.avi (a hand in its last frames), then right04.jpg."""
    from repehand_ros.data.footage import FootageUnavailableError, footage_path

    try:
        return [footage_path("tree.avi"), footage_path("right04.jpg")]
    except FootageUnavailableError as error:
        raise SourceError(f"the default footage is not available: {error}") from None


# -- intrinsics -------------------------------------------------------------------------------


def load_calibration(path: Path) -> PinholeCamera:
    """A ROS camera calibration YAML (camera_calibration, camera_info_manager) as a camera."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
        return PinholeCamera(
            k=np.asarray(data["camera_matrix"]["data"], dtype=np.float64),
            d=np.asarray(data.get("distortion_coefficients", {}).get("data", []), np.float64),
            distortion_model=data.get("distortion_model", "plumb_bob"),
            width=int(data["image_width"]),
            height=int(data["image_height"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise SourceError(f"cannot use the calibration file {path}: {error}") from None


class Intrinsics:
    """The camera to announce for each image size: calibrated, a focal length, or the default."""

    def __init__(self, calibration: PinholeCamera | None = None, focal: float | None = None):
        self.calibration = calibration
        self.focal = focal

    def camera(self, width: int, height: int) -> PinholeCamera:
        if self.calibration is not None:
            calibrated = self.calibration
            if (calibrated.width, calibrated.height) != (width, height):
                raise SourceError(
                    f"the calibration is for {calibrated.width}x{calibrated.height} images, "
                    f"the footage is {width}x{height}"
                )
            return calibrated
        camera = PinholeCamera.default(width, height)
        if self.focal is None:
            return camera
        k = np.array(camera.k)
        k[0, 0] = k[1, 1] = self.focal
        return PinholeCamera(k=k, d=camera.d, distortion_model="", width=width, height=height)


def camera_info_message(camera: PinholeCamera, header: Any) -> Any:
    """A CameraInfo for `camera` (R identity, P = [K | 0], as for a monocular camera)."""
    from sensor_msgs.msg import CameraInfo

    k = np.asarray(camera.k, dtype=np.float64)
    info = CameraInfo(header=header, width=camera.width, height=camera.height)
    info.distortion_model = camera.distortion_model or "plumb_bob"
    info.d = [float(v) for v in camera.d] or [0.0] * 5
    info.k = k.reshape(-1).tolist()
    info.r = np.eye(3).reshape(-1).tolist()
    info.p = np.hstack([k, np.zeros((3, 1))]).reshape(-1).tolist()
    return info


# -- the player -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerSettings:
    image_topic: str = "image"
    camera_info_topic: str = "camera_info"
    frame_id: str | None = None
    """None: DEFAULT_FRAME_ID, or a bag's recorded frame id."""
    restamp: bool = False
    """Stamp bag images with the time of publishing instead of the recorded stamp."""
    keep_compressed: bool = False
    """Publish a bag's CompressedImage as recorded on IMAGE_TOPIC/compressed."""
    wait_s: float = 30.0
    """Wait this long for a subscriber to the image topic before the first frame (0: none)."""


def play(
    frames: Iterator[SourceFrame],
    settings: PlayerSettings,
    intrinsics: Intrinsics,
    log_path: Path | None = None,
    stop: Any = None,
) -> int:
    """Publish `frames` at their pace; returns the number of images published."""
    import rclpy
    from builtin_interfaces.msg import Time
    from rclpy.qos import qos_profile_sensor_data
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image
    from std_msgs.msg import Header

    from repehand_ros.ros.image_conversion import image_from_rgb

    context = rclpy.Context()
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("repehand_player", context=context)
    qos = qos_profile_sensor_data
    image_publisher = node.create_publisher(Image, settings.image_topic, qos)
    compressed_publisher = node.create_publisher(
        CompressedImage, f"{settings.image_topic}/compressed", qos
    )
    info_publisher = node.create_publisher(CameraInfo, settings.camera_info_topic, qos)
    log = open(log_path, "a") if log_path else None  # noqa: SIM115 (closed below)
    published = 0
    try:
        if settings.wait_s > 0:
            _wait_for_subscriber(
                (image_publisher, compressed_publisher), settings.wait_s, image_publisher.topic_name
            )
            # The first image needs its CameraInfo: one sent before that subscription has
            # matched is lost, and the image after it is skipped for want of intrinsics.
            _wait_for_subscriber((info_publisher,), settings.wait_s, info_publisher.topic_name)
        start = time.monotonic()
        due = start
        for frame in frames:
            if stop is not None and stop.is_set():
                break
            time.sleep(max(0.0, due - time.monotonic()))
            due = max(due + frame.period_s, time.monotonic() - 1.0)
            stamp_ns = frame.stamp_ns
            if stamp_ns is None or settings.restamp:
                stamp_ns = time.time_ns()
            stamp = Time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
            frame_id = settings.frame_id
            if frame.image is not None:
                frame_id = frame_id or frame.image.header.frame_id or DEFAULT_FRAME_ID
            header = Header(stamp=stamp, frame_id=frame_id or DEFAULT_FRAME_ID)
            message = _image_message(frame, header, settings, image_from_rgb)
            compressed = isinstance(message, CompressedImage)
            publisher = compressed_publisher if compressed else image_publisher
            info = _camera_info(frame, message, header, intrinsics)
            info_publisher.publish(info)
            if published == 0:
                time.sleep(0.05)  # the first CameraInfo before the first image
            publisher.publish(message)
            published += 1
            if log is not None:
                record = {
                    "index": frame.index,
                    "source": frame.source,
                    "stamp_ns": stamp_ns,
                    "frame_id": header.frame_id,
                    "width": info.width,
                    "height": info.height,
                    "period_s": frame.period_s,
                    "published_ns": time.time_ns(),
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
        # Let the last frame leave before the publishers go.
        time.sleep(0.2)
    finally:
        if log is not None:
            log.close()
        node.destroy_node()
        rclpy.shutdown(context=context)
    return published


def _wait_for_subscriber(publishers: Sequence[Any], timeout_s: float, topic: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(p.get_subscription_count() for p in publishers):
        if time.monotonic() > deadline:
            print(f"play: no subscriber on {topic} after {timeout_s:.0f} s; playing anyway")
            return
        time.sleep(0.05)
    time.sleep(0.5)  # the rest of the graph (the node's publishers, a recorder) settles


def _image_message(frame: SourceFrame, header: Any, settings: PlayerSettings, image_from_rgb):
    from sensor_msgs.msg import CompressedImage

    if frame.image is None:
        return image_from_rgb(frame.rgb, header)
    if isinstance(frame.image, CompressedImage) and not settings.keep_compressed:
        return image_from_rgb(frame.to_rgb(), header)
    frame.image.header = header
    return frame.image


def _camera_info(frame: SourceFrame, message: Any, header: Any, intrinsics: Intrinsics) -> Any:
    if frame.camera_info is not None and intrinsics.calibration is None:
        info = frame.camera_info
        info.header = header
        return info
    if hasattr(message, "width"):
        width, height = message.width, message.height
    else:
        height, width = frame.to_rgb().shape[:2]
    return camera_info_message(intrinsics.camera(width, height), header)


# -- the command ------------------------------------------------------------------------------


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
        "--camera-info", type=Path, metavar="YAML", help="calibration file (camera_calibration)"
    )
    parser.add_argument("--focal", type=float, help="focal length in pixels (no calibration)")
    parser.add_argument(
        "--frame-id", help=f"the images' frame (default {DEFAULT_FRAME_ID}; bags: as recorded)"
    )


def source_options(args: argparse.Namespace) -> SourceOptions:
    from repehand_ros.tools.command import CommandError

    if args.rate is not None and not 0.01 <= args.rate <= 1000:
        raise CommandError(f"--rate must be in [0.01, 1000], got {args.rate}")
    if args.repeat < 1 or args.skip < 0 or (args.limit is not None and args.limit < 1):
        raise CommandError("--repeat and --limit must be at least 1, --skip at least 0")
    return SourceOptions(args.rate, args.repeat, args.skip, args.limit, args.bag_topic)


def intrinsics_of(args: argparse.Namespace) -> Intrinsics:
    from repehand_ros.tools.command import CommandError

    if args.focal is not None and not args.focal > 0:
        raise CommandError(f"--focal must be positive, got {args.focal}")
    try:
        calibration = load_calibration(args.camera_info) if args.camera_info else None
    except SourceError as error:
        raise CommandError(str(error)) from None
    return Intrinsics(calibration, args.focal)


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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import threading

    from repehand_ros.tools.command import CommandError

    options = source_options(args)
    intrinsics = intrinsics_of(args)
    settings = PlayerSettings(
        image_topic=args.image_topic,
        camera_info_topic=args.camera_info_topic,
        frame_id=args.frame_id,
        restamp=args.restamp,
        keep_compressed=args.keep_compressed,
        wait_s=args.wait,
    )
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    try:
        sources = list(args.sources) or default_sources()
        frames = iter_frames(sources, options)
        count = play(frames, settings, intrinsics, args.log, stop)
    except SourceError as error:
        raise CommandError(str(error)) from None
    print(json.dumps({"event": "done", "frames": count, "sources": [str(s) for s in sources]}))
    return 0
