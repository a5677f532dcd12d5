"""Depth images in the two encodings of REP 118, to float32 metres.

A depth camera's driver publishes, per pixel, the depth along the optical
axis (z, not the length of the ray):

- ``16UC1``: unsigned 16-bit millimetres; 0 means no measurement.
- ``32FC1``: 32-bit float metres; NaN means no measurement, and REP 117's
  +Inf (too far) and -Inf (too near) carry no distance either. Zero and
  negative values are not distances and are treated as no data too.

Both become one float32 (H, W) array in metres with NaN wherever there is
no measurement, the form `repehand_ros.geometry.depth_fusion` takes. Other
encodings are refused with the reason (a grey ``mono16`` image is not a
depth image; compressedDepth must be decompressed by image_transport first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from repehand_ros.image_limits import MAX_IMAGE_SIDE

MILLIMETRES = "16UC1"
METRES = "32FC1"
DEPTH_ENCODINGS: tuple[str, ...] = (MILLIMETRES, METRES)

_ELEMENT: dict[str, np.dtype[Any]] = {
    MILLIMETRES: np.dtype(np.uint16),
    METRES: np.dtype(np.float32),
}


class DepthImageError(ValueError):
    """A depth image that cannot be read: its encoding, size or data says why."""


def depth_to_metres(image: np.ndarray, encoding: str) -> np.ndarray:
    """A decoded depth image (H, W) in `encoding` as float32 metres, NaN where no data.

    16UC1 must be an unsigned 16-bit array (millimetres); 32FC1 a float array
    (metres). A trailing channel axis of 1 is dropped.
    """
    _check_encoding(encoding)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.size == 0:
        raise DepthImageError(f"a {encoding} depth image must be (H, W), got shape {array.shape}")
    if encoding == MILLIMETRES:
        if array.dtype != np.uint16:
            raise DepthImageError(
                f"16UC1 depth holds unsigned 16-bit millimetres, got {array.dtype} values"
            )
        metres = array.astype(np.float32) / np.float32(1000.0)  # correctly rounded
        metres[array == 0] = np.nan
        return metres
    if array.dtype.kind != "f":
        raise DepthImageError(f"32FC1 depth holds float metres, got {array.dtype} values")
    metres = array.astype(np.float32, copy=True)
    metres[~(np.isfinite(metres) & (metres > 0))] = np.nan
    return metres


def decode_depth(
    data: bytes | bytearray | memoryview | np.ndarray,
    width: int,
    height: int,
    step: int,
    encoding: str,
    is_bigendian: bool = False,
) -> np.ndarray:
    """The bytes of a sensor_msgs/Image depth message as float32 metres (H, W), NaN where no data.

    `step` is the message's bytes per row (rows may be padded); trailing bytes
    after the last row are ignored.
    """
    _check_encoding(encoding)
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise DepthImageError(f"{encoding} depth image {name} must be positive, got {value!r}")
        if value > MAX_IMAGE_SIDE:
            raise DepthImageError(
                f"{encoding} depth image {name} {value} exceeds {MAX_IMAGE_SIDE}: corrupt header?"
            )
    element = _ELEMENT[encoding]
    row_bytes = width * element.itemsize
    if step < row_bytes or step % element.itemsize:
        raise DepthImageError(
            f"{encoding} step {step} does not fit rows of {width} pixels ({row_bytes} bytes, "
            f"a multiple of {element.itemsize})"
        )
    flat = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    flat = flat.reshape(-1).view(np.uint8)
    if flat.size < step * height:
        raise DepthImageError(
            f"{encoding} depth image {width}x{height} with step {step} needs {step * height} "
            f"bytes but has {flat.size}"
        )
    rows = flat[: step * height].reshape(height, step)[:, :row_bytes]
    stored = element.newbyteorder(">" if is_bigendian else "<")
    values = np.ascontiguousarray(rows).view(stored).reshape(height, width)
    return depth_to_metres(values.astype(element.newbyteorder("=")), encoding)


def _check_encoding(encoding: str) -> None:
    if encoding in DEPTH_ENCODINGS:
        return
    hint = ""
    if encoding.upper() in DEPTH_ENCODINGS:
        hint = f" (did you mean '{encoding.upper()}'?)"
    elif encoding == "mono16":
        hint = " (mono16 is a grey image; depth cameras publish 16UC1 millimetres, REP 118)"
    elif encoding.startswith("compressedDepth"):
        hint = " (decompress compressedDepth with image_transport first)"
    raise DepthImageError(
        f"depth encoding '{encoding}' is not supported{hint}; use one of {DEPTH_ENCODINGS}"
    )
