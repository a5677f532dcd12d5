"""The hands node with an RGB-D camera, over DDS: aligned depth images paired with the colour
images by stamp place the hands; without usable depth the images are answered from the image
alone, saying why (TwoHandMesh.depth_status, a warning, /diagnostics).

As in test_node: the plumbing checkpoint (random poses, plausible hands) on the CPU, fixture
MANO files, real footage. The hands are found in a fixed region, without tracking or
smoothing, so every frame's hands are the same; the depth images show them 10% bigger (and
so farther) than the monocular placement puts them, rendered here from this process's own
HandReconstructor on the same image, so the node's answer is known.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import test_node
from rclpy.qos import qos_profile_sensor_data
from repehand_ros.msg import HandMesh, TwoHandMesh
from sensor_msgs.msg import Image
from test_node import FRAME, Camera, camera_peer, node_process, params_file

from repehand_ros.geometry.depth_fusion import rasterise_depth
from repehand_ros.hands import HandSide
from repehand_ros.pipeline.results import Placement
from repehand_ros.ros import parameters
from repehand_ros.ros.camera_info import camera_model
from repehand_ros.ros.depth_intake import NOT_CONFIGURED

pytestmark = [pytest.mark.dds, pytest.mark.timeout(300)]

files = test_node.files
"""test_node's fixtures: the footage, the plumbing checkpoint and MANO files."""
listener = test_node.listener

ROI = [380.0, 170.0, 525.0, 400.0]
"""Around the hand of right04.jpg."""
TRUE_SCALE = 1.1
WALL_M = 2.5
DEPTH_TOPIC = "depth/image"


def depth_params(files, **overrides):
    return params_file(
        files,
        detection__mode="roi",
        detection__roi=ROI,
        detection__tracking=False,
        smoothing__enabled=False,
        depth_topic=DEPTH_TOPIC,
        **overrides,
    )


def millimetres(ns_sec: int, metres: np.ndarray, frame_id: str = FRAME) -> Image:
    values = np.round(np.nan_to_num(metres) * 1000.0).astype(np.uint16)
    height, width = values.shape
    message = Image(height=height, width=width, encoding="16UC1", step=2 * width)
    message.header = camera_peer.header(ns_sec)
    message.header.frame_id = frame_id
    message.data = values.tobytes()
    return message


class RgbdCamera(Camera):
    """Camera's frames, each with a depth image (from `depth_for(number)`, None for none) of
    the same stamp, sent before or after the colour image (at random: a node that answers
    every n-th frame still sees both orders)."""

    def __init__(self, listener, rgb: np.ndarray, depth_for) -> None:
        super().__init__(listener, rgb)
        base = f"/{listener.namespace}"
        self.depths = listener.node.create_publisher(
            Image, f"{base}/{DEPTH_TOPIC}", qos_profile_sensor_data
        )
        self.depth_for = depth_for
        self.random = random.Random(17)
        self.depth_first: set[int] = set()
        """Stamps (seconds) of the frames whose depth image went out before the image."""

    def subscribed(self) -> bool:
        return super().subscribed() and bool(self.depths.get_subscription_count())

    def send_until(self, condition, timeout: float, what: str) -> None:
        import time

        height, width = self.rgb.shape[:2]
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.sent += 1
            depth = self.depth_for(self.sent)
            first = self.random.random() < 0.5
            self.infos.publish(camera_peer.camera_info(self.sent, width, height))
            if depth is not None and first:
                self.depth_first.add(1000 + self.sent)
                self.depths.publish(depth)
            self.images.publish(camera_peer.image(self.sent, self.rgb))
            if depth is not None and not first:
                time.sleep(0.005)
                self.depths.publish(depth)
            next_frame = time.monotonic() + camera_peer.PERIOD_S
            while time.monotonic() < next_frame and not condition():
                self.listener.executor.spin_once(timeout_sec=0.05)


