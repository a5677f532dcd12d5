"""The node's work on a bag, offline: a bag of camera images in, the node's outputs in a new
bag, without a ROS graph.

The input bag is written with rosbags alone: a few frames of right04.jpg (a
left hand holding a chessboard) as rgb8 Image and as JPEG CompressedImage,
with CameraInfo. The keypoint backend must find the hand on every frame,
and every output message must keep its image's stamp and frame.
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.bags import FRAME, STAMPS_NS, write_camera_bag

from repehand_ros.data.footage import FootageUnavailableError, right04_rgb
from repehand_ros.ros import bags
from repehand_ros.ros.replay import parameter_values, replay

RIGHT04_HAND = (380.0, 170.0, 525.0, 400.0)


@pytest.fixture(scope="module")
def right04() -> np.ndarray:
    try:
        return right04_rgb()
    except FootageUnavailableError as error:
        pytest.skip(f"no footage: {error}")


def keypoints_values(tmp_path) -> dict:
    return parameter_values(
        None, {"backend": "keypoints", "device": "cpu", "cache_dir": str(tmp_path / "cache")}
    )


@pytest.mark.parametrize("compressed", [False, True], ids=["image", "compressed"])
def test_replay_writes_one_two_hand_mesh_per_image_with_its_stamp(right04, tmp_path, compressed):
    in_bag, out_bag = tmp_path / "in", tmp_path / "out"
    write_camera_bag(in_bag, right04, compressed)
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
