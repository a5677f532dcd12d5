"""Every sensor_msgs image encoding becomes the right RGB image or a clear error.

Messages are built by hand from a known tiled colour pattern, independently of the
code under test: packed bytes, row padding and byte order are laid out here.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from repehand_ros.ros import image_conversion
from repehand_ros.ros.image_conversion import (
    MAX_SIDE,
    ImageConversionError,
    image_from_rgb,
    rgb_from_compressed,
    rgb_from_image,
)

# Every name in sensor_msgs/image_encodings.hpp (ROS 2 Kilted).
ALL_ENCODINGS = [
    *("rgb8", "rgba8", "rgb16", "rgba16", "bgr8", "bgra8", "bgr16", "bgra16", "mono8", "mono16"),
    *(f"{t}C{n}" for t in ("8U", "8S", "16U", "16S", "32S", "32F", "64F") for n in range(1, 5)),
    *(f"bayer_{p}{b}" for b in (8, 16) for p in ("rggb", "bggr", "gbrg", "grbg")),
    *("uyvy", "yuv422", "yuyv", "yuv422_yuy2", "nv12", "nv21", "nv24"),
]

HEIGHT, WIDTH, TILE = 32, 48, 8
REAL_BRIDGE = image_conversion._BRIDGE


def tiled_pattern() -> np.ndarray:
    """HEIGHT x WIDTH x 3 RGB made of TILE-sized tiles of distinct colours."""
    rng = np.random.default_rng(7)
    tiles = rng.integers(20, 236, size=(HEIGHT // TILE, WIDTH // TILE, 3), dtype=np.uint8)
    tiles[0, 0], tiles[0, 1], tiles[0, 2] = (230, 20, 20), (20, 230, 20), (20, 20, 230)
    return np.repeat(np.repeat(tiles, TILE, axis=0), TILE, axis=1)


PATTERN = tiled_pattern()
GREY = cv2.cvtColor(PATTERN, cv2.COLOR_RGB2GRAY)


def away_from_tile_edges(size: int) -> np.ndarray:
    """Where demosaicing sees only one tile: at least two pixels from every tile edge."""
    offset = np.arange(size) % TILE
    return (offset >= 2) & (offset < TILE - 2)


INTERIOR = away_from_tile_edges(HEIGHT)[:, None] & away_from_tile_edges(WIDTH)[None, :]


def message(
    encoding: str, planes: list[np.ndarray], pad: int = 0, bigendian: bool = False
) -> Image:
    """An Image from planes of row bytes; pad bytes end every row, scaled per plane."""
    step = planes[0].shape[1] + pad
    chunks = []
    for plane in planes:
        stride = step * plane.shape[1] // planes[0].shape[1]
        padded = np.full((plane.shape[0], stride), 0xAB, dtype=np.uint8)
        padded[:, : plane.shape[1]] = plane
        chunks.append(padded.tobytes())
    return Image(
        header=Header(frame_id="camera_optical_frame"),
        height=HEIGHT,
        width=WIDTH,
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=step,
        data=b"".join(chunks),
    )


def rows(pixels: np.ndarray) -> np.ndarray:
    """Pixels (H x W [x C], any dtype) as H x row-bytes uint8, in memory order."""
    return np.ascontiguousarray(pixels).view(np.uint8).reshape(pixels.shape[0], -1)


def sixteen_bit(pixels8: np.ndarray, bigendian: bool) -> np.ndarray:
    """8-bit values as the high byte of 16-bit ones, with noise in the low byte."""
    low = np.random.default_rng(3).integers(0, 256, pixels8.shape, dtype=np.uint16)
    values = (pixels8.astype(np.uint16) << 8) | low
    return values.astype(">u2" if bigendian else "<u2")


def with_alpha(pixels: np.ndarray) -> np.ndarray:
    alpha = np.random.default_rng(5).integers(0, 256, (*pixels.shape[:2], 1), dtype=np.uint8)
    return np.concatenate([pixels, alpha], axis=2)


def mosaic(pattern: str) -> np.ndarray:
    """A Bayer mosaic of PATTERN; pattern names the 2x2 cell from the top left, like ROS."""
    channel = {"r": 0, "g": 1, "b": 2}
    out = np.empty((HEIGHT, WIDTH), dtype=np.uint8)
    for index, letter in enumerate(pattern):
        dy, dx = divmod(index, 2)
        out[dy::2, dx::2] = PATTERN[dy::2, dx::2, channel[letter]]
    return out


def i420_planes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V planes (4:2:0) of PATTERN from OpenCV's encoder."""
    i420 = cv2.cvtColor(PATTERN, cv2.COLOR_RGB2YUV_I420)
    quarter = (HEIGHT // 2, WIDTH // 2)
    chroma = i420[HEIGHT:].reshape(2, -1)
    return i420[:HEIGHT], chroma[0].reshape(quarter), chroma[1].reshape(quarter)


def semi_planar(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two chroma planes interleaved into rows of byte pairs."""
    return np.stack([first, second], axis=-1).reshape(first.shape[0], -1)


def nv_planes(encoding: str) -> list[np.ndarray]:
    y, u, v = i420_planes()
    if encoding == "nv24":
        u, v = (np.repeat(np.repeat(c, 2, axis=0), 2, axis=1) for c in (u, v))
    return [y, semi_planar(v, u) if encoding == "nv21" else semi_planar(u, v)]


# encoding -> (planes from big-endian flag, expected RGB, tolerance, compare interior only)
Case = tuple[Callable[[bool], list[np.ndarray]], np.ndarray, int, bool]
BGR = PATTERN[..., ::-1]
GREY_RGB = np.repeat(GREY[..., None], 3, axis=2)
CASES: dict[str, Case] = {
    "rgb8": (lambda be: [rows(PATTERN)], PATTERN, 0, False),
    "bgr8": (lambda be: [rows(BGR)], PATTERN, 0, False),
    "8UC3": (lambda be: [rows(BGR)], PATTERN, 0, False),
    "rgba8": (lambda be: [rows(with_alpha(PATTERN))], PATTERN, 0, False),
    "bgra8": (lambda be: [rows(with_alpha(BGR))], PATTERN, 0, False),
    "8UC4": (lambda be: [rows(with_alpha(BGR))], PATTERN, 0, False),
    "mono8": (lambda be: [rows(GREY)], GREY_RGB, 0, False),
    "8UC1": (lambda be: [rows(GREY)], GREY_RGB, 0, False),
    "rgb16": (lambda be: [rows(sixteen_bit(PATTERN, be))], PATTERN, 0, False),
    "bgr16": (lambda be: [rows(sixteen_bit(BGR, be))], PATTERN, 0, False),
    "16UC3": (lambda be: [rows(sixteen_bit(BGR, be))], PATTERN, 0, False),
    "rgba16": (lambda be: [rows(sixteen_bit(with_alpha(PATTERN), be))], PATTERN, 0, False),
    "bgra16": (lambda be: [rows(sixteen_bit(with_alpha(BGR), be))], PATTERN, 0, False),
    "16UC4": (lambda be: [rows(sixteen_bit(with_alpha(BGR), be))], PATTERN, 0, False),
    "mono16": (lambda be: [rows(sixteen_bit(GREY, be))], GREY_RGB, 0, False),
    **{
        f"bayer_{p}8": ((lambda be, p=p: [rows(mosaic(p))]), PATTERN, 1, True)
        for p in ("rggb", "bggr", "gbrg", "grbg")
    },
    **{
        f"bayer_{p}16": ((lambda be, p=p: [rows(sixteen_bit(mosaic(p), be))]), PATTERN, 1, True)
        for p in ("rggb", "bggr", "gbrg", "grbg")
    },
    **{
        name: ((lambda be, c=code: [rows(cv2.cvtColor(PATTERN, c))]), PATTERN, 4, False)
        for name, code in (
            ("uyvy", cv2.COLOR_RGB2YUV_UYVY),
            ("yuv422", cv2.COLOR_RGB2YUV_UYVY),
            ("yuyv", cv2.COLOR_RGB2YUV_YUY2),
            ("yuv422_yuy2", cv2.COLOR_RGB2YUV_YUY2),
        )
    },
    **{name: ((lambda be, n=name: nv_planes(n)), PATTERN, 4, False) for name in ("nv12", "nv21")},
    "nv24": (lambda be: nv_planes("nv24"), PATTERN, 4, False),
}
SIXTEEN_BIT = [name for name in CASES if "16" in name]

# encoding -> words the refusal must contain
REFUSED = {
    **{f"{t}C{n}": "floating-point" for t in ("32F", "64F") for n in range(1, 5)},
    **{f"{t}C{n}": "signed" for t in ("8S", "16S", "32S") for n in range(1, 5)},
    "16UC1": "depth",
    "8UC2": "two channels",
    "16UC2": "two channels",
}


@pytest.fixture(autouse=True)
def own_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test this module's conversion even where cv_bridge is installed."""
    monkeypatch.setattr(image_conversion, "_BRIDGE", None)


def assert_image(got: np.ndarray, want: np.ndarray, tolerance: int, interior: bool) -> None:
    assert got.dtype == np.uint8 and got.shape == want.shape and got.flags.c_contiguous
    assert got.flags.owndata
    mask = INTERIOR if interior else np.ones(want.shape[:2], dtype=bool)
    difference = np.abs(got.astype(int) - want.astype(int))[mask]
    assert difference.max() <= tolerance, f"max difference {difference.max()}"


def test_the_cases_cover_every_encoding_exactly_once():
    assert len(ALL_ENCODINGS) == len(set(ALL_ENCODINGS)) == 53
    assert set(CASES) | set(REFUSED) == set(ALL_ENCODINGS)
    assert not set(CASES) & set(REFUSED)


def encodings_header() -> Path | None:
    """sensor_msgs' image_encodings.hpp from this environment or a sourced ROS 2, if any."""
    prefixes = [sys.prefix, *os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)]
    for prefix in filter(None, prefixes):
        header = Path(prefix, "include/sensor_msgs/sensor_msgs/image_encodings.hpp")
        if header.is_file():
            return header
    return None


HEADER = encodings_header()


@pytest.mark.skipif(HEADER is None, reason="sensor_msgs' image_encodings.hpp is not installed")
def test_the_list_is_the_one_sensor_msgs_ships():
    names = re.findall(r'const char [A-Z0-9_]+\[\] = "([^"]+)";', HEADER.read_text())
    assert sorted(names) == sorted(ALL_ENCODINGS)


@pytest.mark.parametrize("pad", [0, 6], ids=["tight", "padded"])
@pytest.mark.parametrize("encoding", list(CASES))
def test_every_colour_encoding_gives_the_pattern(encoding: str, pad: int):
    planes, want, tolerance, interior = CASES[encoding]
    got = rgb_from_image(message(encoding, planes(False), pad=pad))
    assert_image(got, want, tolerance, interior)


@pytest.mark.parametrize("encoding", SIXTEEN_BIT)
def test_big_endian_sixteen_bit_images_are_read_in_their_byte_order(encoding: str):
    planes, want, tolerance, interior = CASES[encoding]
    msg = message(encoding, planes(True), pad=2, bigendian=True)
    assert_image(rgb_from_image(msg), want, tolerance, interior)
    msg.is_bigendian = 0
    assert not np.array_equal(rgb_from_image(msg), rgb_from_image(message(encoding, planes(False))))


def test_sixteen_bit_keeps_the_high_byte():
    values = np.array([[0x0000, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFF]], dtype="<u2")
    msg = Image(height=1, width=6, encoding="mono16", step=12, data=values.tobytes())
    assert rgb_from_image(msg)[0, :, 0].tolist() == [0, 0, 1, 127, 128, 255]


@pytest.mark.parametrize("encoding", list(REFUSED))
def test_non_colour_types_are_refused_with_the_reason(encoding: str):
    size = int(encoding.split("C")[0][:-1]) // 8 * int(encoding[-1])
    msg = Image(height=2, width=3, encoding=encoding, step=3 * size, data=bytes(6 * size))
    with pytest.raises(ImageConversionError, match=encoding) as error:
        rgb_from_image(msg)
    assert REFUSED[encoding] in str(error.value)
    assert "colour" in str(error.value) or "two channels" in str(error.value)


@pytest.mark.parametrize(
    ("encoding", "words"),
    [
        ("jpeg", "unknown encoding 'jpeg'"),
        ("RGB8", "did you mean 'rgb8'"),
        ("", "no encoding"),
        ("8UC5", "5 channels"),
    ],
)
def test_unknown_encodings_are_refused_by_name(encoding: str, words: str):
    msg = Image(height=2, width=2, encoding=encoding, step=2, data=bytes(4))
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_image(msg)


def test_a_generic_type_without_a_channel_count_has_one_channel():
    np.testing.assert_array_equal(rgb_from_image(message("8UC", [rows(GREY)])), GREY_RGB)
    msg = Image(height=2, width=2, encoding="32FC", step=8, data=bytes(16))
    with pytest.raises(ImageConversionError, match="floating-point"):
        rgb_from_image(msg)


def good(encoding: str = "rgb8") -> Image:
    planes = CASES[encoding][0](False)
    return message(encoding, planes)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"width": 0}, "no pixels"),
        ({"height": 0}, "no pixels"),
        ({"width": MAX_SIDE + 1}, "larger than 16384"),
        ({"height": 4_000_000_000}, "larger than 16384"),
        ({"step": WIDTH}, "smaller than a row"),
        ({"step": 0}, "smaller than a row"),
        ({"data": b""}, "needs 4608 bytes but data has 0"),
        ({"data": bytes(WIDTH * 3 * HEIGHT - 1)}, "truncated"),
        ({"height": HEIGHT + 1}, "truncated"),
    ],
)
def test_malformed_rgb8_messages_are_refused(change: dict, words: str):
    msg = good()
    for field, value in change.items():
        setattr(msg, field, value)
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_image(msg)


