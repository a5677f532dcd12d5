"""The camera process of bench/node.py: Image + CameraInfo at a set rate, stamped with now.

Usage: node_camera.py NAMESPACE FRAME.npy FPS COUNT

Publishes COUNT frames of FRAME.npy (H x W x 3 RGB, as rgb8) on NAMESPACE/image
and NAMESPACE/camera_info with sensor-data QoS, like a camera driver. Each frame
is stamped with the wall clock when it is published (strictly increasing), so a
receiver on this machine can tell the latency from the stamp. Frames follow a
fixed schedule (frame i at start + i / FPS); a late frame is not made up for
with a burst. Waits for the node's image subscription first. Prints one JSON
line: frames sent, seconds taken, the rate achieved and how many were late.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

FRAME_ID = "bench_camera_optical_frame"
FOCAL_PX = 600.0
LATE_S = 0.005
"""A frame published this much after its slot counts as late."""


def intrinsics(width: int, height: int) -> list[float]:
    """The row-major K the camera sends (and the bare reconstructor is given)."""
    return [FOCAL_PX, 0.0, width / 2, 0.0, FOCAL_PX, height / 2, 0.0, 0.0, 1.0]


def main() -> int:
    namespace, frame_path, fps, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    rgb = np.load(frame_path)
    height, width = rgb.shape[:2]
    rclpy.init()
    node = rclpy.create_node("bench_camera", namespace=namespace)
    image_publisher = node.create_publisher(Image, "image", qos_profile_sensor_data)
    info_publisher = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    image = Image(height=height, width=width, encoding="rgb8", step=3 * width, data=rgb.tobytes())
    info = CameraInfo(width=width, height=height, distortion_model="plumb_bob")
    info.d, info.k = [0.0] * 5, intrinsics(width, height)
    info.p = [*info.k[:3], 0.0, *info.k[3:6], 0.0, *info.k[6:], 0.0]
    image.header.frame_id = info.header.frame_id = FRAME_ID

    deadline = time.monotonic() + 300.0
    while image_publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    late, last_stamp, period = 0, 0, 1.0 / fps
    start = time.perf_counter()
    try:
        for number in range(int(count)):
            slot = start + number * period
            wait = slot - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            elif -wait > LATE_S:
                late += 1
            last_stamp = max(time.time_ns(), last_stamp + 1)
            stamp = Time(sec=last_stamp // 1_000_000_000, nanosec=last_stamp % 1_000_000_000)
            info.header.stamp = image.header.stamp = stamp
            info_publisher.publish(info)
            image_publisher.publish(image)
        seconds = time.perf_counter() - start
        time.sleep(0.2)  # let the last frame leave before the participant goes
    finally:
        node.destroy_node()
        rclpy.shutdown()
    sent = int(count)
    rate = (sent - 1) / seconds if sent > 1 and seconds > 0 else 0.0
    print(json.dumps({"sent": sent, "seconds": seconds, "rate_hz": rate, "late": late}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
