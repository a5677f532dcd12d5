"""ROS 2 bags through `rosbags`: types, QoS, reading, writing, and a bag's camera frames.

Messages are stored as the CDR bytes DDS carries. Writers here take bytes
that rclpy serialised (`rclpy.serialization.serialize_message`, or a raw
subscription), so what is in a bag is exactly what was or would have been
sent; readers hand back bytes too, for rclpy's `deserialize_message` or this
typestore's `deserialize_cdr`. The typestore (ROS 2 Kilted's standard
messages plus this package's msg/*.msg) supplies each connection's message
definition and RIHS01 type hash, the same as rosidl computes, so RViz,
Foxglove and `ros2 bag` read the bags. Writing and reading bytes needs no ROS
installation; `camera_frames` deserialises with rclpy.
"""

from __future__ import annotations

import functools
import importlib
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rosbags.interfaces import (
    Connection,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from repehand_ros.io.frames import SourceError, window
from repehand_ros.ros.package_files import PACKAGE, message_dir

logger = logging.getLogger(__name__)

STORAGES: dict[str, StoragePlugin] = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}

TWO_HAND_MESH = "repehand_ros/msg/TwoHandMesh"
HAND_MESH_FACES = "repehand_ros/msg/HandMeshFaces"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
MARKER_ARRAY = "visualization_msgs/msg/MarkerArray"
DIAGNOSTIC_ARRAY = "diagnostic_msgs/msg/DiagnosticArray"