@pytest.mark.parametrize(
    ("encoding", "change", "words"),
    [
        ("mono16", {"step": WIDTH * 2 + 1}, "not a multiple of the 2-byte element"),
        ("rgb16", {"step": WIDTH * 6 - 2}, "smaller than a row"),
        ("yuyv", {"width": WIDTH - 1}, "width must be even"),
        ("nv12", {"height": HEIGHT - 1}, "must be even"),
        ("nv21", {"data": bytes(WIDTH * HEIGHT)}, "truncated"),
        ("nv24", {"data": bytes(WIDTH * HEIGHT * 2)}, "truncated"),
        ("bayer_rggb16", {"data": bytes(10)}, "truncated"),
    ],
)
def test_malformed_messages_of_other_encodings_are_refused(encoding: str, change: dict, words: str):
    msg = good(encoding)
    for field, value in change.items():
        setattr(msg, field, value)
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_image(msg)


def test_tiny_images_convert_without_surprises():
    for encoding in ("rgb8", "mono16", "bayer_rggb8", "bgra8"):
        size = CASES[encoding][0](False)[0].shape[1] // WIDTH
        msg = Image(height=1, width=1, encoding=encoding, step=size, data=bytes(range(size)))
        assert rgb_from_image(msg).shape == (1, 1, 3)


