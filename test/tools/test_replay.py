"""`repehand replay`: a bag of camera images in, the node's outputs in a new bag, without ROS.

The input bag is written here with rosbags alone: a few frames of right04.jpg
(a left hand holding a chessboard) as rgb8 Image and as JPEG CompressedImage,
with CameraInfo. The keypoint backend must find the hand on every frame,
and every output message must keep its image's stamp and frame.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from repehand_ros.data.footage import FootageUnavailableError, right04_rgb
from repehand_ros.tools import bags, cli
from repehand_ros.tools.replay import parameter_values, replay

FRAME = "right04_optical_frame"
STAMPS_NS = [1_700_000_000_000_000_000 + k * 100_000_000 for k in range(4)]
RIGHT04_HAND = (380.0, 170.0, 525.0, 400.0)
REPEHAND = Path(sys.executable).with_name("repehand")


@pytest.fixture(scope="module")
def right04() -> np.ndarray:
    try:
        return right04_rgb()
    except FootageUnavailableError as error:
        pytest.skip(f"no footage: {error}")


def write_input_bag(path, rgb: np.ndarray, compressed: bool) -> None:
    """Image (or CompressedImage) and CameraInfo, rosbags only."""
    store = bags.typestore()
    Time = store.types["builtin_interfaces/msg/Time"]  # noqa: N806 (classes)
    Header = store.types["std_msgs/msg/Header"]  # noqa: N806
    Image = store.types[bags.IMAGE]  # noqa: N806
    Compressed = store.types[bags.COMPRESSED_IMAGE]  # noqa: N806
    CameraInfo = store.types[bags.CAMERA_INFO]  # noqa: N806
    RegionOfInterest = store.types["sensor_msgs/msg/RegionOfInterest"]  # noqa: N806
    height, width = rgb.shape[:2]
    image_topic = "/cam/image_raw/compressed" if compressed else "/cam/image_raw"
    with bags.BagWriter(path, "sqlite3") as writer:
        writer.add_topic(image_topic, bags.COMPRESSED_IMAGE if compressed else bags.IMAGE)
        writer.add_topic("/cam/camera_info", bags.CAMERA_INFO)
        for stamp in STAMPS_NS:
            header = Header(stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id=FRAME)
            info = CameraInfo(
                header=header,
                height=height,
                width=width,
                distortion_model="plumb_bob",
                d=np.zeros(5),
                k=np.array([600.0, 0, width / 2, 0, 600.0, height / 2, 0, 0, 1]),
                r=np.eye(3).reshape(-1),
                p=np.array([600.0, 0, width / 2, 0, 0, 600.0, height / 2, 0, 0, 0, 1, 0]),
                binning_x=0,
                binning_y=0,
                roi=RegionOfInterest(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
            )
            writer.write("/cam/camera_info", stamp, store.serialize_cdr(info, bags.CAMERA_INFO))
            if compressed:
                ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                assert ok
                message = Compressed(header=header, format="jpeg", data=jpeg.reshape(-1))
                data = store.serialize_cdr(message, bags.COMPRESSED_IMAGE)
            else:
                message = Image(
                    header=header,
                    height=height,
                    width=width,
                    encoding="rgb8",
                    is_bigendian=0,
                    step=3 * width,
                    data=rgb.reshape(-1),
                )
                data = store.serialize_cdr(message, bags.IMAGE)
            writer.write(image_topic, stamp + 1000, data)


def keypoints_values(tmp_path) -> dict:
    return parameter_values(
        None, {"backend": "keypoints", "device": "cpu", "cache_dir": str(tmp_path / "cache")}
    )


@pytest.mark.parametrize("compressed", [False, True], ids=["image", "compressed"])
def test_replay_writes_one_two_hand_mesh_per_image_with_its_stamp(right04, tmp_path, compressed):
    in_bag, out_bag = tmp_path / "in", tmp_path / "out"
    write_input_bag(in_bag, right04, compressed)
    summary = replay(in_bag, out_bag, keypoints_values(tmp_path), storage="mcap")
    assert summary["frames"] == summary["results"] == len(STAMPS_NS)
    assert summary["left"] == len(STAMPS_NS) and summary["right"] == 0
    store = bags.typestore()
    found: dict[str, list] = {}
    for topic, msgtype, logged, data in bags.read_messages(out_bag):
        found.setdefault(topic, []).append((logged, store.deserialize_cdr(data, msgtype)))
    hands = found["/hands/hands"]
    assert [logged for logged, _ in hands] == STAMPS_NS
    for logged, message in hands:
        assert message.header.stamp.sec * 10**9 + message.header.stamp.nanosec == logged
        assert message.header.frame_id == FRAME
        assert message.backend == "mediapipe-keypoints"
        assert message.left.valid and not message.right.valid
        u, v = message.left.keypoints_2d[0::2], message.left.keypoints_2d[1::2]
        assert RIGHT04_HAND[0] < u.min() < u.max() < RIGHT04_HAND[2]
        assert RIGHT04_HAND[1] < v.min() < v.max() < RIGHT04_HAND[3]
    assert [logged for logged, _ in found["/hands/markers"]] == STAMPS_NS
    transforms = [t for _, message in found["/tf"] for t in message.transforms]
    assert {t.child_frame_id for t in transforms} >= {"left_wrist", "left_pinky_4"}
    assert all(t.header.frame_id == FRAME for t in transforms)


def test_the_command_reports_json_and_refuses_to_overwrite(right04, tmp_path, capsys):
    in_bag, out_bag = tmp_path / "in", tmp_path / "out"
    write_input_bag(in_bag, right04, compressed=False)
    options = ["--set", "backend=keypoints", "--set", f"cache_dir={tmp_path / 'cache'}"]
    result = subprocess.run(
        [str(REPEHAND), "replay", str(in_bag), str(out_bag), *options],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["results"] == len(STAMPS_NS) and printed["backend"] == "mediapipe-keypoints"
    # User errors: one line, exit status 2 (in this process: quicker).
    assert cli.main(["replay", str(in_bag), str(out_bag), *options]) == 2
    assert "exists already" in capsys.readouterr().err
    other = str(tmp_path / "other")
    assert cli.main(["replay", str(in_bag), other, "--set", "backend=nonsense"]) == 2
    assert "backend" in capsys.readouterr().err
