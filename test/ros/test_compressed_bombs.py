"""CompressedImage headers are read before decoding: size bombs and odd formats are refused.

Real JPEG and PNG files come from cv2.imencode; their size fields, segments and chunks
are then rewritten here byte by byte, independently of the reader under test.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage

from repehand_ros.io.compressed_headers import (
    ACCEPTED_COMPRESSION,
    CompressedHeader,
    read_compressed_header,
)
from repehand_ros.ros import image_conversion
from repehand_ros.ros.image_conversion import MAX_SIDE, ImageConversionError, rgb_from_compressed

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 48, 32
BOMB_SIDE = 20000
MIB = 1024 * 1024


def pattern_bgr() -> np.ndarray:
    """HEIGHT x WIDTH BGR of 8x8 tiles in distinct colours."""
    rng = np.random.default_rng(11)
    tiles = rng.integers(20, 236, size=(HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    return np.repeat(np.repeat(tiles, 8, axis=0), 8, axis=1)


BGR = pattern_bgr()


def encoded(extension: str, image: np.ndarray, *params: int) -> bytes:
    ok, buffer = cv2.imencode(extension, image, list(params))
    assert ok
    return buffer.tobytes()


def jpeg(*params: int) -> bytes:
    return encoded(".jpg", BGR, cv2.IMWRITE_JPEG_QUALITY, 95, *params)


def progressive_jpeg() -> bytes:
    return jpeg(cv2.IMWRITE_JPEG_PROGRESSIVE, 1)


def png() -> bytes:
    return encoded(".png", BGR)


def frame_header_offset(data: bytes) -> int:
    """Where OpenCV's baseline (C0) or progressive (C2) frame header marker starts."""
    offsets = [data.find(marker) for marker in (b"\xff\xc0", b"\xff\xc2")]
    offset = min(o for o in offsets if o >= 0)
    assert offset < data.index(b"\xff\xda"), "the frame header comes before the scan"
    return offset


def with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header's height and width (after length and precision) set."""
    out = bytearray(data)
    struct.pack_into(">HH", out, frame_header_offset(data) + 5, height, width)
    return bytes(out)


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


EXIF_ROTATE_90 = (
    b"Exif\x00\x00" + b"II*\x00" + struct.pack("<IHHHIHHI", 8, 1, 0x0112, 3, 1, 6, 0, 0)
)
"""An APP1 payload: little-endian TIFF with one IFD entry, Orientation = 6 (rotate 90)."""


def with_segments_before_frame(data: bytes) -> bytes:
    """The JPEG with what libjpeg accepts before a frame header inserted after SOI.

    EXIF with a rotation, a comment, a temporary (TEM) standalone marker, fill bytes,
    and stray bytes with an FF 00 pair between segments (libjpeg skips those).
    """
    extras = (
        segment(0xE1, EXIF_ROTATE_90)
        + segment(0xFE, b"written by a test")
        + b"\xff\x01"
        + b"\x00\x12\xff\x00\x34"
        + b"\xff\xff\xff"
    )
    return data[:2] + extras + data[2:]


def chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def with_png_size(data: bytes, width: int, height: int) -> bytes:
    """The PNG with IHDR's width and height set and its CRC recomputed."""
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + chunk(b"IHDR", ihdr) + data[33:]


def bilevel_png(width: int, height: int) -> bytes:
    """A valid 1-bit grey PNG, all black: rows of zeros deflate about 1000 to 1.

    OpenCV decodes it to width x height x 3 bytes, so 20000x20000 is 1.1 GiB from 49 KB.
    """
    row = bytes(1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat + compressor.flush())
        + chunk(b"IEND", b"")
    )


def compressed(data: bytes, fmt: str = "jpeg") -> CompressedImage:
    return CompressedImage(format=fmt, data=data)


REAL_IMAGES = {
    "baseline jpeg": (jpeg, "jpeg"),
    "progressive jpeg": (progressive_jpeg, "jpeg"),
    "grey jpeg": (lambda: encoded(".jpg", cv2.cvtColor(BGR, cv2.COLOR_BGR2GRAY)), "jpeg"),
    "jpeg with segments before its frame": (lambda: with_segments_before_frame(jpeg()), "jpeg"),
    "png": (png, "png"),
    "16-bit png": (lambda: encoded(".png", BGR.astype(np.uint16) << 8), "png"),
}


@pytest.mark.parametrize("name", list(REAL_IMAGES))
def test_the_header_gives_format_and_size_of_real_images(name: str):
    make, fmt = REAL_IMAGES[name]
    assert read_compressed_header(make()) == CompressedHeader(fmt, WIDTH, HEIGHT)


