"""The hands node as users run it: separate camera, node and listener processes over DDS.

The node runs the real network on the CPU with a plumbing checkpoint (random
weights, hands of plausible size) and fixture MANO files, on real footage: these
tests check that data flows, stamps and frames are kept and bad input is
survived, never accuracy.
"""

from __future__ import annotations

import importlib.util
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import camera_peer
import numpy as np
import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from fixtures.checkpoints import write_plumbing_checkpoint
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import SetParametersResult
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter, parameter_value_to_python
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from repehand_ros.msg import HandMesh, TwoHandMesh
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

from repehand_ros.ros.parameters import read_params_file
from repehand_ros.ros.tf import tf_message_type

pytestmark = [pytest.mark.dds, pytest.mark.timeout(300)]

TEST = Path(__file__).resolve().parents[1]
REPO = TEST.parent
CAMERA = Path(__file__).with_name("camera_peer.py")
FRAME = "test_camera_optical_frame"


def right04_rgb() -> np.ndarray:
    """Real footage with one hand (Debian's opencv-doc right04.jpg)."""
    spec = importlib.util.spec_from_file_location("footage", TEST / "detection" / "footage.py")
    footage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(footage)
    return footage.right04_rgb()


@pytest.fixture(scope="module")
def files(tmp_path_factory, mano_dir, mano_arrays) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("node")
    np.save(directory / "right04.npy", right04_rgb())
    return {
        "dir": directory,
        "image": directory / "right04.npy",
        "checkpoint": write_plumbing_checkpoint(directory / "plumbing.pth"),
        "checkpoint_256": write_plumbing_checkpoint(directory / "plumbing_256.pth", input_size=256),
        "mano_dir": mano_dir,
    }


def params_file(files: dict[str, Path], **overrides) -> Path:
    """config/hands.yaml with the test's paths and `overrides` (dotted names)."""
    values = read_params_file(REPO / "config" / "hands.yaml")
    values.update(
        checkpoint=str(files["checkpoint"]),
        mano_dir=str(files["mano_dir"]),
        device="cpu",
        min_confidence=0.0,
        cache_dir=str(files["dir"] / "cache"),
    )
    values.update({key.replace("__", "."): value for key, value in overrides.items()})
    path = files["dir"] / f"params_{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))
    return path


@contextmanager
def node_process(
    params: Path, namespace: str, autostart: bool = True, ros_args: Sequence[str] = ()
) -> Iterator[Path]:
    """The node as `repehand node` runs it; yields the path of its log."""
    log = params.with_suffix(".log")
    command = [sys.executable, "-m", "repehand_ros.tools.cli", "node", "--params-file", str(params)]
    if not autostart:
        command.append("--no-autostart")
    command += ["--ros-args", "-r", f"__ns:=/{namespace}", *ros_args]
    with open(log, "w") as stream:
        process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        yield log
        assert process.poll() is None, "the node died:\n" + log.read_text()[-3000:]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def camera_process(
    files: dict[str, Path], namespace: str, plan: str, ros_args: Sequence[str] = ()
) -> Iterator[None]:
    command = [sys.executable, str(CAMERA), namespace, str(files["image"]), plan]
    process = subprocess.Popen(command + (["--ros-args", *ros_args] if ros_args else []))
    try:
        yield
    finally:
        process.kill()
        process.wait()