@functools.cache
def typestore() -> Typestore:
    """ROS 2 Kilted's message types plus TwoHandMesh, HandMesh, ImageBox, HandMeshFaces."""
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(message_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store


def message_class(msgtype: str) -> type:
    """The rclpy message class of a type name such as `sensor_msgs/msg/Image`."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def qos(depth: int = 10, latched: bool = False, best_effort: bool = False) -> Qos:
    """An offered QoS profile to store with a connection (what `ros2 bag play` offers)."""
    zero = QosTime(sec=0, nsec=0)
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=depth,
        reliability=QosReliability.BEST_EFFORT if best_effort else QosReliability.RELIABLE,
        durability=QosDurability.TRANSIENT_LOCAL if latched else QosDurability.VOLATILE,
        deadline=zero,
        lifespan=zero,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=zero,
        avoid_ros_namespace_conventions=False,
    )


def storage_of(name: str) -> StoragePlugin:
    try:
        return STORAGES[name]
    except KeyError:
        raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {name!r}") from None


class BagWriter:
    """A new rosbag2 (version 9) that takes serialized messages; a context manager."""

    def __init__(self, path: Path | str, storage: str = "mcap") -> None:
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists already; a bag is never overwritten")
        self._writer: Writer | None = Writer(
            self.path, version=9, storage_plugin=storage_of(storage)
        )
        self._writer.open()
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    def add_topic(self, topic: str, msgtype: str, offered: Qos | None = None) -> None:
        if topic in self._connections:
            return
        self._connections[topic] = self._open_writer().add_connection(
            topic,
            msgtype,
            typestore=typestore(),
            offered_qos_profiles=[offered or qos()],
        )
        self.counts[topic] = 0

    def write(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """One serialized message, logged at `timestamp_ns` (receive time, or the stamp)."""
        self._open_writer().write(self._connections[topic], int(timestamp_ns), bytes(data))
        self.counts[topic] += 1

    def _open_writer(self) -> Writer:
        if self._writer is None:
            raise ValueError(f"the bag {self.path} is closed")
        return self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_messages(
    path: Path | str, msgtypes: set[str] | None = None, topics: set[str] | None = None
) -> Iterator[tuple[str, str, int, bytes]]:
    """(topic, msgtype, log time ns, CDR bytes) of a bag, in log-time order, filtered."""
    with Reader(Path(path)) as reader:
        connections = [
            c
            for c in reader.connections
            if (msgtypes is None or c.msgtype in msgtypes) and (topics is None or c.topic in topics)
        ]
        for connection, timestamp, data in reader.messages(connections=connections):
            yield connection.topic, connection.msgtype, timestamp, data


def topic_types(path: Path | str) -> dict[str, str]:
    """Each topic of a bag and its message type."""
    with Reader(Path(path)) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def stamp_ns(cdr: bytes | memoryview) -> int:
    """header.stamp of a message whose first field is a std_msgs/Header, from its CDR bytes."""
    data = bytes(cdr[:12])
    little = data[1] == 1  # encapsulation: 0x0001 CDR_LE, 0x0000 CDR_BE
    sec, nanosec = struct.unpack_from("<iI" if little else ">iI", data, 4)
    return sec * 1_000_000_000 + nanosec


def is_bag(path: Path) -> bool:
    """A bag's folder (with metadata.yaml), or an MCAP or sqlite3 file inside one."""
    path = Path(path)
    if path.is_dir():
        return (path / "metadata.yaml").is_file()
    return path.suffix in {".mcap", ".db3"} and (path.parent / "metadata.yaml").is_file()


AUTO_DEPTH = "auto"
"""`camera_frames(depth_topic=...)`: the bag's aligned depth topic, if it has exactly one."""
ALIGNED_DEPTH_NAMES: tuple[str, ...] = ("aligned_depth_to_color", "depth_registered")
"""Parts of the names of depth image topics registered to a colour camera: RealSense's
`aligned_depth_to_color/image_raw`, image_proc's and OpenNI's `depth_registered/image_raw`."""


@dataclass
class BagDepth:
    """One recorded depth image (sensor_msgs/Image), with its own CameraInfo when the bag has
    one beside it."""

    image: Any
    camera_info: Any = None
    """The rclpy CameraInfo recorded last before it on the depth topic's camera_info, or None
    (the colour camera's intrinsics then)."""


@dataclass
class BagFrame:
    """One recorded camera image, with the time to wait before the next at the recorded pace."""

    image: Any
    """The rclpy Image or CompressedImage, as recorded."""
    camera_info: Any
    """The rclpy CameraInfo recorded last before this image (its camera's), or None."""
    stamp_ns: int
    """The image's header stamp."""
    period_s: float
    """Log time until the next image, within [0, 1] s (a gap in a recording is not waited out)."""
    depth: list[BagDepth] = field(default_factory=list)
    """The depth images logged after this image and before the next one, in log order (the
    first frame also gets those logged before it): what a live subscriber has received by
    the time the next image comes."""


_Recorded = tuple[Any, Any, int, list[BagDepth]]
"""An image as read: the message, its CameraInfo, its log time, the depth images after it."""


def _is_depth_topic(topic: str) -> bool:
    return any("depth" in part for part in topic.split("/"))


def depth_topics(path: Path | str, depth_topic: str = AUTO_DEPTH) -> tuple[str | None, str | None]:
    """The depth image topic `camera_frames` reads from the bag at `path`, and its CameraInfo
    topic (its sibling `camera_info`, if recorded): `depth_topic` itself, checked; with
    AUTO_DEPTH the one aligned depth topic (ALIGNED_DEPTH_NAMES) the bag has, or none when it
    has none or several; "" none. SourceError for a named topic that is not an Image topic."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    topics = topic_types(folder)
    if not depth_topic:
        return None, None
    if depth_topic == AUTO_DEPTH:
        aligned = sorted(
            t
            for t, kind in topics.items()
            if kind == IMAGE and any(name in t for name in ALIGNED_DEPTH_NAMES)
        )
        if len(aligned) > 1:
            logger.warning("%s has aligned depth topics %s; using none", folder, aligned)
        if len(aligned) != 1:
            return None, None
        depth_topic = aligned[0]
    elif topics.get(depth_topic) != IMAGE:
        images = sorted(t for t, kind in topics.items() if kind == IMAGE)
        raise SourceError(f"the bag {folder} has no Image topic {depth_topic}; it has {images}")
    info = f"{depth_topic.rsplit('/', 1)[0]}/camera_info"
    return depth_topic, info if topics.get(info) == CAMERA_INFO else None


def camera_frames(
    path: Path,
    topic: str | None = None,
    skip: int = 0,
    limit: int | None = None,
    last_period_s: float = 1 / 30,
    depth_topic: str = "",
) -> Iterator[BagFrame]:
    """The images of a bag's image topic (Image or CompressedImage; `topic`, or else the
    first by name that is no depth topic) with their camera's CameraInfo: IMAGE_TOPIC's
    sibling camera_info, or the bag's only CameraInfo topic; and with `depth_topic` (see
    `depth_topics`: "" none, AUTO_DEPTH an aligned one the bag has) the depth images
    recorded after each. SourceError for a bag without that image topic."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo, Image

    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    topics = topic_types(folder)
    images = sorted(t for t, kind in topics.items() if kind in (IMAGE, COMPRESSED_IMAGE))
    if not images:
        raise SourceError(f"the bag {folder} has no Image or CompressedImage topic")
    colour = [t for t in images if not _is_depth_topic(t)] or images
    chosen = topic or colour[0]
    if chosen not in images:
        raise SourceError(f"the bag {folder} has no image topic {chosen}; it has {images}")
    if len(colour) > 1 and topic is None:
        logger.warning("%s has image topics %s; playing %s", folder, images, chosen)
    depth, depth_info_topic = depth_topics(folder, depth_topic)
    if depth == chosen:
        depth, depth_info_topic = None, None
    infos = sorted(t for t, kind in topics.items() if kind == CAMERA_INFO)
    base = chosen.removesuffix("/compressed").rsplit("/", 1)[0]
    info_topic = f"{base}/camera_info" if f"{base}/camera_info" in infos else None
    if info_topic is None and len(set(infos) - {depth_info_topic}) == 1:
        (info_topic,) = set(infos) - {depth_info_topic}
    image_class = message_class(topics[chosen])

    def messages() -> Iterator[_Recorded]:
        info = depth_info = None
        current: _Recorded | None = None
        early: list[BagDepth] = []
        wanted = {t for t in (chosen, info_topic, depth, depth_info_topic) if t}
        for name, _, logged, data in read_messages(folder, topics=wanted):
            if name == info_topic:
                info = deserialize_message(data, CameraInfo)
            elif name == depth_info_topic:
                depth_info = deserialize_message(data, CameraInfo)
            elif name == depth:
                recorded = BagDepth(deserialize_message(data, Image), depth_info)
                (current[3] if current is not None else early).append(recorded)
            else:
                if current is not None:
                    yield current
                current = (deserialize_message(data, image_class), info, logged, early)
                early = []
        if current is not None:
            yield current

    def frame(item: _Recorded, next_logged: int) -> BagFrame:
        image, info, logged, depths = item
        stamp = image.header.stamp.sec * 1_000_000_000 + image.header.stamp.nanosec
        period = min(max((next_logged - logged) * 1e-9, 0.0), 1.0)
        return BagFrame(image, info, stamp, period, depths)

    previous: _Recorded | None = None
    for current in window(messages(), skip, limit):
        if previous is not None:
            yield frame(previous, current[2])
        previous = current
    if previous is not None:
        yield frame(previous, previous[2] + round(1e9 * last_period_s))
