"""A camera process for the node tests: publishes Image and CameraInfo, good or bad, then exits.

Usage: camera_peer.py NAMESPACE IMAGE.npy PLAN
PLAN is "good:N" (N good frames), "bad-then-good:N" (every kind of bad input the
node must survive, then N good frames) or "compressed-bad-then-good:N" (garbage
CompressedImage bytes, then N good JPEG frames). Stamps are sec = 1000 + frame number, so
the listener can tell which frame a result belongs to. Frames go out at 5 Hz.
"""

from __future__ import annotations

import sys
import time

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
    cases: list[tuple[str, object]] = [("info", camera_info(0, width, height))]
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


def compressed(number: int, rgb: np.ndarray) -> CompressedImage:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return CompressedImage(header=header(number), format="jpeg", data=jpeg.tobytes())


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
    deadline = time.monotonic() + 60.0
    while publishers[image_kind].get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        if kind == "bad-then-good":
            for topic, message in bad_inputs(rgb):
                publishers[topic].publish(message)
                time.sleep(PERIOD_S)
        if kind == "compressed-bad-then-good":
            publishers["info"].publish(camera_info(0, width, height))
            garbage = CompressedImage(header=header(0), format="jpeg", data=b"not a jpeg")
            publishers["compressed"].publish(garbage)
            time.sleep(PERIOD_S)
        for number in range(1, int(count) + 1):
            publishers["info"].publish(camera_info(number, width, height))
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
