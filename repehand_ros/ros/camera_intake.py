"""What comes in from the camera: the intrinsics of its CameraInfo, and which images get an
answer, with which header (see frame_admission), counted and said when they do not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from std_msgs.msg import Header

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.ros.camera_info import UncalibratedCameraError, camera_model, image_size
from repehand_ros.ros.diagnostics import NodeStats
from repehand_ros.ros.frame_admission import (
    HeaderError,
    check_stamp,
    output_frame_id,
    tf2_frame_id,
)
from repehand_ros.ros.reason_limited import ReasonLimitedWarnings

DEFAULT_PINHOLE = "default_pinhole"
"""The `uncalibrated_camera` value that runs an uncalibrated camera with a stand-in pinhole."""


@dataclass(frozen=True)
class Intrinsics:
    """What the last CameraInfo gives the images that follow it."""

    camera: PinholeCamera | None
    """None: a default pinhole from each image's size (an uncalibrated camera)."""
    frame_id: str
    """The CameraInfo's frame ("" when it names none)."""
    image_size: tuple[int, int] | None
    """(width, height) the images must have; None when the CameraInfo does not say."""

    def camera_for(self, width: int, height: int) -> PinholeCamera:
        """The camera of a width x height image: the CameraInfo's, or the stand-in pinhole."""
        return self.camera or PinholeCamera.default(width, height)


@dataclass
class AdmittedImage:
    """An image that gets an answer: its intrinsics when it arrived, and the header every one
    of its outputs carries."""

    message: Any
    """The sensor_msgs Image or CompressedImage."""
    intrinsics: Intrinsics
    header: Header


class CameraIntake:
    """CameraInfo in, intrinsics kept; each image admitted with its header, or refused.

    Runs on the executor's thread. `rectified` says how the images are seen (see
    camera_info); `uncalibrated_policy()` is read at each CameraInfo, so a change of
    the parameter applies from the next one.
    """

    def __init__(
        self,
        stats: NodeStats,
        warn: Callable[[str], object],
        uncalibrated_policy: Callable[[], str],
    ) -> None:
        self.stats = stats
        self._warn = warn
        self.warn_per_reason = ReasonLimitedWarnings(warn)
        """Warnings about bad input: each reason at most every few seconds."""
        self._uncalibrated_policy = uncalibrated_policy
        self.intrinsics: Intrinsics | None = None
        self.state = "no CameraInfo yet"
        """Where the intrinsics come from, for /diagnostics."""
        self.rectified = False
        self.camera_info_topic = ""
        self._told_default_pinhole = False

    @property
    def approximate(self) -> bool:
        """True while a stand-in pinhole places the hands (distances approximate)."""
        return self.intrinsics is not None and self.intrinsics.camera is None

    def on_camera_info(self, message: Any) -> None:
        projection = "P (rectified images)" if self.rectified else "K and D (raw images)"
        try:
            model = camera_model(message, rectified=self.rectified)
        except UncalibratedCameraError as error:
            self._on_uncalibrated(message, str(error))
            return
        except ValueError as error:
            self.intrinsics = None
            self.state = f"CameraInfo refused: {error}"
            self.stats.bad_camera_info()
            self.warn_per_reason(f"ignoring CameraInfo on {self.camera_info_topic}: {error}")
            return
        camera = model.camera
        self.intrinsics = Intrinsics(camera, model.frame_id, (camera.width, camera.height))
        self.state = f"CameraInfo, {projection}"

    def _on_uncalibrated(self, message: Any, problem: str) -> None:
        topic = self.camera_info_topic
        if self._uncalibrated_policy() == DEFAULT_PINHOLE:
            size = image_size(message)
            self.intrinsics = Intrinsics(None, message.header.frame_id, size if all(size) else None)
            self.state = "default pinhole: uncalibrated camera, distances approximate"
            if not self._told_default_pinhole:
                self._told_default_pinhole = True
                self._warn(
                    f"{problem} (CameraInfo on {topic}): using a default pinhole from the image "
                    "size (focal length max(width, height) px, centred, no distortion), as "
                    "parameter uncalibrated_camera asks; the hands' directions are right, their "
                    "distances only approximate. Calibrate the camera (camera_calibration) for "
                    "metric hands."
                )
            return
        self.intrinsics = None
        self.state = "uncalibrated camera: images skipped"
        self.warn_per_reason(
            f"{problem} (CameraInfo on {topic}): its images are skipped. Calibrate the camera "
            "(camera_calibration), or set parameter uncalibrated_camera to default_pinhole to "
            "run with a default pinhole (approximate distances)."
        )

    def admit(self, message: Any) -> AdmittedImage | None:
        """The image with the header its outputs carry, or None when it gets no answer
        (counted once, and said: each reason rate-limited alone)."""
        self.stats.frame_received()
        intrinsics = self.intrinsics
        if intrinsics is None:
            self.stats.frame_without_camera_info()
            self.warn_per_reason(
                f"image skipped: no usable CameraInfo on {self.camera_info_topic} "
                f"({self.state}); intrinsics are needed to place the hands in metres"
            )
            return None
        header = message.header
        try:
            check_stamp(header.stamp)
            frame_id = output_frame_id(header.frame_id, intrinsics.frame_id)
        except HeaderError as error:
            self.stats.bad_frame()
            self.warn_per_reason(f"image refused: {error}")
            return None
        if header.frame_id and tf2_frame_id(header.frame_id) != frame_id:
            self.warn_per_reason(
                f"the images are in frame {header.frame_id!r} but their CameraInfo in "
                f"{frame_id!r}: the outputs are in the CameraInfo's frame, whose intrinsics "
                "they are computed with (as image_geometry does)"
            )
        return AdmittedImage(message, intrinsics, Header(stamp=header.stamp, frame_id=frame_id))

    def warn_about_input(self, text: str) -> None:
        """A bad-input warning, rate-limited per reason (for what fails later, in the work)."""
        self.warn_per_reason(text)
