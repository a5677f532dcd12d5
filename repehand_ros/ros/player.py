"""A camera stand-in: recorded footage published over ROS 2 as Image and CameraInfo.

Images go out as rgb8 (a bag's CompressedImage decoded, unless kept) with
sensor-data QoS (best effort, keep last 5, as camera drivers do), each just
after its CameraInfo, at the footage's own pace (`repehand_ros.ros.footage`).
Stamps are the time of publishing, or a bag's recorded ones; the frame id is
the given one, a bag's recorded one, or DEFAULT_FRAME_ID. With a log file,
every published frame is appended to it as one JSON line (index, source,
stamp_ns, frame_id, size, period_s, published_ns).

A bag's depth images (`SourceFrame.depth`: an aligned depth topic read with
its images) go out as recorded on the depth topic, with their own CameraInfo
when the bag has one, just after the image they were recorded after: the
order a camera driver sends them in. Restamped, a depth image keeps its
recorded offset from the stamp of its image, the one it was recorded with
(the nearest not before it): one recorded ahead of its image waits until that
image is out and its new stamp known, so that the pairs stay paired. A frame
id given for the images is theirs too (aligned depth is in the colour
camera's frame). The depth publishers are made with the first depth image:
footage without depth advertises no depth topic.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.io.calibration import CameraChoice
from repehand_ros.ros.footage import SourceFrame

logger = logging.getLogger(__name__)

DEFAULT_FRAME_ID = "camera_optical_frame"


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
    depth_topic: str = "depth/image"
    """Where a bag's depth images go."""
    depth_camera_info_topic: str = "depth/camera_info"
    """Where their own CameraInfo goes, when the bag has one."""


def play(
    frames: Iterator[SourceFrame],
    settings: PlayerSettings,
    cameras: CameraChoice,
    log_path: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Publish `frames` at their pace, until they end or `should_stop()`; returns the number
    of images published.

    ROS is initialised in a context of its own, without signal handlers (the caller decides
    when to stop). A bag's CameraInfo goes out as recorded unless `cameras` has a calibration;
    other frames get `cameras.camera(width, height)`.
    """
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
    depth = _DepthPublishers(node, settings, qos)
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
            if should_stop is not None and should_stop():
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
            info = _camera_info(frame, message, header, cameras)
            info_publisher.publish(info)
            if published == 0:
                time.sleep(0.05)  # the first CameraInfo before the first image
            publisher.publish(message)
            published += 1
            depth.publish(frame, stamp_ns, settings.frame_id)
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


DEPTH_SUBSCRIBER_WAIT_S = 3.0
"""Longest wait, seconds, for the depth topic's first subscriber once depth is first sent."""


class _DepthPublishers:
    """A bag's depth images and their CameraInfo, published as recorded (see the module)."""

    def __init__(self, node: Any, settings: PlayerSettings, qos: Any) -> None:
        self._node, self._settings, self._qos = node, settings, qos
        self._images: Any = None
        self._infos: Any = None
        self._waiting: list[Any] = []
        """Depth images recorded ahead of their (restamped) image, not yet out."""

    def publish(self, frame: SourceFrame, stamp_ns: int, frame_id: str | None) -> None:
        """The depth images recorded after `frame`'s image, just published stamped
        `stamp_ns`, and those that waited for it."""
        from builtin_interfaces.msg import Time
        from sensor_msgs.msg import CameraInfo, Image

        due, self._waiting = [*self._waiting, *frame.depth], []
        if not due:
            return
        if self._images is None:
            settings = self._settings
            self._images = self._node.create_publisher(Image, settings.depth_topic, self._qos)
            self._infos = self._node.create_publisher(
                CameraInfo, settings.depth_camera_info_topic, self._qos
            )
            if settings.wait_s > 0:
                # Made on the first depth image: one sent before its subscription has
                # matched is lost, as for the images (see play). A graph that takes no
                # depth (the keypoint backend) is waited for briefly only.
                wait_s = min(settings.wait_s, DEPTH_SUBSCRIBER_WAIT_S)
                _wait_for_subscriber((self._images,), wait_s, settings.depth_topic)
        recorded_ns = frame.stamp_ns if frame.stamp_ns is not None else stamp_ns
        for depth in due:
            header = depth.image.header
            own_ns = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
            if stamp_ns != recorded_ns and own_ns > recorded_ns:
                self._waiting.append(depth)  # a later image's: its new stamp is not known yet
                continue
            moved = max(0, stamp_ns + own_ns - recorded_ns)
            header.stamp = Time(sec=moved // 1_000_000_000, nanosec=moved % 1_000_000_000)
            header.frame_id = frame_id or header.frame_id
            if depth.camera_info is not None:
                depth.camera_info.header = header
                self._infos.publish(depth.camera_info)
            self._images.publish(depth.image)


def _wait_for_subscriber(publishers: Sequence[Any], timeout_s: float, topic: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(p.get_subscription_count() for p in publishers):
        if time.monotonic() > deadline:
            logger.warning("no subscriber on %s after %.0f s; playing anyway", topic, timeout_s)
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


def _camera_info(frame: SourceFrame, message: Any, header: Any, cameras: CameraChoice) -> Any:
    if frame.camera_info is not None and cameras.calibration is None:
        info = frame.camera_info
        info.header = header
        return info
    if hasattr(message, "width"):
        width, height = message.width, message.height
    else:
        height, width = frame.to_rgb().shape[:2]
    return camera_info_message(cameras.camera(width, height), header)
