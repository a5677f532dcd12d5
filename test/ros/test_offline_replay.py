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


ROI = [380.0, 170.0, 525.0, 400.0]
TRUE_SCALE = 1.1


def test_a_bag_s_depth_images_come_with_the_image_they_were_recorded_after(right04, tmp_path):
    from fixtures.bags import RGBD_COLOUR, RGBD_DEPTH, write_rgbd_bag

    depth_mm = np.full(right04.shape[:2], 700, dtype=np.uint16)
    write_rgbd_bag(tmp_path / "rgbd", right04, depth_mm, STAMPS_NS, {1}, {2})
    assert bags.depth_topics(tmp_path / "rgbd") == (
        RGBD_DEPTH,
        "/camera/aligned_depth_to_color/camera_info",
    )
    frames = list(bags.camera_frames(tmp_path / "rgbd", depth_topic=bags.AUTO_DEPTH))
    assert [f.stamp_ns for f in frames] == STAMPS_NS  # the colour topic, not the depth one
    stamps = [
        [d.image.header.stamp.sec * 10**9 + d.image.header.stamp.nanosec for d in f.depth]
        for f in frames
    ]
    # Frame 1's depth was recorded before its image, frame 2's not at all.
    assert stamps == [[STAMPS_NS[0], STAMPS_NS[1]], [], [], [STAMPS_NS[3]]]
    assert all(d.image.encoding == "16UC1" and d.camera_info.k[0] == 600.0 for d in frames[0].depth)
    assert not any(f.depth for f in bags.camera_frames(tmp_path / "rgbd"))  # not asked for
    assert bags.depth_topics(tmp_path / "rgbd", "") == (None, None)
    with pytest.raises(bags.SourceError, match="has no Image topic /nope"):
        bags.depth_topics(tmp_path / "rgbd", "/nope")
    plain = tmp_path / "plain"
    write_camera_bag(plain, right04, compressed=False)
    assert bags.depth_topics(plain) == (None, None)
    assert RGBD_COLOUR != RGBD_DEPTH


def test_replay_fits_the_hands_to_the_aligned_depth_a_bag_has(right04, tmp_path, mano_dir):
    """A RealSense-like bag: depth recorded after its image, once before, once missing.
    The hands (a fixed region, the plumbing checkpoint) come out placed by depth where the
    library places them by depth, held over the frame without."""
    from fixtures.bags import RGBD_DEPTH, write_rgbd_bag
    from fixtures.checkpoints import write_plumbing_checkpoint

    from repehand_ros.geometry.camera import PinholeCamera
    from repehand_ros.geometry.depth_fusion import rasterise_depth
    from repehand_ros.pipeline.reconstructor import HandReconstructor
    from repehand_ros.pipeline.results import Placement
    from repehand_ros.ros import parameters

    values = parameter_values(
        None,
        {
            "backend": "torch",
            "checkpoint": str(write_plumbing_checkpoint(tmp_path / "plumbing.pth")),
            "mano_dir": str(mano_dir),
            "device": "cpu",
            "cache_dir": str(tmp_path / "cache"),
            "min_confidence": 0.0,
            "detection.mode": "roi",
            "detection.roi": ROI,
            "detection.tracking": False,
            "smoothing.enabled": False,
        },
    )
    height, width = right04.shape[:2]
    camera = PinholeCamera(
        np.array([[600.0, 0, width / 2], [0, 600.0, height / 2], [0, 0, 1]]),
        np.zeros(5),
        "plumb_bob",
        width,
        height,
    )
    with HandReconstructor(parameters.reconstructor_config(values)) as reconstructor:
        monocular = reconstructor.reconstruct(right04, camera, 0.0)
        meshes = [
            (TRUE_SCALE * hand.vertices.astype(np.float64), faces)
            for hand, faces in zip(monocular.hands, reconstructor.faces, strict=True)
            if hand.valid
        ]
        depth, _ = rasterise_depth(meshes, camera)
        depth_mm = np.round(np.where(np.isfinite(depth), depth, 2.5) * 1000).astype(np.uint16)
        fused = reconstructor.reconstruct(right04, camera, 0.1, depth=depth_mm / 1000.0)
    placed = {hand.side for hand in fused.hands if hand.placement is Placement.DEPTH}
    assert placed, [hand.depth_fit for hand in fused.hands]

    in_bag = tmp_path / "rgbd"
    write_rgbd_bag(in_bag, right04, depth_mm, STAMPS_NS, depth_first={1}, without_depth={2})
    summary = replay(in_bag, tmp_path / "out", values)
    assert summary["results"] == len(STAMPS_NS)
    assert summary["depth"]["topic"] == RGBD_DEPTH and summary["depth"]["images"] == 3
    assert summary["depth"]["frames"] == {"used": 3, "unmatched": 1}
    store = bags.typestore()
    hands = [
        store.deserialize_cdr(data, msgtype)
        for topic, msgtype, _, data in bags.read_messages(tmp_path / "out")
        if topic == "/hands/hands"
    ]
    assert [m.depth_status for m in hands] == [1, 1, 2, 1]  # used, used, unmatched, used
    for index, message in enumerate(hands):
        for side, hand in enumerate((message.right, message.left)):
            if side not in placed:
                continue
            assert hand.placement == (2 if index == 2 else 1)  # held over the missing one
            assert hand.depth_scale == pytest.approx(TRUE_SCALE, abs=2e-3)
    assert sum(summary["depth"][s.name.lower()]["placed_by_depth"] for s in placed) == 3 * len(
        placed
    )

    without = replay(in_bag, tmp_path / "out_monocular", values, depth_topic="")
    assert "depth" not in without
    for topic, msgtype, _, data in bags.read_messages(tmp_path / "out_monocular"):
        if topic == "/hands/hands":
            message = store.deserialize_cdr(data, msgtype)
            assert message.depth_status == 0
            assert message.right.placement == message.left.placement == 0
