"""The node keeps all of the model's work on its one model thread.

PyTorch on a thread other than the one that loaded it runs 1.5x slower on a
2-core machine (two OpenMP teams; see repehand_ros/pipeline/model_thread.py),
so loading, every inference and freeing must happen on the node's ModelThread,
never on the executor's thread. The node runs in this process (to see its
threads) with the real network, a plumbing checkpoint and fixture MANO files,
and gets its frames over DDS from a camera node beside it.
"""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest
import rclpy
from fixtures.checkpoints import write_plumbing_checkpoint
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from repehand_ros.msg import TwoHandMesh
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

import repehand_ros.pipeline.reconstructor as reconstructor_module
from repehand_ros.ros.node import HandsNode

pytestmark = [pytest.mark.dds, pytest.mark.timeout(300)]

WIDTH, HEIGHT = 320, 240


def test_model_is_loaded_run_and_freed_on_the_model_thread_only(tmp_path, mano_dir, monkeypatch):
    seen: dict[str, set[tuple[int, str]]] = {"load": set(), "reconstruct": set(), "close": set()}

    def note(step: str) -> None:
        seen[step].add((threading.get_ident(), threading.current_thread().name))

    class RecordingReconstructor(reconstructor_module.HandReconstructor):
        def __init__(self, *args, **kwargs) -> None:
            note("load")
            super().__init__(*args, **kwargs)

        def reconstruct(self, *args, **kwargs):
            note("reconstruct")
            return super().reconstruct(*args, **kwargs)

        def close(self) -> None:
            note("close")
            super().close()

    monkeypatch.setattr(reconstructor_module, "HandReconstructor", RecordingReconstructor)
    namespace = f"t{uuid.uuid4().hex[:8]}"
    context = rclpy.Context()
    rclpy.init(context=context)
    overrides = [
        Parameter("checkpoint", value=str(write_plumbing_checkpoint(tmp_path / "plumbing.pth"))),
        Parameter("mano_dir", value=str(mano_dir)),
        Parameter("backend", value="torch"),
        Parameter("device", value="cpu"),
        Parameter("detection.mode", value="roi"),
        Parameter("detection.roi", value=[40.0, 20.0, 280.0, 220.0]),
        Parameter("detection.tracking", value=False),
    ]
    node = HandsNode(context=context, namespace=namespace, parameter_overrides=overrides)
    camera = rclpy.create_node("camera", namespace=namespace, context=context)
    images = camera.create_publisher(Image, "image", qos_profile_sensor_data)
    infos = camera.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    results: list[TwoHandMesh] = []
    camera.create_subscription(TwoHandMesh, "hands/hands", results.append, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(camera)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        rgb = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        deadline = time.monotonic() + 120
        number = 0
        while len(results) < 2:
            assert time.monotonic() < deadline, "no TwoHandMesh from the in-process node"
            number += 1
            header = Header(frame_id="camera_optical_frame")
            header.stamp.sec = 1000 + number
            info = CameraInfo(header=header, width=WIDTH, height=HEIGHT)
            info.k = [300.0, 0.0, WIDTH / 2, 0.0, 300.0, HEIGHT / 2, 0.0, 0.0, 1.0]
            infos.publish(info)
            images.publish(
                Image(
                    header=header,
                    height=HEIGHT,
                    width=WIDTH,
                    encoding="rgb8",
                    step=3 * WIDTH,
                    data=rgb.tobytes(),
                )
            )
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    finally:
        executor.shutdown()
        camera.destroy_node()
        node.destroy_node()
        rclpy.shutdown(context=context)

    assert all(seen.values()), f"a model step never ran: {seen}"
    threads = set().union(*seen.values())
    assert len(threads) == 1, f"the model's work ran on several threads: {seen}"
    ((ident, name),) = threads
    assert ident != threading.get_ident(), "the model ran on the executor's thread"
    assert name.startswith("hands-model")
    assert results[-1].backend.startswith("repehand-5m/torch-cpu")