def expected_answer(params, rgb: np.ndarray):
    """What the node's reconstructor does with this image alone and with the depth images
    sent: this process's own, built from the same parameter file."""
    from repehand_ros.pipeline.reconstructor import HandReconstructor

    values = parameters.read_params_file(params)
    values = {**{p.name: p.default for p in parameters.PARAMETERS}, **values}
    height, width = rgb.shape[:2]
    camera = camera_model(camera_peer.camera_info(1, width, height), rectified=False).camera
    with HandReconstructor(parameters.reconstructor_config(values)) as reconstructor:
        monocular = reconstructor.reconstruct(rgb, camera, 1001.0)
        meshes = [
            (TRUE_SCALE * hand.vertices.astype(np.float64), faces)
            for hand, faces in zip(monocular.hands, reconstructor.faces, strict=True)
            if hand.valid
        ]
        assert meshes, "no hand in the region: nothing to fit"
        depth, _ = rasterise_depth(meshes, camera)
        depth = np.where(np.isfinite(depth), depth, WALL_M).astype(np.float32)
        # In millimetres, as the node will read them.
        depth = np.round(depth * 1000.0) / 1000.0
        fused = reconstructor.reconstruct(rgb, camera, 1002.0, depth=depth)
    return monocular, fused, depth


def test_aligned_depth_images_place_the_hands(files, listener):
    params = depth_params(files)
    rgb = np.load(files["image"])
    monocular, fused, depth = expected_answer(params, rgb)
    placed = [hand.side for hand in fused.hands if hand.placement is Placement.DEPTH]
    assert placed, [hand.depth_fit for hand in fused.hands]
    camera = RgbdCamera(listener, rgb, lambda number: millimetres(number, depth))

    def with_depth() -> list[TwoHandMesh]:
        return [m for m in listener.hands if m.depth_status == TwoHandMesh.DEPTH_USED]

    def in_both_orders() -> bool:
        """Answers with depth to frames whose depth came first, and to ones it came after."""
        first = {m.header.stamp.sec in camera.depth_first for m in with_depth()}
        return len(with_depth()) >= 4 and first == {True, False}

    with node_process(params, listener.namespace) as log:
        listener.spin_until(camera.subscribed, 120, "the node's camera subscriptions")
        camera.send_until(in_both_orders, 240, "answers with depth, in both orders")
        side = "right" if placed[0] is HandSide.RIGHT else "left"
        listener.spin_until(
            lambda: (
                (listener.diagnostic_text("depth") or "").startswith("in use")
                and int(listener.diagnostic_text(f"{side}_placed_by_depth") or 0) >= 4
            ),
            30,
            "depth in use in /diagnostics",
        )
    text = log.read_text()
    assert f"depth on /{listener.namespace}/{DEPTH_TOPIC} (the colour camera's" in text
    assert "Traceback" not in text
    for message in with_depth():
        assert message.header.frame_id == FRAME
        assert message.depth_ms > 0.0
        for got, want in zip((message.right, message.left), (fused.right, fused.left), strict=True):
            assert got.valid == want.valid
            if not want.valid:
                continue
            code = {"monocular": 0, "depth": 1, "depth-held": 2}[want.placement.value]
            assert got.placement == code
            if want.placement is Placement.DEPTH:
                assert got.placement == HandMesh.DEPTH
                assert got.depth_scale == pytest.approx(TRUE_SCALE, abs=2e-3)
                mono = [monocular.right, monocular.left][got.side].wrist_position
                position = got.wrist.position
                np.testing.assert_allclose(
                    [position.x, position.y, position.z], TRUE_SCALE * mono, atol=2e-3
                )


