"""`repehand play`: every kind of source gives its frames at its pace, and they cross DDS intact."""

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
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from repehand_ros.tools import bags
from repehand_ros.tools.play import (
    DEFAULT_FRAME_ID,
    Intrinsics,
    SourceError,
    SourceOptions,
    camera_info_message,
    iter_frames,
    load_calibration,
)

REPEHAND = Path(sys.executable).with_name("repehand")


def picture(value: int, width: int = 64, height: int = 48) -> np.ndarray:
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:, :, 0] = value
    rgb[: height // 2, :, 2] = 200
    return rgb


def write_png(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_video(path: Path, count: int, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for k in range(count):
        writer.write(cv2.cvtColor(picture(20 * k), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_video_folder_and_image_sources_in_turn(tmp_path):
    video = write_video(tmp_path / "clip.avi", 6, 12.0)
    folder = tmp_path / "folder"
    folder.mkdir()
    for k in (2, 0, 1):
        write_png(folder / f"{k:03d}.png", picture(80 + k))
    still = write_png(tmp_path / "still.png", picture(7))
    options = SourceOptions(repeat=3, skip=1, limit=4)
    frames = list(iter_frames([video, folder, still], options))
    assert [f.index for f in frames] == list(range(4 + 2 + 3))
    assert [f.source for f in frames] == [str(video)] * 4 + [str(folder)] * 2 + [str(still)] * 3
    assert all(f.period_s == pytest.approx(1 / 12, rel=1e-3) for f in frames[:4])
    assert all(f.period_s == pytest.approx(0.1) for f in frames[4:])
    assert [f.extra["file"] for f in frames[4:6]] == ["001.png", "002.png"]  # sorted, 1 skipped
    assert all(f.to_rgb().shape == (48, 64, 3) and f.stamp_ns is None for f in frames)
    assert frames[-1].to_rgb()[0, 0, 0] == 7
    with pytest.raises(SourceError, match="not found"):
        list(iter_frames([tmp_path / "missing.mp4"], options))
    (tmp_path / "not_a_video.mp4").write_text("no")
    with pytest.raises(SourceError, match="cannot open"):
        list(iter_frames([tmp_path / "not_a_video.mp4"], options))


def test_intrinsics_default_focal_and_calibration_file(tmp_path):
    default = Intrinsics().camera(640, 480)
    assert default.fx == default.fy == 640.0 and (default.cx, default.cy) == (319.5, 239.5)
    assert Intrinsics(focal=500.0).camera(320, 240).fx == 500.0
    calibration = tmp_path / "camera.yaml"
    calibration.write_text(
        "image_width: 320\nimage_height: 240\ncamera_name: test\n"
        "camera_matrix: {rows: 3, cols: 3, data: [300, 0, 160, 0, 301, 120, 0, 0, 1]}\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients: {rows: 1, cols: 5, data: [0.1, 0, 0, 0, 0]}\n"
    )
    intrinsics = Intrinsics(load_calibration(calibration))
    assert intrinsics.camera(320, 240).fy == 301.0
    with pytest.raises(SourceError, match="320x240"):
        intrinsics.camera(640, 480)
    info = camera_info_message(intrinsics.camera(320, 240), header=None)
    assert list(info.p) == [300, 0, 160, 0, 0, 301, 120, 0, 0, 0, 1, 0]
    assert list(info.d) == [0.1, 0, 0, 0, 0]


def write_bag(path: Path, stamps: list[int]) -> None:
    """rgb8 Images only, no CameraInfo, recorded with the given stamps."""
    from builtin_interfaces.msg import Time
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header

    from repehand_ros.ros.image_conversion import image_from_rgb

    with bags.BagWriter(path) as writer:
        writer.add_topic("/camera/image_raw", bags.IMAGE)
        for k, stamp in enumerate(stamps):
            header = Header(
                stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="bagcam"
            )
            message = image_from_rgb(picture(10 * k), header)
            writer.write("/camera/image_raw", stamp, serialize_message(message))


def test_a_bag_is_played_at_its_pace_with_its_stamps(tmp_path):
    stamps = [5 * 10**9 + k * 50_000_000 for k in range(4)]
    write_bag(tmp_path / "bag", stamps)
    frames = list(iter_frames([tmp_path / "bag"], SourceOptions()))
    assert [f.stamp_ns for f in frames] == stamps
    assert [f.period_s for f in frames[:-1]] == pytest.approx([0.05] * 3)
    assert frames[2].to_rgb()[0, 0, 0] == 20 and frames[0].camera_info is None


@pytest.mark.dds
@pytest.mark.timeout(120)
def test_the_player_publishes_image_and_camera_info_over_dds(tmp_path):
    stamps = [7 * 10**9 + k * 50_000_000 for k in range(3)]
    write_bag(tmp_path / "bag", stamps)
    still = write_png(tmp_path / "still.png", picture(3))
    namespace = f"/t{uuid.uuid4().hex[:8]}"
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("play_listener", context=context)
    images: list[Image] = []
    infos: list[CameraInfo] = []
    node.create_subscription(Image, f"{namespace}/image", images.append, qos_profile_sensor_data)
    node.create_subscription(
        CameraInfo, f"{namespace}/camera_info", infos.append, qos_profile_sensor_data
    )
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