def test_trailing_bytes_after_the_last_row_are_ignored():
    msg = good()
    msg.data = bytes(msg.data) + bytes(100)
    np.testing.assert_array_equal(rgb_from_image(msg), PATTERN)


def test_the_result_owns_its_memory():
    msg = good()
    rgb = rgb_from_image(msg)
    msg.data[0] = 255 - msg.data[0]
    np.testing.assert_array_equal(rgb, PATTERN)
    assert not np.shares_memory(rgb, np.frombuffer(msg.data, dtype=np.uint8))


def test_rgb8_of_vga_converts_well_under_a_millisecond():
    frame = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    msg = image_from_rgb(frame, Header())
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        rgb_from_image(msg)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.5e-3, f"best of 30: {min(timings) * 1e3:.2f} ms"


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "mono8"])
def test_image_from_rgb_round_trips(encoding: str):
    header = Header(frame_id="camera_optical_frame")
    msg = image_from_rgb(PATTERN, header, encoding)
    assert (msg.width, msg.height, msg.encoding, msg.is_bigendian) == (WIDTH, HEIGHT, encoding, 0)
    assert msg.step * msg.height == len(msg.data)
    assert msg.header.frame_id == "camera_optical_frame"
    want = GREY_RGB if encoding == "mono8" else PATTERN
    np.testing.assert_array_equal(rgb_from_image(msg), want)


