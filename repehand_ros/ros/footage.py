"""Recorded footage as a camera would give it: videos, image folders, images and ROS 2 bags,
one after the other, each frame with the time to wait before the next.

Files are read by `repehand_ros.io.frames`, bags by `repehand_ros.ros.bags`
(their images and CameraInfo as recorded, with the recorded stamps and pace, and, when
asked, the depth images recorded with them).
`repehand play` publishes these frames, `repehand showcase` reads them again
to draw its video, and `repehand replay` reconstructs a bag's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.io.frames import (
    DEFAULT_FPS,
    IMAGE_SUFFIXES,
    SourceError,
    folder_images,
    image_frames,
    open_video,
    repeated_image,
    window,
)
from repehand_ros.ros import bags

DEFAULT_RATE_HZ = 10.0
"""Pace of folders and single images."""
DEFAULT_REPEAT = 30
"""How many times a single image is sent."""

__all__ = ["DEFAULT_RATE_HZ", "DEFAULT_REPEAT", "SourceError", "SourceFrame", "SourceOptions"]


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
    depth: list[bags.BagDepth] = field(default_factory=list)
    """A bag's depth images recorded after this image (before the next), with their
    CameraInfo; empty for other sources, or without SourceOptions.depth_topic."""
    stamp_ns: int | None = None
    """The recorded stamp (bags); None: stamp with the time of publishing."""
    extra: dict[str, Any] = field(default_factory=dict)
    """For a folder's image, "file": its name."""

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
    depth_topic: str = ""
    """A bag's depth image topic, read with its images: "" none, bags.AUTO_DEPTH the one
    aligned depth topic it has (if any), or a topic."""


def iter_frames(sources: Sequence[Path], options: SourceOptions) -> Iterator[SourceFrame]:
    """Every frame of `sources` in turn, with the time to wait after each; SourceError for a
    source that is missing or cannot be read (an unreadable image in a folder included)."""
    index = 0
    period = 1.0 / (options.rate_hz or DEFAULT_RATE_HZ)
    for path in sources:
        path = Path(path)
        if not path.exists():
            raise SourceError(f"source not found: {path}")
        name = str(path)
        if bags.is_bag(path):
            recorded = bags.camera_frames(
                path,
                options.bag_topic,
                options.skip,
                options.limit,
                1.0 / (options.rate_hz or DEFAULT_FPS),
                depth_topic=options.depth_topic,
            )
            for bag_frame in recorded:
                yield SourceFrame(
                    index,
                    name,
                    bag_frame.period_s,
                    image=bag_frame.image,
                    camera_info=bag_frame.camera_info,
                    depth=bag_frame.depth,
                    stamp_ns=bag_frame.stamp_ns,
                )
                index += 1
            continue
        if path.is_dir():
            files = image_frames(
                list(window(folder_images(path), options.skip, options.limit)), period
            )
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            files = repeated_image(path, options.repeat, period)
        else:
            with open_video(path) as video:
                frames = window(video.frames(fps=options.rate_hz), options.skip, options.limit)
                for frame in frames:
                    yield SourceFrame(index, name, frame.period_s, rgb=frame.rgb)
                    index += 1
            continue
        for frame in files:
            if frame.rgb is None:
                raise SourceError(frame.error)
            extra = {"file": frame.source} if path.is_dir() else {}
            yield SourceFrame(index, name, frame.period_s, rgb=frame.rgb, extra=extra)
            index += 1
