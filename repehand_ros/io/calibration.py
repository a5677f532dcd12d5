"""Camera calibration files, ROS-free: one reader for the formats cameras come with.

* OpenCV's own files (YAML starting `%YAML:1.0`, or XML), as OpenCV's
  calibration samples write them: `image_width`, `image_height`,
  `camera_matrix` and `distortion_coefficients` (4 or 5 numbers: plumb_bob,
  8: rational_polynomial; an optional `distortion_model` says otherwise).
* ROS calibration YAML, as camera_calibration and camera_info_manager write
  it: `image_width`, `image_height`, `camera_matrix: {rows, cols, data}`,
  `distortion_model`, `distortion_coefficients: {data}`.
* A sensor_msgs/CameraInfo message as YAML (`ros2 topic echo --once`):
  `width`, `height`, `k`, `d`, `distortion_model`, and `header.frame_id`,
  which becomes the calibration's frame id. K and D are read as
  image_geometry reads them for raw images; a message with binning or a
  region of interest is refused (its images are not the sensor's).

Every problem is a `CalibrationError` naming the file and what is wrong.
`CameraChoice` picks the camera for each image size: the calibration, given
intrinsics, or the default camera.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from repehand_ros.geometry.camera import (
    NO_DISTORTION,
    PLUMB_BOB,
    RATIONAL_POLYNOMIAL,
    PinholeCamera,
)

logger = logging.getLogger(__name__)

OPENCV = "opencv"
ROS_CALIBRATION = "ros_calibration"
CAMERA_INFO = "camera_info"

_EXPECTED = (
    "expected an OpenCV calibration file (image_width, image_height, camera_matrix, "
    "distortion_coefficients), a ROS calibration file (image_width, image_height, "
    "camera_matrix, ...) or a CameraInfo message (width, height, k, d, distortion_model)"
)


class CalibrationError(ValueError):
    """A calibration file that is missing, unreadable, incomplete or does not fit the images."""


@dataclass(frozen=True)
class Calibration:
    """What a calibration file says."""

    camera: PinholeCamera
    frame_id: str | None
    """The camera's optical frame when the file names one (a CameraInfo's header.frame_id)."""
    format: str
    """OPENCV, ROS_CALIBRATION or CAMERA_INFO."""


def read_calibration(path: Path) -> Calibration:
    """The camera a calibration file describes (any of the formats above)."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"camera info file not found: {path}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CalibrationError(f"cannot read camera info {path}: {error}") from error
    # OpenCV's: XML, or YAML with its own directive (%YAML:1.0) or matrix tags.
    if text.lstrip().startswith(("%YAML:", "<")) or "!!opencv-" in text:
        fields, frame_id, kind = _opencv_fields(path), None, OPENCV
    else:
        fields, frame_id, kind = _yaml_fields(path, text)
    missing = [name for name in ("width", "height", "k") if fields.get(name) is None]
    if missing:
        raise CalibrationError(f"camera info {path} has no {', '.join(missing)}: {_EXPECTED}")
    d = np.asarray(fields.get("d") if fields.get("d") is not None else [], dtype=np.float64)
    model = fields.get("distortion_model") or _model_for(d.size)
    try:
        camera = PinholeCamera(
            k=np.asarray(fields["k"], dtype=np.float64),
            d=d,
            distortion_model=str(model),
            width=_integer(fields["width"]),
            height=_integer(fields["height"]),
        )
    except (TypeError, ValueError) as error:
        raise CalibrationError(f"camera info {path}: {error}") from error
    return Calibration(camera, frame_id or None, kind)


