"""Camera messages to the RGB arrays the reconstructor wants, and back for tests and tools.

One function per direction and one error type, like cv_bridge. The ROS 2 cv_bridge
is used when it is importable; this module's own conversion stands in for it when it
is not, and behaves the same for the encodings both handle. Every message is checked
here first (size, step, length, encoding) so that a bad frame raises
ImageConversionError with a message a user can act on, never an error from deep
inside numpy or OpenCV.

Encoding decisions (every name in sensor_msgs/image_encodings.hpp):

- rgb8/bgr8/rgba8/bgra8 and their 16-bit forms: colour; alpha is dropped.
- mono8/mono16 and 8UC1: grey, repeated into three channels.
- 8UC3/8UC4 and 16UC3/16UC4: OpenCV's channel order, BGR and BGRA.
- 16UC1, every 32FC/64FC type: refused, these carry depth (REP 118) or other
  measurements, not light; 8SC/16SC/32SC: refused, signed values are not an image.
  Any two-channel type: refused, nothing says which two channels they are.
- bayer_*8/16: demosaiced with OpenCV (bilinear), as cv_bridge does.
- uyvy (alias yuv422) and yuyv (alias yuv422_yuy2): packed YUV 4:2:2, width even.
- nv12/nv21: a Y plane of ``step`` bytes per row, then height / 2 rows of
  interleaved chroma with the same step; width and height even.
- nv24: a Y plane, then height rows of full-resolution interleaved UV with twice
  the step. The same BT.601 limited-range matrix as OpenCV's nv12/nv21.
- 16-bit values become 8-bit by dropping the low byte (``>> 8``); ``is_bigendian``
  is honoured. cv_bridge rounds (``* 255 / 65535``), so the two differ by at most 1.

Trailing bytes past the last row are ignored (some drivers send whole buffers).

Compressed images: JPEG and PNG only, the formats of image_transport's compressed
plugin, told apart by their magic bytes. Their header is read before anything is
decoded, and a size of no pixels, over MAX_SIDE a side or unlike the CameraInfo's is
refused there: a 55 KB JPEG claiming 20000x20000 pixels otherwise costs 2.3 GB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from repehand_ros.image_limits import MAX_IMAGE_SIDE, limit_opencv_decoders
from repehand_ros.io.compressed_headers import (
    CompressedHeader,
    CompressedHeaderError,
    read_compressed_header,
)

MAX_SIDE = MAX_IMAGE_SIDE
"""Largest accepted width or height (see repehand_ros.image_limits)."""

limit_opencv_decoders()  # a no-op when the package's import already did it

import cv2  # noqa: E402  (after the limits, which OpenCV reads when it loads)

try:
    from cv_bridge import CvBridge, CvBridgeError

    _BRIDGE: Any = CvBridge()
    _BRIDGE_ERRORS: tuple[type[Exception], ...] = (CvBridgeError,)
except ImportError:
    _BRIDGE = None
    _BRIDGE_ERRORS = ()

_CONVERSION_ERRORS: tuple[type[Exception], ...] = (cv2.error, *_BRIDGE_ERRORS)
"""What OpenCV and cv_bridge raise for an image they cannot convert."""


class ImageConversionError(ValueError):
    """An image message that cannot become an RGB image; the message says why."""


@dataclass(frozen=True)
class _Layout:
    """How one encoding's bytes are laid out and how they become RGB."""

    channels: int
    """Elements per pixel in the (first) plane."""
    bits: int
    """8 or 16 bits per element."""
    code: int | None
    """OpenCV conversion to RGB; None for a plain copy or NV24."""
    planes: str = "packed"
    """"packed", "420" (nv12/nv21) or "444" (nv24)."""

    @property
    def bytes_per_pixel(self) -> int:
        return self.channels * self.bits // 8


