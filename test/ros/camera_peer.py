"""A camera process for the node tests: publishes Image and CameraInfo, good or bad, then exits.

Usage: camera_peer.py NAMESPACE IMAGE.npy PLAN
PLAN is "good:N" (N good frames), "bad-then-good:N" (every kind of bad input the
node must survive, then N good frames), "compressed-bad-then-good:N" (garbage
CompressedImage bytes and size bombs, then N good JPEG frames), "headers-then-good:N" (the
headers of `odd_headers`, then N good frames) or "uncalibrated:N" (N frames whose
CameraInfo has K all zeros). Stamps are sec = 1000 + frame number, so
the listener can tell which frame a result belongs to. Frames go out at 5 Hz.
"""

from __future__ import annotations

import struct
import sys
import time
import zlib

import cv2
import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

FRAME = "test_camera_optical_frame"
PERIOD_S = 0.2
BAD_ENCODINGS = ("32FC1", "16UC4", "64FC3", "not_an_encoding", "8SC2")


def header(number: int) -> Header:
    return Header(stamp=Time(sec=1000 + number, nanosec=0), frame_id=FRAME)


def camera_info(number: int, width: int, height: int, k_scale: float = 1.0) -> CameraInfo:
    info = CameraInfo(header=header(number), width=width, height=height)
    info.distortion_model = "plumb_bob"
    info.d = [0.0, 0.0, 0.0, 0.0, 0.0]
    info.k = [600.0 * k_scale, 0.0, width / 2, 0.0, 600.0 * k_scale, height / 2, 0.0, 0.0, 1.0]
    return info


def uncalibrated_camera_info(number: int, width: int, height: int) -> CameraInfo:
    """What camera_info_manager sends for a camera never calibrated: the size, all else 0."""
    return CameraInfo(header=header(number), width=width, height=height)


def image(number: int, rgb: np.ndarray) -> Image:
    height, width = rgb.shape[:2]
    return Image(
        header=header(number),
        height=height,
        width=width,
        encoding="rgb8",
        step=3 * width,
        data=rgb.tobytes(),
    )