def test_a_progressive_jpeg_declares_its_size_in_sof2():
    data = progressive_jpeg()
    assert data[frame_header_offset(data) + 1] == 0xC2
    assert read_compressed_header(with_jpeg_size(data, 640, 480)).width == 640


def test_segments_before_the_frame_decode_as_libjpeg_reads_them():
    plain = rgb_from_compressed(compressed(jpeg()))
    with_extras = rgb_from_compressed(compressed(with_segments_before_frame(jpeg())))
    np.testing.assert_array_equal(with_extras, plain)


def test_exif_orientation_is_ignored_so_the_pixels_stay_the_sensors():
    data = with_segments_before_frame(jpeg())
    rotated = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert rotated.shape[:2] == (WIDTH, HEIGHT), "OpenCV turns the image unless told not to"
    assert rgb_from_compressed(compressed(data)).shape == (HEIGHT, WIDTH, 3)


BOMBS = {
    "baseline jpeg": lambda w, h: with_jpeg_size(jpeg(), w, h),
    "progressive jpeg": lambda w, h: with_jpeg_size(progressive_jpeg(), w, h),
    "jpeg with segments": lambda w, h: with_jpeg_size(with_segments_before_frame(jpeg()), w, h),
    "png": lambda w, h: with_png_size(png(), w, h),
    "valid bilevel png": bilevel_png,
}


BOMB_SIZES = [(BOMB_SIDE, BOMB_SIDE), (MAX_SIDE + 1, 1), (1, MAX_SIDE + 1), (65535, 65535)]
# A valid bilevel PNG of 65535 x 65535 takes seconds to write: that one is left out.
BOMB_CASES = [
    (name, size)
    for name in BOMBS
    for size in BOMB_SIZES
    if not (name == "valid bilevel png" and size == (65535, 65535))
]


@pytest.mark.parametrize(
    ("name", "size"), BOMB_CASES, ids=[f"{name}-{w}x{h}" for name, (w, h) in BOMB_CASES]
)
def test_size_bombs_are_refused_before_decoding(name: str, size: tuple[int, int]):
    data = BOMBS[name](*size)
    words = f"declares {size[0]}x{size[1]}, larger than {MAX_SIDE} pixels a side"
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_compressed(compressed(data))


@pytest.mark.parametrize("size", [(MAX_SIDE, 1), (1, MAX_SIDE)])
def test_a_side_of_exactly_max_side_is_decoded(size: tuple[int, int]):
    rgb = rgb_from_compressed(compressed(with_jpeg_size(jpeg(), *size)))
    assert rgb.shape == (size[1], size[0], 3)


@pytest.mark.parametrize("size", [(0, HEIGHT), (WIDTH, 0), (0, 0)])
@pytest.mark.parametrize("rewrite", [with_jpeg_size, with_png_size], ids=["jpeg", "png"])
def test_a_header_of_no_pixels_is_refused(rewrite, size: tuple[int, int]):
    data = rewrite(jpeg() if rewrite is with_jpeg_size else png(), *size)
    with pytest.raises(ImageConversionError, match=f"declares {size[0]}x{size[1]}: no pixels"):
        rgb_from_compressed(compressed(data))


@pytest.mark.parametrize("make", [jpeg, png])
def test_a_size_unlike_the_camera_info_is_refused_naming_both(make):
    with pytest.raises(ImageConversionError, match="declares 48x32 but CameraInfo says 640x480"):
        rgb_from_compressed(compressed(make()), expected_size=(640, 480))
    with pytest.raises(ImageConversionError, match="declares 48x32 but CameraInfo says 32x48"):
        rgb_from_compressed(compressed(make()), expected_size=(HEIGHT, WIDTH))


