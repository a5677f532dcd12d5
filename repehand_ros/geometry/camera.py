"""The camera model: intrinsics and lens distortion as sensor_msgs/CameraInfo gives them.

Pixels follow OpenCV's convention (pixel (i, j) has its centre at (i, j)),
the convention of CameraInfo's K. 3D points are in the camera's optical frame
(x right, y down, z forward), metres. Normalised image coordinates are
(x / z, y / z) of an undistorted ray.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

_LOG = logging.getLogger(__name__)

PLUMB_BOB = "plumb_bob"
RATIONAL_POLYNOMIAL = "rational_polynomial"
EQUIDISTANT = "equidistant"
NO_DISTORTION = ""

# Number of coefficients each CameraInfo distortion model may carry; an empty
# list means "no distortion" for every model (some drivers publish that).
_COEFFICIENT_COUNTS: dict[str, tuple[int, ...]] = {
    PLUMB_BOB: (0, 4, 5),
    RATIONAL_POLYNOMIAL: (0, 8),
    EQUIDISTANT: (0, 4),
    NO_DISTORTION: (0,),
}

# undistortPoints' default (5 fixed iterations) leaves visible error near the
# corners under strong distortion: iterate to convergence instead.
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-10)


@dataclass(frozen=True, eq=False)
class PinholeCamera:
    """A calibrated camera: K, distortion coefficients and model, image size.

    Built from the fields of sensor_msgs/CameraInfo (`k` as its 9 numbers or a
    3x3 matrix, `d`, `distortion_model`, `width`, `height`); invalid values are
    refused with a ValueError naming the field, so a bad CameraInfo fails here
    rather than deep inside OpenCV. Arrays are stored as read-only float64.
    """

    k: np.ndarray
    d: np.ndarray
    distortion_model: str
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"camera {name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "k", _checked_matrix(self.k))
        model = self.distortion_model
        if model not in _COEFFICIENT_COUNTS:
            raise ValueError(
                f"camera distortion_model {model!r} is not supported; use one of "
                f"{sorted(_COEFFICIENT_COUNTS)}"
            )
        d = np.asarray(self.d, dtype=np.float64).reshape(-1)
        if d.size not in _COEFFICIENT_COUNTS[model]:
            raise ValueError(
                f"camera d: distortion_model {model!r} takes "
                f"{' or '.join(map(str, _COEFFICIENT_COUNTS[model]))} coefficients, got {d.size}"
            )
        if not np.all(np.isfinite(d)):
            raise ValueError(f"camera d contains NaN or infinity: {d.tolist()}")
        d.flags.writeable = False
        object.__setattr__(self, "d", d)

    @classmethod
    def default(cls, width: int, height: int) -> PinholeCamera:
        """A stand-in camera for when the intrinsics are unknown.

        Focal length max(width, height) pixels (about 53 degrees across the
        long side, near a typical webcam's 50-70), principal point at the
        image centre, no distortion. Directions to the hands are then roughly
        right, but depth scales with the focal length: a camera whose true
        focal length is 20% longer puts the hands 20% farther than this one.
        """
        camera = cls(
            k=np.array(
                [
                    [max(width, height), 0.0, 0.5 * (width - 1)],
                    [0.0, max(width, height), 0.5 * (height - 1)],
                    [0.0, 0.0, 1.0],
                ]
            ),
            d=np.zeros(0),
            distortion_model=NO_DISTORTION,
            width=width,
            height=height,
        )
        _LOG.debug("no intrinsics: using the default camera f=%d px", max(width, height))
        return camera

    @property
    def fx(self) -> float:
        return float(self.k[0, 0])

    @property
    def fy(self) -> float:
        return float(self.k[1, 1])

    @property
    def cx(self) -> float:
        return float(self.k[0, 2])

    @property
    def cy(self) -> float:
        return float(self.k[1, 2])

    @property
    def is_fisheye(self) -> bool:
        return self.distortion_model == EQUIDISTANT

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.d != 0.0))

    def undistort_points(self, pixels: np.ndarray) -> np.ndarray:
        """Distorted pixels (N, 2) to normalised image coordinates (N, 2) of their rays."""
        points = _points(pixels, 2, "pixels")
        if len(points) == 0:
            return np.zeros((0, 2))
        if not self.has_distortion:
            return (points - (self.cx, self.cy)) / (self.fx, self.fy)
        src = points.reshape(-1, 1, 2)
        if self.is_fisheye:
            out = cv2.fisheye.undistortPoints(src, self.k, self.d, criteria=_UNDISTORT_CRITERIA)
        else:
            out = cv2.undistortPoints(src, self.k, self.d, criteria=_UNDISTORT_CRITERIA)
        return out.reshape(-1, 2).astype(np.float64)

    def project(self, points: np.ndarray) -> np.ndarray:
        """3D points (N, 3) in the camera frame, metres, to distorted pixels (N, 2).

        Points not in front of the camera (z <= 0) have no image: their rows are NaN.
        """
        xyz = _points(points, 3, "points")
        pixels = np.full((len(xyz), 2), np.nan)
        in_front = xyz[:, 2] > 0
        if not np.any(in_front):
            return pixels
        visible = xyz[in_front]
        if not self.has_distortion:
            pixels[in_front] = visible[:, :2] / visible[:, 2:] * (self.fx, self.fy) + (
                self.cx,
                self.cy,
            )
            return pixels
        zero = np.zeros(3)
        if self.is_fisheye:
            image, _ = cv2.fisheye.projectPoints(
                visible.reshape(-1, 1, 3), zero, zero, self.k, self.d
            )
        else:
            image, _ = cv2.projectPoints(visible, zero, zero, self.k, self.d)
        pixels[in_front] = image.reshape(-1, 2)
        return pixels


def _checked_matrix(k: np.ndarray) -> np.ndarray:
    matrix = np.asarray(k, dtype=np.float64)
    if matrix.shape == (9,):
        matrix = matrix.reshape(3, 3)
    if matrix.shape != (3, 3):
        raise ValueError(f"camera k must have 9 entries (3x3), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"camera k contains NaN or infinity: {matrix.reshape(-1).tolist()}")
    fx, fy = matrix[0, 0], matrix[1, 1]
    if not (fx > 0 and fy > 0):
        raise ValueError(
            f"camera k: focal lengths must be positive, got fx={fx}, fy={fy} "
            "(an all-zero K means the camera is not calibrated: use PinholeCamera.default)"
        )
    if matrix[0, 1] != 0.0:
        raise ValueError(
            f"camera k: skew k[0,1]={matrix[0, 1]} is not supported (OpenCV ignores it)"
        )
    if matrix[1, 0] != 0.0 or matrix[2, 0] != 0.0 or matrix[2, 1] != 0.0 or matrix[2, 2] != 1.0:
        raise ValueError(f"camera k: expected [[fx,0,cx],[0,fy,cy],[0,0,1]], got {matrix.tolist()}")
    matrix = matrix.copy()
    matrix.flags.writeable = False
    return matrix


def _points(points: np.ndarray, dim: int, name: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"{name}: expected shape (N, {dim}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contain NaN or infinity")
    return array