def bad_inputs(rgb: np.ndarray) -> list[tuple[str, object]]:
    """(topic kind, message) pairs, each one malformed in its own way."""
    height, width = rgb.shape[:2]
    # Said twice: the first message after discovery may still miss the new reader, and
    # without it every bad image would be counted as one without CameraInfo.
    cases: list[tuple[str, object]] = [
        ("info", camera_info(0, width, height)),
        ("info", camera_info(0, width, height)),
    ]
    for encoding in BAD_ENCODINGS:
        message = image(0, rgb)
        message.encoding = encoding
        cases.append(("image", message))
    wrong_step = image(0, rgb)
    wrong_step.step = width  # far too small for rgb8
    cases.append(("image", wrong_step))
    truncated = image(0, rgb)
    truncated.data = rgb.tobytes()[: len(truncated.data) // 2]
    cases.append(("image", truncated))
    empty = Image(header=header(0), height=0, width=0, encoding="rgb8", step=0)
    cases.append(("image", empty))
    huge = image(0, rgb)
    huge.height, huge.width, huge.step = 100_000, 100_000, 300_000
    cases.append(("image", huge))
    cases.append(("info", camera_info(0, width, height, k_scale=0.0)))
    nan_info = camera_info(0, width, height)
    nan_info.k = [float("nan")] * 9
    cases.append(("info", nan_info))
    cases.append(("image", image(0, rgb)))  # no valid CameraInfo now: skipped, counted
    return cases


FRAMELESS_IMAGE = 400
"""Stamp sec - 1000 of the first image without a frame_id whose CameraInfo has one: answered."""
FRAMELESS_REPEATS = 3
"""Such images are sent this many times (stamps FRAMELESS_IMAGE + 0, 1, ...): sensor-data
QoS is best effort, so one of them may be lost on the way or dropped for a newer frame."""
FRAMELESS_CAMERA = 500
"""... of an image whose CameraInfo has no frame_id either: refused."""
NEGATIVE_STAMP_SEC = -5


def odd_headers(rgb: np.ndarray) -> list[tuple[str, object]]:
    """(topic kind, message): headers that decide what a frame gets, in order."""
    height, width = rgb.shape[:2]
    frameless_images: list[tuple[str, object]] = []
    for number in range(FRAMELESS_IMAGE, FRAMELESS_IMAGE + FRAMELESS_REPEATS):
        frameless = image(number, rgb)
        frameless.header.frame_id = ""
        frameless_images += [("info", camera_info(number, width, height)), ("image", frameless)]
    no_frame_info = camera_info(FRAMELESS_CAMERA, width, height)
    no_frame_info.header.frame_id = ""
    no_frame_at_all = image(FRAMELESS_CAMERA, rgb)
    no_frame_at_all.header.frame_id = ""
    negative = image(0, rgb)
    negative.header.stamp = Time(sec=NEGATIVE_STAMP_SEC, nanosec=0)
    return [
        # Said twice: the first message after discovery may still miss the new reader.
        ("info", camera_info(FRAMELESS_IMAGE, width, height)),
        *frameless_images,
        ("info", no_frame_info),
        ("image", no_frame_at_all),
        ("info", camera_info(0, width, height)),
        ("image", negative),
    ]


def compressed(number: int, rgb: np.ndarray) -> CompressedImage:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return CompressedImage(header=header(number), format="jpeg", data=jpeg.tobytes())


BOMB_SIDE = 20000
"""Side of the size bombs: 1.1 GiB decoded, and as much again in RGB."""
REFUSALS_APART_S = 6.0
"""Longer than the node's 5 s warning throttle, so that every refusal reaches its log."""


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def black_bilevel_png(side: int) -> bytes:
    """A valid 1-bit grey PNG, side x side: rows of zeros deflate about 1000 to 1."""
    row = bytes(1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def compressed_bad_inputs(rgb: np.ndarray) -> list[CompressedImage]:
    """Garbage, then a JPEG and a PNG of a few tens of kilobytes claiming BOMB_SIDE a side.

    The JPEG is a real frame with its frame header's height and width (after length
    and precision) rewritten; the PNG is valid, all black. Decoded, each costs 2.3 GB.
    """
    jpeg = bytearray(compressed(0, rgb).data)
    struct.pack_into(">HH", jpeg, jpeg.index(b"\xff\xc0") + 5, BOMB_SIDE, BOMB_SIDE)
    return [
        CompressedImage(header=header(0), format="jpeg", data=b"not a jpeg"),
        CompressedImage(header=header(0), format="jpeg", data=bytes(jpeg)),
        CompressedImage(header=header(0), format="png", data=black_bilevel_png(BOMB_SIDE)),
    ]


def main() -> int:
    namespace, image_path, plan = sys.argv[1:4]
    kind, count = plan.split(":")
    rgb = np.load(image_path)
    height, width = rgb.shape[:2]
    rclpy.init()
    node = rclpy.create_node("test_camera", namespace=namespace)
    qos = qos_profile_sensor_data
    publishers = {
        "image": node.create_publisher(Image, "image", qos),
        "info": node.create_publisher(CameraInfo, "camera_info", qos),
        "compressed": node.create_publisher(CompressedImage, "image/compressed", qos),
    }
    image_kind = "compressed" if kind.startswith("compressed") else "image"
    # Both topics matched: a CameraInfo sent before its subscription matches is lost, and
    # the image after it would be skipped.
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline and not all(
        publishers[topic].get_subscription_count() for topic in (image_kind, "info")
    ):
        time.sleep(0.05)
    try:
        if kind in ("bad-then-good", "headers-then-good"):
            cases = bad_inputs(rgb) if kind == "bad-then-good" else odd_headers(rgb)
            for topic, message in cases:
                publishers[topic].publish(message)
                time.sleep(PERIOD_S)
        if kind == "compressed-bad-then-good":
            for message in compressed_bad_inputs(rgb):
                publishers["info"].publish(camera_info(0, width, height))
                time.sleep(0.02)
                publishers["compressed"].publish(message)
                time.sleep(REFUSALS_APART_S)
        info = uncalibrated_camera_info if kind == "uncalibrated" else camera_info
        for number in range(1, int(count) + 1):
            publishers["info"].publish(info(number, width, height))
            time.sleep(0.02)
            frame = compressed(number, rgb) if image_kind == "compressed" else image(number, rgb)
            publishers[image_kind].publish(frame)
            time.sleep(PERIOD_S)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