def test_without_usable_depth_the_images_are_answered_from_the_image_alone(files, listener):
    """No depth image yet (stale), then depth images the node cannot use (a grey image, a
    picture of another shape): each said in a warning and in TwoHandMesh.depth_status, and
    every colour image still answered, monocular."""
    rgb = np.load(files["image"])
    height, width = rgb.shape[:2]
    phase = {"depth": None}

    def depth_for(number: int):
        kind = phase["depth"]
        if kind is None:
            return None
        message = millimetres(number, np.full((height, width), 0.6, dtype=np.float32))
        if kind == "grey":
            message.encoding = "mono16"
        elif kind == "square":
            message = millimetres(number, np.full((100, 100), 0.6, dtype=np.float32))
        return message

    camera = RgbdCamera(listener, rgb, depth_for)

    def answers_from(stamp: int) -> list[TwoHandMesh]:
        return [m for m in listener.hands if m.header.stamp.sec >= stamp]

    with node_process(depth_params(files), listener.namespace) as log:
        listener.spin_until(camera.subscribed, 120, "the node's camera subscriptions")
        camera.send_until(lambda: len(listener.hands) >= 3, 240, "answers without depth")
        listener.spin_until(
            lambda: (listener.diagnostic_text("depth") or "").startswith("stale"),
            30,
            "stale depth in /diagnostics",
        )
        stale = list(listener.hands)
        phase["depth"] = "grey"
        grey_from = camera.next_stamp
        camera.send_until(
            lambda: len(answers_from(grey_from)) >= 3, 120, "answers to grey depth images"
        )
        phase["depth"] = "square"
        square_from = camera.next_stamp
        camera.send_until(
            lambda: len(answers_from(square_from)) >= 3, 120, "answers to square depth images"
        )
        listener.spin_until(
            lambda: int(listener.diagnostic_text("depth_frames_refused") or 0) >= 5,
            30,
            "the refusals counted in /diagnostics",
        )
    assert all(m.depth_status == TwoHandMesh.DEPTH_STALE for m in stale)
    # The first frame of the depth stream may find no depth image yet (one sent just after
    # its colour image is not waited for before any has come: the stream is stale till then).
    refused = answers_from(grey_from + 1)
    statuses = [m.depth_status for m in refused]
    # On a loaded machine a depth image sent after its image may come later than the wait.
    assert set(statuses) <= {TwoHandMesh.DEPTH_REFUSED, TwoHandMesh.DEPTH_UNMATCHED}, statuses
    assert statuses.count(TwoHandMesh.DEPTH_REFUSED) > len(statuses) / 2, statuses
    for message in listener.hands:
        for hand in (message.right, message.left):
            assert not hand.valid or hand.placement == HandMesh.MONOCULAR
            assert not hand.valid or hand.depth_scale == 1.0
    assert any(m.right.valid or m.left.valid for m in refused)
    text = log.read_text()
    topic = f"/{listener.namespace}/{DEPTH_TOPIC}"
    assert f"depth image on {topic} not used: depth encoding 'mono16' is not supported" in text
    assert "not the same picture at another resolution" in text
    assert "Traceback" not in text
    assert (listener.diagnostic_value("failed_frames") or 0) == 0
    assert (listener.diagnostic_value("bad_input_frames") or 0) == 0


def test_depth_is_off_without_a_topic_and_said_not_used_without_a_mesh(files, listener):
    """With the keypoint backend (no mesh) a depth topic is not even subscribed to."""
    checkpoint = files["dir"] / "not_here" / "repehand_5m.pth"
    params = params_file(
        files,
        backend="auto",
        checkpoint=str(checkpoint),
        mano_dir=str(files["dir"] / "not_here"),
        depth_topic=DEPTH_TOPIC,
    )
    camera = Camera(listener, np.load(files["image"]))
    with node_process(params, listener.namespace) as log:
        listener.spin_until(camera.subscribed, 120, "the node's camera subscriptions")
        camera.send_until(lambda: len(listener.hands) >= 2, 240, "answers")
        listener.spin_until(
            lambda: listener.diagnostic_text("depth") is not None, 30, "depth in /diagnostics"
        )
        subscribers = listener.node.count_subscribers(f"/{listener.namespace}/{DEPTH_TOPIC}")
    assert subscribers == 0
    assert all(m.depth_status == TwoHandMesh.DEPTH_OFF for m in listener.hands)
    assert listener.diagnostic_text("depth").startswith("not used: the mediapipe-keypoints")
    text = log.read_text()
    assert f"depth_topic '{DEPTH_TOPIC}' is set but not used" in text
    assert listener.diagnostic_text("depth") != NOT_CONFIGURED