def test_image_from_rgb_refuses_what_it_cannot_write():
    with pytest.raises(ImageConversionError, match="not 'rgb16'"):
        image_from_rgb(PATTERN, Header(), "rgb16")
    with pytest.raises(ImageConversionError, match="H x W x 3 uint8"):
        image_from_rgb(PATTERN.astype(np.float32), Header())
    with pytest.raises(ImageConversionError, match="H x W x 3 uint8"):
        image_from_rgb(GREY, Header())


def compressed(data: bytes, fmt: str) -> CompressedImage:
    return CompressedImage(header=Header(frame_id="camera_optical_frame"), format=fmt, data=data)


def encoded(extension: str, image: np.ndarray, *params: int) -> bytes:
    ok, buffer = cv2.imencode(extension, image, list(params))
    assert ok
    return buffer.tobytes()


def test_png_round_trips_exactly():
    data = encoded(".png", cv2.cvtColor(PATTERN, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(rgb_from_compressed(compressed(data, "png")), PATTERN)


def test_jpeg_round_trips_closely():
    data = encoded(".jpg", cv2.cvtColor(PATTERN, cv2.COLOR_RGB2BGR), cv2.IMWRITE_JPEG_QUALITY, 95)
    got = rgb_from_compressed(compressed(data, "rgb8; jpeg compressed bgr8"))
    assert got.shape == PATTERN.shape and got.dtype == np.uint8 and got.flags.c_contiguous
    assert np.abs(got.astype(int) - PATTERN.astype(int))[INTERIOR].mean() < 3


def test_grey_and_sixteen_bit_png_become_rgb8():
    grey = rgb_from_compressed(compressed(encoded(".png", GREY), "png"))
    np.testing.assert_array_equal(grey, GREY_RGB)
    deep = (cv2.cvtColor(PATTERN, cv2.COLOR_RGB2BGR).astype(np.uint16) << 8) | 0x7F
    np.testing.assert_array_equal(
        rgb_from_compressed(compressed(encoded(".png", deep), "png")), PATTERN
    )


@pytest.mark.parametrize(
    ("data", "fmt", "words"),
    [
        (b"", "jpeg", r"\(jpeg\) has no data"),
        (b"\x00" * 64, "jpeg", "refused 64 bytes of jpeg: .* neither JPEG nor PNG"),
        (bytes(range(256)) * 4, "png", "refused 1024 bytes of png: .* neither JPEG nor PNG"),
        (b"\xff\xd8\xff\xe0" + bytes(60), "", "unspecified format"),
        (bytes(16), "16UC1; compressedDepth png", "compressed depth"),
    ],
)
def test_undecodable_compressed_images_are_refused(data: bytes, fmt: str, words: str):
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_compressed(compressed(data, fmt))


def test_truncated_jpeg_is_refused_or_decoded_never_crashes():
    data = encoded(".jpg", cv2.cvtColor(PATTERN, cv2.COLOR_RGB2BGR))
    try:
        got = rgb_from_compressed(compressed(data[: len(data) // 3], "jpeg"))
    except ImageConversionError:
        return
    assert got.shape == PATTERN.shape


@pytest.mark.skipif(REAL_BRIDGE is None, reason="cv_bridge is not importable here")
@pytest.mark.parametrize("encoding", sorted(image_conversion._CV_BRIDGE_ENCODINGS))
def test_same_result_as_cv_bridge(encoding: str, monkeypatch: pytest.MonkeyPatch):
    msg = message(encoding, CASES[encoding][0](False))
    ours = rgb_from_image(msg)
    monkeypatch.setattr(image_conversion, "_BRIDGE", REAL_BRIDGE)
    theirs = rgb_from_image(msg)
    # cv_bridge rounds 16-bit values where this module drops the low byte.
    tolerance = 2 if "16" in encoding else 0
    assert_image(theirs, ours, tolerance, interior="bayer" in encoding)