class Listener:
    """A third process's view (this test process): what the node publishes."""

    def __init__(self, namespace: str) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"listener_{namespace}", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.hands: list[TwoHandMesh] = []
        self.transforms: list = []
        self.markers: list[Marker] = []
        self.diagnostics: list[DiagnosticArray] = []
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        base = f"/{namespace}/hands"
        self.node.create_subscription(TwoHandMesh, f"{base}/hands", self.hands.append, reliable)
        self.node.create_subscription(
            tf_message_type(), "/tf", lambda m: self.transforms.extend(m.transforms), reliable
        )
        self.node.create_subscription(
            MarkerArray, f"{base}/markers", lambda m: self.markers.extend(m.markers), reliable
        )
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", self.diagnostics.append, reliable
        )

    def spin_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.executor.spin_once(timeout_sec=0.1)

    def call(self, service_type, name: str, request):
        client = self.node.create_client(service_type, name)
        assert client.wait_for_service(timeout_sec=60), f"no service {name}"
        future = client.call_async(request)
        self.spin_until(future.done, 120, f"the answer of {name}")
        return future.result()

    def diagnostic_text(self, key: str) -> str | None:
        for array in reversed(self.diagnostics):
            for status in array.status:
                if "hands" in status.name:
                    for value in status.values:
                        if value.key == key:
                            return value.value
        return None

    def diagnostic_value(self, key: str) -> float | None:
        text = self.diagnostic_text(key)
        return None if text is None else float(text)

    def every_frame_is_accounted_for(self) -> bool:
        """The node's own account: every image received was processed, dropped for a newer
        one, refused, skipped without intrinsics or failed, each exactly once."""
        received = self.diagnostic_value("frames_received") or 0
        outcomes = (
            "frames_processed",
            "frames_dropped",
            "bad_input_frames",
            "frames_without_camera_info",
            "failed_frames",
        )
        return received > 0 and received == sum(self.diagnostic_value(o) or 0 for o in outcomes)

    def set_parameters(self, node: str, values: dict[str, object]) -> list[SetParametersResult]:
        """Each of `values` set through the node's SetParameters service, one by one as
        `ros2 param set` does; a result per parameter, in order."""
        parameters = [Parameter(name, value=value) for name, value in values.items()]
        request = SetParameters.Request(parameters=[p.to_parameter_msg() for p in parameters])
        return list(self.call(SetParameters, f"{node}/set_parameters", request).results)

    def get_parameters(self, node: str, names: Sequence[str]) -> dict[str, object]:
        request = GetParameters.Request(names=list(names))
        values = self.call(GetParameters, f"{node}/get_parameters", request).values
        return {name: parameter_value_to_python(v) for name, v in zip(names, values, strict=True)}

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def listener(request) -> Iterator[Listener]:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    listening = Listener(namespace)
    listening.namespace = namespace
    yield listening
    listening.close()


class Camera:
    """A camera in the listener's own process, so the test knows which frames went out after
    which answer. Frame n is stamped 1000 + n, as camera_peer's are, its CameraInfo sent first."""

    def __init__(self, listener: Listener, rgb: np.ndarray) -> None:
        self.listener = listener
        self.rgb = rgb
        base = f"/{listener.namespace}"
        node = listener.node
        self.images = node.create_publisher(Image, f"{base}/image", qos_profile_sensor_data)
        self.infos = node.create_publisher(
            CameraInfo, f"{base}/camera_info", qos_profile_sensor_data
        )
        self.sent = 0
        """Frames sent so far: the next one is stamped 1000 + sent + 1."""

    @property
    def next_stamp(self) -> int:
        return 1000 + self.sent + 1

    def subscribed(self) -> bool:
        return bool(self.images.get_subscription_count() and self.infos.get_subscription_count())

    def send_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """A frame every camera_peer.PERIOD_S, receiving in between, until `condition` holds."""
        height, width = self.rgb.shape[:2]
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.sent += 1
            self.infos.publish(camera_peer.camera_info(self.sent, width, height))
            self.images.publish(camera_peer.image(self.sent, self.rgb))
            next_frame = time.monotonic() + camera_peer.PERIOD_S
            while time.monotonic() < next_frame and not condition():
                self.listener.executor.spin_once(timeout_sec=0.05)


def assert_hand_messages_are_well_formed(messages: list[TwoHandMesh]) -> None:
    stamps = [m.header.stamp.sec for m in messages]
    assert stamps == sorted(set(stamps)), "results out of order or repeated"
    assert all(1000 <= m.header.stamp.sec <= 1100 for m in messages)
    assert all(m.header.stamp.nanosec == 0 for m in messages)
    for message in messages:
        assert message.header.frame_id == FRAME
        assert message.backend.startswith("repehand-5m/torch-cpu")
        for hand in (message.right, message.left):
            if not hand.valid:
                assert len(hand.vertices) == 0
                continue
            assert len(hand.joints) == 21 and len(hand.vertices) == 778 * 3
            values = [c for p in hand.joints for c in (p.x, p.y, p.z)]
            values += list(hand.vertices) + list(hand.keypoints_2d) + list(hand.mano_pose)
            assert all(math.isfinite(v) for v in values)
            assert 0.0 <= hand.confidence <= 1.0


