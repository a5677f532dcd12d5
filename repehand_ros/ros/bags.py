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
from dataclasses import dataclass
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


def camera_frames(
    path: Path,
    topic: str | None = None,
    skip: int = 0,
    limit: int | None = None,
    last_period_s: float = 1 / 30,
) -> Iterator[BagFrame]:
    """The images of a bag's image topic (Image or CompressedImage; `topic`, or the first by
    name) with their camera's CameraInfo: IMAGE_TOPIC's sibling camera_info, or the bag's
    only CameraInfo topic. SourceError for a bag without that image topic."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CameraInfo

    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    topics = topic_types(folder)
    images = sorted(t for t, kind in topics.items() if kind in (IMAGE, COMPRESSED_IMAGE))
    if not images:
        raise SourceError(f"the bag {folder} has no Image or CompressedImage topic")
    chosen = topic or images[0]
    if chosen not in images:
        raise SourceError(f"the bag {folder} has no image topic {chosen}; it has {images}")
    if len(images) > 1 and topic is None:
        logger.warning("%s has image topics %s; playing %s", folder, images, chosen)
    infos = sorted(t for t, kind in topics.items() if kind == CAMERA_INFO)
    base = chosen.removesuffix("/compressed").rsplit("/", 1)[0]
    info_topic = f"{base}/camera_info" if f"{base}/camera_info" in infos else None
    if info_topic is None and len(infos) == 1:
        info_topic = infos[0]
    image_class = message_class(topics[chosen])

    def messages() -> Iterator[tuple[Any, Any, int]]:
        info = None
        wanted = {chosen} | ({info_topic} if info_topic else set())
        for name, _, logged, data in read_messages(folder, topics=wanted):
            if name == info_topic:
                info = deserialize_message(data, CameraInfo)
            else:
                yield deserialize_message(data, image_class), info, logged

    def frame(item: tuple[Any, Any, int], next_logged: int) -> BagFrame:
        image, info, logged = item
        stamp = image.header.stamp.sec * 1_000_000_000 + image.header.stamp.nanosec
        return BagFrame(image, info, stamp, min(max((next_logged - logged) * 1e-9, 0.0), 1.0))

    previous: tuple[Any, Any, int] | None = None
    for current in window(messages(), skip, limit):
        if previous is not None:
            yield frame(previous, current[2])
        previous = current
    if previous is not None:
        yield frame(previous, previous[2] + round(1e9 * last_period_s))
