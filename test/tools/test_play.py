"""`repehand play`: a bag and an image, published as a camera, cross DDS intact."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from fixtures.bags import picture, write_image_bag
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from repehand_ros.ros.player import DEFAULT_FRAME_ID

REPEHAND = Path(sys.executable).with_name("repehand")


def write_png(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.mark.dds
@pytest.mark.timeout(120)
def test_the_player_publishes_image_and_camera_info_over_dds(tmp_path):
    stamps = [7 * 10**9 + k * 50_000_000 for k in range(3)]
    write_image_bag(tmp_path / "bag", stamps)
    still = write_png(tmp_path / "still.png", picture(3))
    namespace = f"/t{uuid.uuid4().hex[:8]}"
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("play_listener", context=context)
    images: list[Image] = []
    infos: list[CameraInfo] = []
    # Best effort, as the player's camera QoS offers, with room for every message even if
    # this process is starved for a while (the sensor-data depth of 5 would drop some).
    qos = QoSProfile(
        reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=50
    )
    node.create_subscription(Image, f"{namespace}/image", images.append, qos)
    node.create_subscription(CameraInfo, f"{namespace}/camera_info", infos.append, qos)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    command = [str(REPEHAND), "play", str(still), str(tmp_path / "bag"), "--repeat", "3"]
    command += ["--rate", "20", "--image-topic", f"{namespace}/image"]
    command += ["--camera-info-topic", f"{namespace}/camera_info", "--log", str(tmp_path / "log")]
    before = time.time_ns()
    player = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while player.poll() is None or len(images) < 6:
            assert time.monotonic() < deadline, "timed out waiting for 6 images"
            executor.spin_once(timeout_sec=0.05)
    finally:
        player.kill()
        output = player.communicate()[0]
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert player.returncode == 0, output
    assert len(images) == 6 and len(infos) >= 6
    live, recorded = images[:3], images[3:]
    for image in live:
        assert image.encoding == "rgb8" and (image.width, image.height) == (64, 48)
        assert image.header.frame_id == DEFAULT_FRAME_ID
        assert image.header.stamp.sec * 10**9 + image.header.stamp.nanosec >= before
    assert [i.header.stamp.sec * 10**9 + i.header.stamp.nanosec for i in recorded] == stamps
    assert all(i.header.frame_id == "bagcam" for i in recorded)
    assert np.frombuffer(bytes(recorded[1].data), np.uint8)[0] == 10
    info = infos[0]
    assert (info.width, info.height) == (64, 48) and info.k[0] == 64.0
    assert len((tmp_path / "log").read_text().splitlines()) == 6


@pytest.mark.dds
@pytest.mark.timeout(120)
def test_a_bag_s_aligned_depth_images_are_published_with_their_images(tmp_path):
    """Stamps kept (and, restamped, kept paired), depth and its CameraInfo on their topics."""
    from fixtures.bags import write_rgbd_bag

    stamps = [9 * 10**9 + k * 50_000_000 for k in range(4)]
    depth_mm = np.full((48, 64), 800, dtype=np.uint16)
    write_rgbd_bag(
        tmp_path / "rgbd", picture(5), depth_mm, stamps, depth_first={1}, without_depth={2}
    )
    namespace = f"/t{uuid.uuid4().hex[:8]}"
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("play_depth_listener", context=context)
    qos = QoSProfile(
        reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=50
    )
    images: list[Image] = []
    depths: list[Image] = []
    depth_infos: list[CameraInfo] = []
    node.create_subscription(Image, f"{namespace}/image", images.append, qos)
    node.create_subscription(CameraInfo, f"{namespace}/camera_info", lambda _: None, qos)
    node.create_subscription(Image, f"{namespace}/depth/image", depths.append, qos)
    node.create_subscription(CameraInfo, f"{namespace}/depth/camera_info", depth_infos.append, qos)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    command = [str(REPEHAND), "play", str(tmp_path / "rgbd"), "--image-topic", f"{namespace}/image"]
    command += ["--camera-info-topic", f"{namespace}/camera_info", "--restamp"]
    command += ["--depth-topic", f"{namespace}/depth/image"]
    command += ["--depth-camera-info-topic", f"{namespace}/depth/camera_info"]
    player = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while player.poll() is None or len(images) < 4 or len(depths) < 3:
            assert time.monotonic() < deadline, f"timed out: {len(images)} images, {len(depths)}"
            executor.spin_once(timeout_sec=0.05)
    finally:
        player.kill()
        output = player.communicate()[0]
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert player.returncode == 0, output

    def ns(message) -> int:
        return message.header.stamp.sec * 10**9 + message.header.stamp.nanosec

    image_stamps = [ns(image) for image in images]
    assert image_stamps[0] > stamps[0]  # restamped...
    # ...and each depth image still has its image's stamp (frame 2's was not recorded).
    assert [ns(depth) for depth in depths] == [image_stamps[k] for k in (0, 1, 3)]
    assert all(d.encoding == "16UC1" and (d.width, d.height) == (64, 48) for d in depths)
    assert np.frombuffer(bytes(depths[0].data), "<u2")[0] == 800
    assert len(depth_infos) == 3 and depth_infos[0].k[0] == 600.0
    assert all(d.header.frame_id == "right04_optical_frame" for d in depths)