@pytest.mark.parametrize("input_size", [224, 256])
def test_camera_to_node_to_listener_keeps_stamps_frames_and_shapes(files, listener, input_size):
    """Also with a checkpoint of another input size: the node takes the file's."""
    checkpoint = files["checkpoint" if input_size == 224 else "checkpoint_256"]
    params = params_file(files, checkpoint=str(checkpoint))
    with (
        node_process(params, listener.namespace) as log,
        camera_process(files, listener.namespace, "good:40"),
    ):
        listener.spin_until(lambda: len(listener.hands) >= 5, 180, "five TwoHandMesh")
        listener.spin_until(lambda: listener.transforms and listener.markers, 60, "TF, markers")
        listener.spin_until(
            lambda: (listener.diagnostic_value("frames_processed") or 0) > 0, 30, "diagnostics"
        )
    assert_hand_messages_are_well_formed(listener.hands)
    assert f"repehand-5m/torch-cpu on {input_size} px crops" in log.read_text()
    # right04.jpg shows the person's left hand: found, and never a made-up right hand.
    assert any(m.left.valid for m in listener.hands)
    assert not any(m.right.valid for m in listener.hands)
    stamps = {m.header.stamp.sec for m in listener.hands}
    children = {t.child_frame_id for t in listener.transforms}
    assert {"left_wrist", "left_index_3", "left_pinky_4"} <= children
    assert not any(child.startswith("right_") for child in children)
    for transform in listener.transforms:
        assert transform.header.frame_id == FRAME
        assert transform.header.stamp.sec in stamps
    for marker in listener.markers:
        assert marker.header.frame_id == FRAME
        assert marker.action != Marker.ADD or marker.header.stamp.sec in stamps
    assert (listener.diagnostic_value("bad_input_frames") or 0) == 0
    # No depth topic: every hand placed from the image alone, and said so.
    assert all(m.depth_status == TwoHandMesh.DEPTH_OFF for m in listener.hands)
    assert all(m.left.placement == HandMesh.MONOCULAR for m in listener.hands)
    assert listener.diagnostic_text("depth") == "not configured (parameter depth_topic is empty)"


def test_lifecycle_configure_fails_cleanly_then_deactivate_clears_markers(files, listener):
    name = f"/{listener.namespace}/hands"
    # An explicit RepeHand backend does not fall back to keypoints: it needs its files.
    missing = params_file(files, checkpoint=str(files["dir"] / "no_such.pth"), backend="torch")
    with node_process(missing, listener.namespace, autostart=False) as log:
        answer = listener.call(
            ChangeState, f"{name}/change_state", ChangeState.Request(transition=Transition(id=1))
        )
        assert not answer.success
        state = listener.call(GetState, f"{name}/get_state", GetState.Request())
        assert state.current_state.id == State.PRIMARY_STATE_UNCONFIGURED
        text = log.read_text()
        assert "checkpoint file not found" in text and "no_such.pth" in text
        assert "mano.is.tue.mpg.de" in text or "weights/README.md" in text

    listener.markers.clear()
    good = params_file(files)
    camera = Camera(listener, np.load(files["image"]))

    def transition(transition_id: int) -> bool:
        request = ChangeState.Request(transition=Transition(id=transition_id))
        return listener.call(ChangeState, f"{name}/change_state", request).success

    with node_process(good, f"{listener.namespace}", autostart=False):
        assert transition(Transition.TRANSITION_CONFIGURE)
        assert transition(Transition.TRANSITION_ACTIVATE)
        listener.spin_until(camera.subscribed, 60, "the node's camera subscriptions")
        camera.send_until(lambda: len(listener.hands) >= 2, 180, "results while active")
        assert transition(Transition.TRANSITION_DEACTIVATE)
        # Frames sent after the node answered that it is inactive: until the markers are
        # cleared, and at least three.
        inactive_from = camera.next_stamp
        camera.send_until(
            lambda: (
                any(m.action == Marker.DELETEALL for m in listener.markers)
                and camera.next_stamp >= inactive_from + 3
            ),
            30,
            "DELETEALL",
        )
        # Active again, the node answers new frames (with the model it kept). The answers
        # come from one reliable writer, in order: an answer to a frame sent while inactive
        # would have come before the first answer to a later frame.
        assert transition(Transition.TRANSITION_ACTIVATE)
        active_from = camera.next_stamp
        camera.send_until(
            lambda: any(m.header.stamp.sec >= active_from for m in listener.hands),
            120,
            "an answer once active again",
        )
        answered = {m.header.stamp.sec for m in listener.hands}
        assert not answered & set(range(inactive_from, active_from)), "answered while inactive"
        assert transition(Transition.TRANSITION_DEACTIVATE)
        assert transition(Transition.TRANSITION_CLEANUP)
        state = listener.call(GetState, f"{name}/get_state", GetState.Request())
        assert state.current_state.id == State.PRIMARY_STATE_UNCONFIGURED
        # Unconfigured, a parameter read on configure may change (refused while configured).
        (result,) = listener.set_parameters(name, {"frame_prefix": "operator/"})
        assert result.successful, result.reason
        assert listener.get_parameters(name, ["frame_prefix"]) == {"frame_prefix": "operator/"}