def test_the_camera_info_size_is_decoded_to_the_right_rgb():
    rgb = rgb_from_compressed(compressed(png(), "png"), expected_size=(WIDTH, HEIGHT))
    np.testing.assert_array_equal(rgb, BGR[..., ::-1])
    rgb = rgb_from_compressed(compressed(jpeg()), expected_size=(WIDTH, HEIGHT))
    decoded = cv2.imdecode(np.frombuffer(jpeg(), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(rgb, decoded[..., ::-1])


def test_jpeg_cut_anywhere_before_its_frame_header_ends_is_refused():
    data = with_segments_before_frame(jpeg())
    frame_end = (
        frame_header_offset(data)
        + 2
        + struct.unpack_from(">H", data, frame_header_offset(data) + 2)[0]
    )
    for cut in range(1, frame_end):
        with pytest.raises(ImageConversionError, match=r"neither JPEG|ends before|truncated"):
            rgb_from_compressed(compressed(data[:cut]))


def test_png_cut_before_its_image_data_is_refused():
    data = png()
    idat = data.index(b"IDAT") - 4
    for cut in range(1, idat + 8):
        with pytest.raises(ImageConversionError, match=r"neither JPEG|ends before|runs past"):
            rgb_from_compressed(compressed(data[:cut], "png"))


SOI = b"\xff\xd8"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: SOI + b"\xff\xda" + jpeg()[2:], "scan .* before its frame header"),
        (lambda: SOI + b"\xff\xd9" + jpeg()[2:], "ends .* before its frame header"),
        (lambda: SOI + jpeg(), "second start of image"),
        (lambda: SOI + b"\xff\xe0\x00\x01" + jpeg()[2:], "FF E0 has length 1"),
        (
            lambda: SOI + b"\xff\xc0\x00\x07\x08\x00\x20\x00\x30",
            r"frame header \(FF C0\) is truncated",
        ),
        (lambda: SOI + segment(0xE0, bytes(100))[:50], "ends before its frame header"),
    ],
    ids=["sos first", "eoi first", "two soi", "length below 2", "short sof", "cut segment"],
)
def test_malformed_jpeg_headers_are_refused(make, words: str):
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_compressed(compressed(make()))


def png_with_chunks(*chunks: bytes) -> bytes:
    return png()[:8] + b"".join(chunks)


IHDR = png()[8:33]
REST = png()[33:]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (
            lambda: png_with_chunks(chunk(b"IHDR", IHDR[8:20]), REST),
            "13-byte IHDR chunk, not b'IHDR' of 12",
        ),
        (lambda: png_with_chunks(chunk(b"sRGB", b"\x00"), IHDR, REST), "not b'sRGB'"),
        (lambda: png_with_chunks(REST), "not b'IDAT'"),
        (lambda: png_with_chunks(IHDR[:-1] + b"\x00", REST), "fails its CRC"),
        (lambda: png_with_chunks(IHDR, chunk(b"IEND", b"")), "IEND.* before any image data"),
        (lambda: png_with_chunks(IHDR, struct.pack(">I", 2**31) + b"tEXt" + bytes(8)), "runs past"),
    ],
    ids=["short ihdr", "ihdr second", "no ihdr", "bad crc", "no idat", "huge chunk"],
)
def test_malformed_png_headers_are_refused(make, words: str):
    with pytest.raises(ImageConversionError, match=words):
        rgb_from_compressed(compressed(make(), "png"))


def test_animated_png_is_refused():
    animation = cv2.Animation()
    animation.frames = [BGR, 255 - BGR]
    animation.durations = [100, 100]
    ok, buffer = cv2.imencodeanimation(".png", animation)
    assert ok and b"acTL" in buffer.tobytes()
    with pytest.raises(ImageConversionError, match="animated PNG"):
        rgb_from_compressed(compressed(buffer.tobytes(), "png"))


def corrupt_png_body() -> bytes:
    return png_with_chunks(IHDR, chunk(b"IDAT", bytes(range(200))), chunk(b"IEND", b""))


def test_a_valid_header_over_corrupt_data_is_refused_by_the_decoder():
    with pytest.raises(ImageConversionError, match=r"could not decode .* a corrupt PNG image"):
        rgb_from_compressed(compressed(corrupt_png_body(), "png"))


OTHER_FORMATS = {
    "BMP": (".bmp", BGR),
    "TIFF": (".tiff", BGR),
    "WebP": (".webp", BGR),
    "GIF": (".gif", BGR),
    "JPEG 2000": (".jp2", BGR),
    "AVIF": (".avif", BGR),
    "PNM": (".ppm", BGR),
    "PFM": (".pfm", BGR.astype(np.float32) / 255),
    "Sun raster": (".ras", BGR),
    "Radiance HDR": (".hdr", BGR.astype(np.float32) / 255),
}


@pytest.mark.parametrize("name", list(OTHER_FORMATS))
def test_formats_other_than_jpeg_and_png_are_refused_by_their_magic(name: str):
    extension, image = OTHER_FORMATS[name]
    data = encoded(extension, image)
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None
    with pytest.raises(ImageConversionError, match=f"the data is {name}; ") as error:
        rgb_from_compressed(compressed(data, "jpeg"))
    assert ACCEPTED_COMPRESSION in str(error.value)