def _integer(value: Any) -> Any:
    """Whole numbers as int (OpenCV stores them as reals); anything else as it is, for
    PinholeCamera to refuse by name."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _model_for(coefficients: int) -> str:
    if coefficients == 0:
        return NO_DISTORTION
    return RATIONAL_POLYNOMIAL if coefficients == 8 else PLUMB_BOB


def _opencv_fields(path: Path) -> dict[str, Any]:
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_FORMAT_AUTO)
    try:
        if not storage.isOpened():
            raise CalibrationError(f"cannot read camera info {path}: OpenCV cannot parse it")

        def node(*names: str) -> Any:
            for name in names:
                found = storage.getNode(name)
                if not found.empty() and not found.isNone():
                    return found
            return None

        width, height = node("image_width", "width"), node("image_height", "height")
        fields: dict[str, Any] = {
            "width": width.real() if width is not None else None,
            "height": height.real() if height is not None else None,
        }
        matrix = node("camera_matrix", "cameraMatrix", "K")
        fields["k"] = matrix.mat() if matrix is not None else None
        distortion = node("distortion_coefficients", "distCoeffs", "D")
        if distortion is not None:
            fields["d"] = np.asarray(distortion.mat(), dtype=np.float64).reshape(-1)
        model = node("distortion_model")
        if model is not None:
            fields["distortion_model"] = model.string()
        return fields
    except cv2.error as error:
        raise CalibrationError(f"cannot read camera info {path}: {error}") from error
    finally:
        storage.release()


def _yaml_fields(path: Path, text: str) -> tuple[dict[str, Any], str | None, str]:
    import yaml

    try:
        # `ros2 topic echo` ends each message with "---": take the first document.
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise CalibrationError(f"cannot read camera info {path}: {error}") from error
    data = documents[0] if documents else None
    if not isinstance(data, dict):
        raise CalibrationError(
            f"camera info {path}: expected a YAML mapping, got {type(data).__name__}"
        )
    lowered = {str(key).lower(): value for key, value in data.items()}

    def field(*names: str) -> Any:
        for name in names:
            if name in lowered:
                value = lowered[name]
                return value.get("data") if isinstance(value, dict) else value
        return None

    fields = {
        "width": field("image_width", "width"),
        "height": field("image_height", "height"),
        "k": field("camera_matrix", "k"),
        "d": field("distortion_coefficients", "d"),
        "distortion_model": field("distortion_model"),
    }
    if "image_width" in lowered or "camera_matrix" in lowered:
        return fields, None, ROS_CALIBRATION
    _refuse_readout(path, lowered)
    header = lowered.get("header")
    frame_id = header.get("frame_id") if isinstance(header, dict) else lowered.get("frame_id")
    return fields, str(frame_id) if frame_id else None, CAMERA_INFO


def _refuse_readout(path: Path, message: dict[str, Any]) -> None:
    """A CameraInfo with binning or a region of interest describes images cut from the sensor:
    its K is the sensor's, not theirs."""
    binning = [message.get("binning_x") or 0, message.get("binning_y") or 0]
    given = message.get("roi")
    roi: dict[str, Any] = given if isinstance(given, dict) else {}
    offsets = [roi.get(name) or 0 for name in ("x_offset", "y_offset", "width", "height")]
    if any(value > 1 for value in binning) or any(offsets):
        raise CalibrationError(
            f"camera info {path} has binning {binning} or a region of interest {offsets}: "
            "give the calibration of the images as they arrive (binning 0, no roi)"
        )


class CameraChoice:
    """The camera for each image size: a calibration (which must fit), intrinsics in pixels
    (fx, fy, cx, cy), a focal length with the principal point at the centre, or else the
    default camera (`PinholeCamera.default`)."""

    def __init__(
        self,
        calibration: PinholeCamera | None = None,
        intrinsics: tuple[float, float, float, float] | None = None,
        focal: float | None = None,
        default_warning: str | None = None,
    ) -> None:
        """`default_warning`: when given, the default camera is logged as a warning, once per
        image size, starting with this text (what would have given real intrinsics)."""
        self.calibration = calibration
        self.intrinsics = intrinsics
        self.focal = focal
        self._default_warning = default_warning
        self._by_size: dict[tuple[int, int], PinholeCamera] = {}

    @property
    def source(self) -> str:
        """ "camera_info", "intrinsics", "focal" or "default": where the cameras come from."""
        if self.calibration is not None:
            return "camera_info"
        return "intrinsics" if self.intrinsics else "focal" if self.focal else "default"

    def camera(self, width: int, height: int) -> PinholeCamera:
        """The camera of a width x height image; CalibrationError if the calibration is for
        another size."""
        if self.calibration is not None:
            calibrated = self.calibration
            if (calibrated.width, calibrated.height) != (width, height):
                raise CalibrationError(
                    f"the camera info is for {calibrated.width}x{calibrated.height} images but "
                    f"the image is {width}x{height}"
                )
            return calibrated
        if (width, height) not in self._by_size:
            self._by_size[(width, height)] = self._uncalibrated(width, height)
        return self._by_size[(width, height)]

    __call__ = camera

    def _uncalibrated(self, width: int, height: int) -> PinholeCamera:
        k = np.array(PinholeCamera.default(width, height).k)
        if self.intrinsics is not None:
            fx, fy, cx, cy = self.intrinsics
            k = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        elif self.focal is not None:
            k[0, 0] = k[1, 1] = self.focal
        elif self._default_warning is not None:
            logger.warning(
                "%s: using a default camera for %dx%d images, focal length %d px; hand depths "
                "are only approximate",
                self._default_warning,
                width,
                height,
                max(width, height),
            )
        return PinholeCamera(
            k=k, d=np.zeros(0), distortion_model=NO_DISTORTION, width=width, height=height
        )