def test_parameters_set_at_run_time_take_effect_live_or_are_refused_saying_why(files, listener):
    """Through the node's SetParameters service, as `ros2 param set`: a live parameter
    changes the answers to every frame sent after the service answered; one read on
    configure is refused while the node is active, the reason saying what to do."""
    name = f"/{listener.namespace}/hands"
    camera = Camera(listener, np.load(files["image"]))

    def answers_from(stamp: int) -> list[TwoHandMesh]:
        return [m for m in listener.hands if m.header.stamp.sec >= stamp]

    def set_live(values: dict[str, object]) -> int:
        """Sets `values`, each accepted; the stamp of the first frame sent after."""
        results = listener.set_parameters(name, values)
        assert all(r.successful for r in results), [r.reason for r in results]
        return camera.next_stamp

    with node_process(params_file(files), listener.namespace) as log:
        listener.spin_until(camera.subscribed, 120, "the node's camera subscriptions")
        camera.send_until(
            lambda: any(m.left.valid for m in listener.hands) and listener.transforms,
            240,
            "a valid left hand and its TF frames",
        )
        assert all(len(m.left.vertices) == 778 * 3 for m in listener.hands if m.left.valid)

        quiet = set_live(
            {"publish_tf": False, "publish_vertices": False, "smoothing.enabled": False}
        )
        camera.send_until(
            lambda: sum(m.left.valid for m in answers_from(quiet)) >= 2, 120, "answers"
        )
        assert all(len(m.left.vertices) == 0 for m in answers_from(quiet))

        # TF frames come from one reliable writer, in order: once one for a frame sent after
        # publish_tf is back arrives, none for the frames before it is still on its way.
        loud = set_live({"publish_tf": True, "publish_vertices": True})
        camera.send_until(
            lambda: (
                any(t.header.stamp.sec >= loud for t in listener.transforms)
                and any(len(m.left.vertices) == 778 * 3 for m in answers_from(loud))
            ),
            120,
            "TF frames and vertices again",
        )
        tf_stamps = {t.header.stamp.sec for t in listener.transforms}
        assert not tf_stamps & set(range(quiet, loud)), "TF frames while publish_tf was false"

        strict = set_live({"min_confidence": 1.0})
        camera.send_until(lambda: len(answers_from(strict)) >= 3, 120, "answers")
        for message in answers_from(strict):
            assert not message.right.valid and not message.left.valid

        refused = {
            "checkpoint": str(files["dir"] / "other.pth"),
            "image_topic": "other_image",
            "detection.mode": "image",
            "autostart": False,
            "min_confidence": 2.0,
        }
        results = dict(zip(refused, listener.set_parameters(name, refused), strict=True))
        assert not any(result.successful for result in results.values())
        for parameter in ("checkpoint", "image_topic", "detection.mode"):
            reason = results[parameter].reason
            assert f"parameter '{parameter}' takes effect on configure" in reason, reason
            assert "the node is active: deactivate and clean up the node, set it" in reason
        assert "read once, at start-up" in results["autostart"].reason
        assert "must be in [0.0, 1.0]" in results["min_confidence"].reason
        kept = listener.get_parameters(name, list(refused))
        assert kept == {
            "checkpoint": str(files["checkpoint"]),
            "image_topic": "image",
            "detection.mode": "detector",
            "autostart": True,
            "min_confidence": 1.0,
        }
        # An unchanged value is no change: a whole parameter file can be loaded again.
        (same,) = listener.set_parameters(name, {"image_topic": "image"})
        assert same.successful, same.reason
    text = log.read_text()
    assert "parameters applied: min_confidence 1.0" in text
    assert "Traceback" not in text