def test_unknown_bytes_are_refused_with_the_bytes_shown():
    with pytest.raises(ImageConversionError, match="starts with bytes 6e 6f 74 20 61 20 6a 70"):
        rgb_from_compressed(compressed(b"not a jpeg"))


def test_the_magic_bytes_not_the_format_string_choose_the_reader():
    np.testing.assert_array_equal(rgb_from_compressed(compressed(png(), "jpeg")), BGR[..., ::-1])


def test_a_header_reader_mistake_cannot_pass_another_size(monkeypatch: pytest.MonkeyPatch):
    wrong = CompressedHeader("jpeg", WIDTH - 1, HEIGHT)
    monkeypatch.setattr(image_conversion, "read_compressed_header", lambda data: wrong)
    with pytest.raises(
        ImageConversionError, match="decoded to 48x32 but its header declares 47x32"
    ):
        rgb_from_compressed(compressed(jpeg()))


def clean_environment() -> dict[str, str]:
    """This process's environment without the OpenCV limits that importing the module set."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_IO_MAX_IMAGE")}


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=clean_environment() if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


PEAK_RSS = """
import json, resource, sys
import cv2  # first: OpenCV's own limits then do not bind, so the header check alone must
from sensor_msgs.msg import CompressedImage
from repehand_ros.ros.image_conversion import ImageConversionError, rgb_from_compressed
message = CompressedImage(format=sys.argv[2], data=open(sys.argv[1], "rb").read())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    outcome = "decoded %s" % (rgb_from_compressed(message).shape,)
except ImageConversionError as error:
    outcome = str(error)
growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"outcome": outcome, "growth_mib": growth_kib / 1024}))
"""


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (lambda: with_jpeg_size(jpeg(), BOMB_SIDE, BOMB_SIDE), "jpeg"),
        (lambda: bilevel_png(BOMB_SIDE, BOMB_SIDE), "png"),
    ],
    ids=["jpeg", "png"],
)
def test_a_bomb_is_refused_without_allocating(make, fmt: str, tmp_path: Path):
    data = make()
    assert len(data) < 60_000, "a bomb of a few tens of kilobytes"
    bomb = tmp_path / f"bomb.{fmt}"
    bomb.write_bytes(data)
    result = json.loads(run_python(PEAK_RSS, str(bomb), fmt))
    assert "larger than 16384 pixels a side" in result["outcome"]
    assert result["growth_mib"] < 100, result


DECODER_LIMIT = """
import importlib, sys
if sys.argv[1] == "cv2 first":
    import cv2
importlib.import_module(sys.argv[2] if len(sys.argv) > 2 else "repehand_ros.ros.image_conversion")
import cv2
import numpy as np
for width in (16384, 16385):
    ok, data = cv2.imencode(".png", np.zeros((1, width), np.uint8))
    try:
        print(width, cv2.imdecode(data, cv2.IMREAD_COLOR).shape[1])
    except cv2.error:
        print(width, "refused")
"""


@pytest.mark.parametrize(
    "entry",
    # The node and the command load OpenCV through other modules before this one: the
    # package sets the limits when it is imported, so they bind there too.
    ["repehand_ros.ros.image_conversion", "repehand_ros.ros.node", "repehand_ros.tools.cli"],
)
def test_opencv_decoders_are_bounded_when_the_package_loads_opencv(entry):
    assert run_python(DECODER_LIMIT, "module first", entry).split() == [
        "16384",
        "16384",
        "16385",
        "refused",
    ]


def test_opencv_reads_its_limits_only_when_it_loads():
    """Why the module sets them before `import cv2`: once OpenCV is loaded they change nothing."""
    assert run_python(DECODER_LIMIT, "cv2 first").split() == ["16384", "16384", "16385", "16385"]


def test_an_operators_tighter_opencv_limit_is_kept():
    env = {
        **clean_environment(),
        "OPENCV_IO_MAX_IMAGE_PIXELS": "1000000",
        "OPENCV_IO_MAX_IMAGE_WIDTH": "1GB",
    }
    code = (
        "import os, repehand_ros.ros.image_conversion; "
        "print(os.environ['OPENCV_IO_MAX_IMAGE_PIXELS'], os.environ['OPENCV_IO_MAX_IMAGE_WIDTH'], "
        "os.environ['OPENCV_IO_MAX_IMAGE_HEIGHT'])"
    )
    assert run_python(code, env=env).split() == ["1000000", "16384", "16384"]
