"""sensor_msgs/CameraInfo to the camera model, as image_geometry reads it.

image_geometry's PinholeCameraModel is the reference every ROS camera
pipeline agrees with, so a CameraInfo means here what it means there:

- Raw images (`image_raw`, `image_color`, ...) are distorted: they are seen
  through K and the distortion model D.
- Rectified images (`image_rect*` topics, from image_proc) are already
  undistorted and rectified: they are seen through P's left 3x3 part, with no
  distortion. P's fourth column (Tx, Ty: a stereo pair's baseline) relates
  the rectified frames of two cameras and is not part of one camera's
  projection; like image_geometry's ray functions, the rays of a rectified
  image are taken in the CameraInfo's own frame.
- Binning and region of interest describe how the image was read off the
  sensor: f' = f / binning, c' = (c - roi offset) / binning on each axis
  (image_geometry's `fromCameraInfo`), and the image is roi size / binning
  pixels (its `reducedResolution`), the whole sensor when the ROI is all zeros.
- The camera's frame is the CameraInfo's `header.frame_id` (image_geometry's
  `tfFrame`).

A camera that was never calibrated publishes K (and P) all zeros
(camera_info_manager's uncalibrated CameraInfo), or at least no focal length:
that is no camera model, and `UncalibratedCameraError` says so, so that the
caller can choose between skipping such images and a stand-in camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from repehand_ros.geometry.camera import NO_DISTORTION, PinholeCamera

RAW = "raw"
RECTIFIED = "rectified"
AUTO = "auto"
PROJECTIONS: tuple[str, ...] = (AUTO, RAW, RECTIFIED)
"""How images are seen: by K and D (raw), by P (rectified), or by the image topic's name."""

RECTIFIED_TOPIC_PREFIX = "image_rect"
"""image_proc's rectified topics: image_rect, image_rect_color, ..."""


class UncalibratedCameraError(ValueError):
    """A CameraInfo whose intrinsics are all zeros: the camera was never calibrated."""


@dataclass(frozen=True)
class CameraInfoModel:
    """What one CameraInfo says about the images it belongs to.

    Attributes:
        camera: the intrinsics of the images as they arrive (binning and ROI applied).
        frame_id: the camera's optical frame, the CameraInfo's header.frame_id ("" when
            it has none).
    """

    camera: PinholeCamera
    frame_id: str


def is_rectified_topic(topic: str) -> bool:
    """True for image_proc's rectified topics: the image topic's last name (before
    image_transport's "/compressed") starts with "image_rect"."""
    name = topic.rstrip("/").removesuffix("/compressed").rsplit("/", 1)[-1]
    return name.startswith(RECTIFIED_TOPIC_PREFIX)


def sees_rectified(projection: str, image_topic: str) -> bool:
    """Whether images on `image_topic` are rectified under `projection` (auto, raw, rectified)."""
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
    if projection == AUTO:
        return is_rectified_topic(image_topic)
    return projection == RECTIFIED


def image_size(info: Any) -> tuple[int, int]:
    """(width, height) of the images a CameraInfo describes: the ROI (or the whole sensor)
    divided by the binning."""
    binning_x, binning_y = max(1, int(info.binning_x)), max(1, int(info.binning_y))
    roi = info.roi
    whole = roi.x_offset == roi.y_offset == roi.width == roi.height == 0
    width, height = (info.width, info.height) if whole else (roi.width, roi.height)
    return int(width) // binning_x, int(height) // binning_y


def _check_readout(info: Any) -> None:
    """Refuses a region of interest that leaves the sensor, or a binning that leaves no
    pixel: intrinsics shifted by such an offset would place the hands anywhere."""
    roi = info.roi
    if not roi.x_offset == roi.y_offset == roi.width == roi.height == 0:
        inside = (
            roi.width > 0
            and roi.height > 0
            and roi.x_offset + roi.width <= info.width
            and roi.y_offset + roi.height <= info.height
        )
        if not inside:
            raise ValueError(
                f"CameraInfo roi ({roi.x_offset}, {roi.y_offset}) {roi.width}x{roi.height} "
                f"is not inside the {info.width}x{info.height} sensor"
            )
    if not all(image_size(info)):
        raise ValueError(
            f"CameraInfo binning {info.binning_x}x{info.binning_y} leaves no pixel of the "
            f"{info.width}x{info.height} sensor"
        )


def camera_model(info: Any, rectified: bool) -> CameraInfoModel:
    """The camera model of a CameraInfo; ValueError (UncalibratedCameraError for all-zero
    intrinsics) naming what is wrong."""
    matrix = np.asarray(info.p if rectified else info.k, dtype=np.float64)
    name = "p" if rectified else "k"
    if matrix.size != (12 if rectified else 9):
        raise ValueError(f"CameraInfo {name} must hold {12 if rectified else 9} numbers")
    intrinsics = matrix.reshape(3, -1)[:, :3].copy()
    if intrinsics[0, 0] == 0.0 and intrinsics[1, 1] == 0.0:
        raise UncalibratedCameraError(
            f"CameraInfo {name} has no focal length (fx = fy = 0; all zeros is what an "
            f"uncalibrated driver sends): the camera is not calibrated"
        )
    _check_readout(info)
    binning = (max(1, int(info.binning_x)), max(1, int(info.binning_y)))
    roi = info.roi
    offset = (float(roi.x_offset), float(roi.y_offset))
    for axis in (0, 1):
        intrinsics[axis, axis] /= binning[axis]
        intrinsics[axis, 2] = (intrinsics[axis, 2] - offset[axis]) / binning[axis]
    width, height = image_size(info)
    camera = PinholeCamera(
        k=intrinsics,
        d=np.zeros(0) if rectified else info.d,
        distortion_model=NO_DISTORTION if rectified else info.distortion_model,
        width=width,
        height=height,
    )
    return CameraInfoModel(camera=camera, frame_id=info.header.frame_id)