def test_without_weights_or_mano_auto_runs_the_keypoint_backend_and_says_why(files, listener):
    checkpoint = files["dir"] / "not_here" / "repehand_5m.pth"
    mano_dir = files["dir"] / "not_here" / "mano"
    params = params_file(files, backend="auto", checkpoint=str(checkpoint), mano_dir=str(mano_dir))
    with (
        node_process(params, listener.namespace) as log,
        camera_process(files, listener.namespace, "good:40"),
    ):
        listener.spin_until(
            lambda: sum(m.left.valid for m in listener.hands) >= 3, 180, "valid left hands"
        )
        listener.spin_until(lambda: listener.transforms and listener.markers, 60, "TF, markers")
        # Each marker answers a frame whose TwoHandMesh comes too (on its own topic, so
        # perhaps after the marker).
        listener.spin_until(
            lambda: (
                {m.header.stamp.sec for m in listener.markers if m.action == Marker.ADD}
                <= {m.header.stamp.sec for m in listener.hands}
            ),
            30,
            "the TwoHandMesh of every marker",
        )
        faces_publishers = listener.node.count_publishers(f"/{listener.namespace}/hands/faces")
    assert faces_publishers == 0, "no mesh, so no faces topic"
    for message in listener.hands:
        assert message.backend == "mediapipe-keypoints"
        assert message.header.frame_id == FRAME and 1000 <= message.header.stamp.sec <= 1100
        assert not message.right.valid
        assert len(message.right.vertices) == len(message.left.vertices) == 0
        if message.left.valid:
            joints = np.array([[p.x, p.y, p.z] for p in message.left.joints])
            assert joints.shape == (21, 3) and np.all(np.isfinite(joints))
            assert np.all((joints[:, 2] > 0.2) & (joints[:, 2] < 1.5))
            assert 0.0 < message.left.confidence <= 1.0
    children = {t.child_frame_id for t in listener.transforms}
    assert {"left_wrist", "left_index_3", "left_pinky_4"} <= children
    assert not any(child.startswith("right_") for child in children)
    assert all(t.header.frame_id == FRAME for t in listener.transforms)
    namespaces = {m.ns for m in listener.markers if m.action == Marker.ADD}
    assert {"left/skeleton", "left/joints"} <= namespaces
    assert not any(m.ns.endswith("/mesh") for m in listener.markers), "no mesh, no mesh markers"

    text = log.read_text()
    assert text.count("RepeHand's files are missing") == 1, text[-3000:]
    assert str(checkpoint) in text and str(mano_dir / "MANO_RIGHT.pkl") in text
    assert str(mano_dir / "MANO_LEFT.pkl") in text
    assert "weights/README.md" in text and "https://mano.is.tue.mpg.de" in text
    assert "Traceback" not in text