_LAYOUTS: dict[str, _Layout] = {
    "rgb8": _Layout(3, 8, None),
    "rgba8": _Layout(4, 8, cv2.COLOR_RGBA2RGB),
    "rgb16": _Layout(3, 16, None),
    "rgba16": _Layout(4, 16, cv2.COLOR_RGBA2RGB),
    "bgr8": _Layout(3, 8, cv2.COLOR_BGR2RGB),
    "bgra8": _Layout(4, 8, cv2.COLOR_BGRA2RGB),
    "bgr16": _Layout(3, 16, cv2.COLOR_BGR2RGB),
    "bgra16": _Layout(4, 16, cv2.COLOR_BGRA2RGB),
    "mono8": _Layout(1, 8, cv2.COLOR_GRAY2RGB),
    "mono16": _Layout(1, 16, cv2.COLOR_GRAY2RGB),
    # ROS names the pattern from the top-left pixel, OpenCV from the second row and column.
    "bayer_rggb8": _Layout(1, 8, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr8": _Layout(1, 8, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": _Layout(1, 8, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg8": _Layout(1, 8, cv2.COLOR_BayerGB2RGB),
    "bayer_rggb16": _Layout(1, 16, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr16": _Layout(1, 16, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg16": _Layout(1, 16, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg16": _Layout(1, 16, cv2.COLOR_BayerGB2RGB),
    "uyvy": _Layout(2, 8, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422": _Layout(2, 8, cv2.COLOR_YUV2RGB_UYVY),
    "yuyv": _Layout(2, 8, cv2.COLOR_YUV2RGB_YUY2),
    "yuv422_yuy2": _Layout(2, 8, cv2.COLOR_YUV2RGB_YUY2),
    "nv12": _Layout(1, 8, cv2.COLOR_YUV2RGB_NV12, "420"),
    "nv21": _Layout(1, 8, cv2.COLOR_YUV2RGB_NV21, "420"),
    "nv24": _Layout(1, 8, None, "444"),
    # The generic OpenCV types that can hold a picture, in OpenCV's channel order.
    "8UC1": _Layout(1, 8, cv2.COLOR_GRAY2RGB),
    "8UC3": _Layout(3, 8, cv2.COLOR_BGR2RGB),
    "8UC4": _Layout(4, 8, cv2.COLOR_BGRA2RGB),
    "16UC3": _Layout(3, 16, cv2.COLOR_BGR2RGB),
    "16UC4": _Layout(4, 16, cv2.COLOR_BGRA2RGB),
}

# cv_bridge converts these from their names alone; the generic types it either refuses
# or passes through without a channel order, so those always take this module's path.
_CV_BRIDGE_ENCODINGS = frozenset(
    name for name in _LAYOUTS if not name[0].isdigit() and _LAYOUTS[name].planes == "packed"
)

_GENERIC_TYPE = re.compile(r"(8|16|32|64)([USF])C([0-9]*)")


def _refusal(encoding: str) -> str:
    """Why an encoding outside _LAYOUTS cannot be a colour image."""
    if not encoding:
        return "the message has no encoding set"
    match = _GENERIC_TYPE.fullmatch(encoding)
    if match is None:
        hint = f" (did you mean '{encoding.lower()}'?)" if encoding.lower() in _LAYOUTS else ""
        return f"unknown encoding '{encoding}'{hint}"
    bits, kind, channels = match.group(1), match.group(2), int(match.group(3) or 1)
    if kind == "F":
        return (
            f"'{encoding}' holds floating-point values (depth or another measurement); "
            "a colour or grey camera image is needed"
        )
    if kind == "S":
        return f"'{encoding}' holds signed integers, not light; a colour or grey image is needed"
    if bits == "16" and channels == 1:
        return (
            f"'{encoding}' is how depth images are sent (REP 118, millimetres); "
            "a colour or grey camera image is needed (a 16-bit grey camera sends 'mono16')"
        )
    if channels == 2:
        return (
            f"'{encoding}' has two channels and nothing says which; for YUV 4:2:2 "
            "send 'uyvy' or 'yuyv'"
        )
    return f"'{encoding}' is not an image type this node can read ({channels} channels)"


def _layout_of(encoding: str) -> _Layout:
    generic = _GENERIC_TYPE.fullmatch(encoding)
    # "8UC" means "8UC1", as in OpenCV and sensor_msgs.
    single = encoding + "1" if generic is not None and not generic.group(3) else encoding
    layout = _LAYOUTS.get(single)
    if layout is None:
        raise ImageConversionError(f"cannot convert to RGB: {_refusal(encoding)}")
    return layout


def _data_size(layout: _Layout, step: int, height: int) -> int:
    """Bytes the message must hold for its step and height."""
    if layout.planes == "420":
        return step * height + step * (height // 2)
    if layout.planes == "444":
        return 3 * step * height
    return step * height


def _check(msg: Image, layout: _Layout) -> np.ndarray:
    """Validate the message's geometry; return its data as a flat uint8 array."""
    width, height, step, encoding = msg.width, msg.height, msg.step, msg.encoding
    if width == 0 or height == 0:
        raise ImageConversionError(f"{encoding} image has no pixels ({width}x{height})")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageConversionError(
            f"{encoding} image of {width}x{height} is larger than {MAX_SIDE} pixels a side; "
            "the header is probably corrupt"
        )
    row_bytes = width * layout.bytes_per_pixel
    if step < row_bytes:
        raise ImageConversionError(
            f"{encoding} step {step} is smaller than a row of {width} pixels "
            f"({row_bytes} bytes); step is bytes per row, not pixels"
        )
    element = layout.bits // 8
    if step % element:
        raise ImageConversionError(
            f"{encoding} step {step} is not a multiple of the {element}-byte element size"
        )
    if layout.channels == 2 and width % 2:
        raise ImageConversionError(
            f"{encoding} packs two pixels in four bytes, so width must be even, not {width}"
        )
    if layout.planes == "420" and (width % 2 or height % 2):
        raise ImageConversionError(
            f"{encoding} shares chroma between 2x2 pixels, so width and height must be even, "
            f"not {width}x{height}"
        )
    flat = np.frombuffer(msg.data, dtype=np.uint8)
    needed = _data_size(layout, step, height)
    if flat.size < needed:
        raise ImageConversionError(
            f"{encoding} image {width}x{height} with step {step} needs {needed} bytes "
            f"but data has {flat.size}: truncated message or wrong step/height"
        )
    return flat


def _rows(flat: np.ndarray, step: int, height: int, row_bytes: int) -> np.ndarray:
    """height x row_bytes view of the pixel bytes, skipping any row padding."""
    return flat[: step * height].reshape(height, step)[:, :row_bytes]


def _own_conversion(msg: Image, layout: _Layout, flat: np.ndarray) -> np.ndarray:
    width, height, step = msg.width, msg.height, msg.step
    if layout.planes == "420":
        assert layout.code is not None  # every 4:2:0 layout names OpenCV's conversion
        yuv = flat[: step * (height + height // 2)].reshape(-1, step)[:, :width]
        return cv2.cvtColor(np.ascontiguousarray(yuv), layout.code)
    if layout.planes == "444":
        return _rgb_from_nv24(flat, width, height, step)
    row_bytes = width * layout.bytes_per_pixel
    pixels = _rows(flat, step, height, row_bytes).reshape(height, width, layout.bytes_per_pixel)
    if layout.bits == 16:
        pixels = (pixels.view(">u2" if msg.is_bigendian else "<u2") >> 8).astype(np.uint8)
    return pixels if layout.code is None else cv2.cvtColor(pixels, layout.code)


def _rgb_from_nv24(flat: np.ndarray, width: int, height: int, step: int) -> np.ndarray:
    """NV24 with OpenCV's nv12 matrix (BT.601, limited range), which OpenCV lacks for 4:4:4."""
    luma = _rows(flat, step, height, width).astype(np.float32)
    chroma = flat[step * height : 3 * step * height].reshape(height, 2 * step)[:, : 2 * width]
    chroma = chroma.reshape(height, width, 2).astype(np.float32) - 128.0
    u, v = chroma[..., 0], chroma[..., 1]
    y = 1.164 * np.maximum(luma - 16.0, 0.0)
    rgb = np.stack((y + 1.596 * v, y - 0.813 * v - 0.391 * u, y + 2.018 * u), axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _uses_cv_bridge(msg: Image, layout: _Layout) -> bool:
    """Whether cv_bridge reads this message correctly, so its answer can be used."""
    if _BRIDGE is None or msg.encoding not in _CV_BRIDGE_ENCODINGS:
        return False
    # cv_bridge's Python side assumes rows of whole pixels and little-endian data.
    whole_pixels = msg.step % layout.bytes_per_pixel == 0
    return whole_pixels and not (layout.bits == 16 and msg.is_bigendian)


def rgb_from_image(msg: Image) -> np.ndarray:
    """H x W x 3 uint8 RGB, C-contiguous and owning its memory, from a sensor_msgs/Image.

    Raises ImageConversionError for an encoding that is not a colour or grey image
    and for a malformed message (size, step, truncated data).
    """
    layout = _layout_of(msg.encoding)
    flat = _check(msg, layout)
    try:
        if _uses_cv_bridge(msg, layout):
            rgb = _BRIDGE.imgmsg_to_cv2(msg, desired_encoding="rgb8")
        else:
            rgb = _own_conversion(msg, layout, flat)
    except _CONVERSION_ERRORS as error:
        raise ImageConversionError(f"could not convert {msg.encoding} to RGB: {error}") from error
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    # A view of the message buffer would change when the caller reuses the message.
    return rgb if rgb.flags.owndata else rgb.copy()


def _check_declared_size(
    header: CompressedHeader, fmt: str, expected_size: tuple[int, int] | None
) -> None:
    """Refuse, before any decoding, a size that is empty, too large or not the camera's."""
    declared = f"{header.width}x{header.height}"
    what = f"{header.format.upper()} image ({fmt})"
    if header.width == 0 or header.height == 0:
        raise ImageConversionError(f"{what} declares {declared}: no pixels")
    if header.width > MAX_SIDE or header.height > MAX_SIDE:
        raise ImageConversionError(
            f"{what} declares {declared}, larger than {MAX_SIDE} pixels a side; refused "
            "before decoding (a corrupt or hostile header)"
        )
    if expected_size is not None and (header.width, header.height) != tuple(expected_size):
        width, height = expected_size
        raise ImageConversionError(
            f"{what} declares {declared} but CameraInfo says {width}x{height}"
        )


# EXIF orientation is ignored: CameraInfo describes the sensor's pixels, not a rotated
# copy. IMREAD_REDUCED_* is not used: it would hand the model a smaller image than the
# CameraInfo describes, and for PNG it decodes at full size before shrinking anyway.
_DECODE_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION


def rgb_from_compressed(
    msg: CompressedImage, expected_size: tuple[int, int] | None = None
) -> np.ndarray:
    """H x W x 3 uint8 RGB from a JPEG or PNG CompressedImage.

    The header is read first: another format, a malformed header, a size of no
    pixels or over MAX_SIDE a side, or one unlike `expected_size` (width, height:
    the CameraInfo's) raises ImageConversionError before anything is decoded, so a
    small message cannot make the node allocate gigabytes. OpenCV decodes, as
    cv_bridge's compressed path does, and the decoded size must be the declared one.
    """
    fmt = msg.format or "unspecified format"
    if "compresseddepth" in fmt.lower():
        raise ImageConversionError(
            f"'{fmt}' is a compressed depth image; a colour or grey camera image is needed"
        )
    data = bytes(msg.data)
    if not data:
        raise ImageConversionError(f"CompressedImage ({fmt}) has no data")
    try:
        header = read_compressed_header(data)
    except CompressedHeaderError as error:
        raise ImageConversionError(f"refused {len(data)} bytes of {fmt}: {error}") from None
    _check_declared_size(header, fmt, expected_size)
    try:
        bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _DECODE_FLAGS)
    except cv2.error as error:
        raise ImageConversionError(f"OpenCV could not decode {fmt}: {error}") from error
    if bgr is None:
        raise ImageConversionError(
            f"could not decode {len(data)} bytes of {fmt} data: a corrupt "
            f"{header.format.upper()} image"
        )
    if bgr.shape[:2] != (header.height, header.width):
        raise ImageConversionError(
            f"{fmt} decoded to {bgr.shape[1]}x{bgr.shape[0]} but its header declares "
            f"{header.width}x{header.height}; refused"
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


_FROM_RGB = {"rgb8": None, "bgr8": cv2.COLOR_RGB2BGR, "mono8": cv2.COLOR_RGB2GRAY}


def image_from_rgb(rgb: np.ndarray, header: Header, encoding: str = "rgb8") -> Image:
    """A sensor_msgs/Image holding an RGB array, for tests and tools (rgb8, bgr8 or mono8)."""
    if encoding not in _FROM_RGB:
        raise ImageConversionError(
            f"image_from_rgb writes {', '.join(_FROM_RGB)}, not '{encoding}'"
        )
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageConversionError(
            f"image_from_rgb needs an H x W x 3 uint8 array, got {rgb.shape} {rgb.dtype}"
        )
    code = _FROM_RGB[encoding]
    pixels = np.ascontiguousarray(rgb if code is None else cv2.cvtColor(rgb, code))
    height, width = rgb.shape[:2]
    return Image(
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=pixels.strides[0],
        data=pixels.tobytes(),
    )