def test_bad_input_is_survived_counted_and_the_next_good_frame_processed(files, listener):
    params = params_file(files)
    with (
        node_process(params, listener.namespace) as log,
        camera_process(files, listener.namespace, "bad-then-good:30"),
    ):
        listener.spin_until(lambda: len(listener.hands) >= 3, 240, "results after bad input")
        # 9 malformed images and 2 malformed CameraInfos; some may be lost on the way.
        listener.spin_until(
            lambda: (listener.diagnostic_value("bad_input_frames") or 0) >= 6, 30, "bad counter"
        )
        listener.spin_until(
            lambda: (listener.diagnostic_value("frames_without_camera_info") or 0) >= 1,
            30,
            "the frame without valid intrinsics counted",
        )
    assert_hand_messages_are_well_formed(listener.hands)
    assert all(m.header.stamp.sec >= 1001 for m in listener.hands), "a bad frame was published"
    text = log.read_text()
    assert "frame skipped" in text or "ignoring CameraInfo" in text
    assert "Traceback" not in text


def test_each_frame_gets_one_answer_decided_from_its_header(files, listener):
    """An image without a frame_id is answered in its CameraInfo's frame on every output
    (such images are sent a few times: best-effort transport may lose one);
    one with no frame anywhere, or a negative stamp, is refused with the field named and
    counted once, never half answered. Topic names are logged as resolved."""
    from camera_peer import FRAMELESS_CAMERA, FRAMELESS_IMAGE, FRAMELESS_REPEATS

    params = params_file(files)
    remap = ["-r", f"image:=/{listener.namespace}/image"]
    with (
        node_process(params, listener.namespace, ros_args=remap) as log,
        camera_process(files, listener.namespace, "headers-then-good:20"),
    ):
        listener.spin_until(
            lambda: any(
                m.header.stamp.sec > 1000 + 5
                for m in listener.hands
                if m.header.stamp.sec < 1000 + FRAMELESS_IMAGE
            ),
            240,
            "good frames after the odd headers",
        )
        listener.spin_until(
            lambda: (listener.diagnostic_value("bad_input_frames") or 0) >= 2, 30, "refusals"
        )
        listener.spin_until(listener.every_frame_is_accounted_for, 30, "the counters to add up")
        for _ in range(20):
            listener.executor.spin_once(timeout_sec=0.05)
    by_stamp = {m.header.stamp.sec: m for m in listener.hands}
    frameless = range(1000 + FRAMELESS_IMAGE, 1000 + FRAMELESS_IMAGE + FRAMELESS_REPEATS)
    answered = [by_stamp[stamp] for stamp in frameless if stamp in by_stamp]
    outcomes = ("frames_received", "frames_dropped", "frames_without_camera_info")
    counters = {name: listener.diagnostic_text(name) for name in outcomes}
    assert answered, f"no image without a frame_id was answered; the node's counters: {counters}"
    assert all(m.header.frame_id == FRAME for m in answered)
    assert 1000 + FRAMELESS_CAMERA not in by_stamp
    assert all(m.header.stamp.sec >= 1000 for m in listener.hands)
    assert all(m.header.frame_id == FRAME for m in listener.hands)
    assert all(t.header.frame_id == FRAME for t in listener.transforms)
    assert all(m.header.frame_id == FRAME for m in listener.markers)
    assert listener.diagnostic_value("bad_input_frames") == 2
    text = log.read_text()
    assert "header.frame_id is empty in the image and in its CameraInfo" in text
    assert "header.stamp -5 s 0 ns is not a valid time" in text
    assert f"images on /{listener.namespace}/image (raw (K, D))" in text
    assert f"CameraInfo on /{listener.namespace}/camera_info" in text
    assert "Seconds value must not be negative" not in text and "Traceback" not in text


@pytest.mark.parametrize("policy", ["skip", "default_pinhole"])
def test_an_uncalibrated_camera_is_skipped_or_run_with_a_default_pinhole(files, listener, policy):
    params = params_file(files, uncalibrated_camera=policy)
    with (
        node_process(params, listener.namespace) as log,
        camera_process(files, listener.namespace, "uncalibrated:25"),
    ):
        if policy == "skip":
            listener.spin_until(
                lambda: (listener.diagnostic_value("frames_without_camera_info") or 0) >= 5,
                240,
                "skipped frames counted",
            )
        else:
            listener.spin_until(lambda: len(listener.hands) >= 3, 240, "answers")
            listener.spin_until(
                lambda: "default pinhole" in (listener.diagnostic_text("intrinsics") or ""),
                30,
                "the default pinhole in /diagnostics",
            )
    text = log.read_text()
    assert "CameraInfo k has no focal length" in text and "not calibrated" in text
    if policy == "skip":
        assert not listener.hands
        assert "set parameter uncalibrated_camera to default_pinhole" in text
    else:
        assert_hand_messages_are_well_formed(listener.hands)
        assert text.count("using a default pinhole from the image size") == 1
    assert "Traceback" not in text


def test_compressed_garbage_and_size_bombs_are_counted_then_jpeg_frames_answered(files, listener):
    """Also: remapping the image topic moves its /compressed topic with it, as image_transport
    does (the camera publishes on renamed/compressed)."""
    params = params_file(files, image_transport="compressed")
    renamed = f"/{listener.namespace}/renamed"
    with (
        node_process(params, listener.namespace, ros_args=["-r", f"image:={renamed}"]) as log,
        camera_process(
            files,
            listener.namespace,
            "compressed-bad-then-good:30",
            ros_args=["-r", "image/compressed:=renamed/compressed"],
        ),
    ):
        listener.spin_until(lambda: len(listener.hands) >= 3, 240, "results from JPEG frames")
        # Garbage, then a JPEG and a PNG claiming 20000x20000 (2.3 GB each if decoded); the
        # garbage may go out before discovery completes.
        listener.spin_until(
            lambda: (listener.diagnostic_value("bad_input_frames") or 0) >= 2, 30, "bad counter"
        )
    assert_hand_messages_are_well_formed(listener.hands)
    assert all(m.header.stamp.sec >= 1001 for m in listener.hands), "a bad frame was published"
    text = log.read_text()
    # Refused from their headers: decoded, they would be refused later for not matching
    # the CameraInfo, counted all the same, but after allocating gigabytes.
    for kind in ("JPEG image (jpeg)", "PNG image (png)"):
        assert f"{kind} declares 20000x20000, larger than 16384 pixels a side" in text, text
    assert f"images on {renamed}/compressed" in text
    assert "Traceback" not in text


def test_every_parameter_is_documented_in_the_yaml_and_valid():
    from repehand_ros.ros.parameters import PARAMETERS, problem

    values = yaml.safe_load((REPO / "config" / "hands.yaml").read_text())["/**"]["ros__parameters"]
    declared = {p.name for p in PARAMETERS if p.default is not None}
    assert set(values) == declared
    for name, value in values.items():
        assert problem(name, value) is None
    assert "detection.roi" in (REPO / "config" / "hands.yaml").read_text()
    assert os.access(REPO / "scripts" / "hands_node", os.X_OK)


def test_the_yaml_says_when_each_parameter_takes_effect():
    """Each parameter's comment starts with [live], [on configure] or [at start-up]."""
    import re

    from repehand_ros.ros.parameters import PARAMETERS

    lines = (REPO / "config" / "hands.yaml").read_text().splitlines()
    key = re.compile(r"    (# )?[a-z0-9_.]+: ")
    for parameter in PARAMETERS:
        own = re.compile(rf"    (# )?{re.escape(parameter.name)}: ")
        (at,) = [i for i, line in enumerate(lines) if own.match(line)]
        first = at - 1
        while lines[first - 1].startswith("    # ") and not key.match(lines[first - 1]):
            first -= 1
        assert lines[first].startswith(f"    # [{parameter.applies}] "), lines[first]


def test_a_camera_with_incompatible_qos_is_explained(files, listener):
    from rclpy.qos import QoSProfile as Profile
    from sensor_msgs.msg import Image

    params = params_file(files, image_qos_reliability="reliable")
    with node_process(params, listener.namespace) as log:
        best_effort = Profile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        listener.node.create_publisher(Image, f"/{listener.namespace}/image", best_effort)
        listener.spin_until(
            lambda: "offers a QoS this node cannot accept" in log.read_text(), 120, "the QoS error"
        )
    text = log.read_text()
    assert "RELIABILITY" in text and "image_qos_reliability to best_effort" in text
