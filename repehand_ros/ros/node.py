"""The ROS 2 node: camera images (and, optionally, aligned depth images) in; TwoHandMesh, joint
TF frames, markers, diagnostics out.

(Longer than most modules: it is one lifecycle node's states, subscriptions, work loop and
diagnostics; every part that stands alone lives beside it: camera_intake, depth_intake,
parameter_changes, parameters, conversions, markers, tf, diagnostics.)

Thin glue over the ROS-free HandReconstructor. A lifecycle node:
configure checks the parameters and chooses the model: with backend "auto"
(the default) RepeHand when its checkpoint and both MANO files exist, and
otherwise the keypoint backend (MediaPipe's landmarks: joints, no mesh),
saying once which files would switch on RepeHand; an explicit RepeHand
backend without its files stays unconfigured, saying what is missing.
Activate loads the model (a deactivated node keeps it) and subscribes (to a
registered depth image too, when `depth_topic` names one and the model has a
mesh to fit to it: see depth_intake);
deactivate stops work and clears the markers; cleanup frees the model. Images
are received on the executor's thread and processed, newest frame first, on
the node's ModelThread, the one thread that also loads and frees the model
(see model_thread.py for why).

Parameters set at run time: the live ones (parameters.LIVE) are handed to the
model thread, which takes them between two frames, so that every frame is
answered with one set of settings; the others are refused, with the reason,
while the node is configured (see parameters.py).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult

try:
    from rclpy.event_handler import (
        QoSMessageLostInfo,
        QoSRequestedIncompatibleQoSInfo,
        SubscriptionEventCallbacks,
    )
except ImportError:  # ROS 2 Humble: rclpy.event_handler came in Iron, as a rename
    from rclpy.qos_event import (
        QoSMessageLostInfo,
        QoSRequestedIncompatibleQoSInfo,
        SubscriptionEventCallbacks,
    )
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecyclePublisher, State, TransitionCallbackReturn
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.parameter import Parameter as RosParameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from repehand_ros.msg import HandMeshFaces, TwoHandMesh
from repehand_ros.pipeline.choice import (
    WHERE_TO_GET_THEM,
    BackendChoice,
    MissingFile,
    MissingModelFilesError,
    choose_backend,
    describe,
)
from repehand_ros.pipeline.config import ReconstructorConfig
from repehand_ros.pipeline.model_thread import ModelThread
from repehand_ros.ros import parameters
from repehand_ros.ros.camera_info import sees_rectified
from repehand_ros.ros.camera_intake import AdmittedImage, CameraIntake
from repehand_ros.ros.conversions import two_hand_mesh_from_result
from repehand_ros.ros.depth_intake import DepthIntake
from repehand_ros.ros.diagnostics import NodeStats, diagnostic_array
from repehand_ros.ros.faces import FACES_TOPIC, faces_message, latched_qos
from repehand_ros.ros.image_conversion import (
    ImageConversionError,
    rgb_from_compressed,
    rgb_from_image,
)
from repehand_ros.ros.mailbox import LatestOnlyMailbox
from repehand_ros.ros.markers import KINDS as MARKER_KINDS
from repehand_ros.ros.markers import delete_all_markers, hand_markers
from repehand_ros.ros.parameter_changes import LiveChanges, plain, refusal
from repehand_ros.ros.reason_limited import WARN_PERIOD_S
from repehand_ros.ros.tf import joint_transforms, tf_message_type

if TYPE_CHECKING:
    from repehand_ros.pipeline.reconstructor import HandReconstructor


RESULTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def _with_parameter(file: MissingFile) -> str:
    """A missing file, with the node parameter that names it."""
    if file.path is None:
        return (
            "parameter 'checkpoint' is empty; set it to a RepeHand checkpoint, or "
            "allow_random_weights for plumbing tests"
        )
    return f"{describe(file)} (parameter '{file.setting}')"


class HandsNode(LifecycleNode):
    """Both hands from a camera, as TwoHandMesh, TF frames and markers."""

    # Made by on_configure (the lifecycle guarantees it before anything uses them).
    config: ReconstructorConfig
    hands_publisher: LifecyclePublisher
    faces_publisher: LifecyclePublisher | None
    markers_publisher: LifecyclePublisher
    tf_publisher: LifecyclePublisher

    def __init__(self, node_name: str = "hands", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for parameter in parameters.PARAMETERS:
            descriptor = ParameterDescriptor(
                description=parameter.description, additional_constraints=parameter.when
            )
            default = (
                RosParameter.Type.DOUBLE_ARRAY if parameter.default is None else parameter.default
            )
            self.declare_parameter(parameter.name, default, descriptor)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.add_post_set_parameters_callback(self._on_parameters_set)
        self.live_changes = LiveChanges()
        self.stats = NodeStats()
        self.mailbox: LatestOnlyMailbox[AdmittedImage] = LatestOnlyMailbox()
        self.reconstructor: HandReconstructor | None = None
        self.intake = CameraIntake(
            self.stats,
            lambda text: self.get_logger().warning(text),
            lambda: self._parameter("uncalibrated_camera"),
        )
        self.depth = DepthIntake(self.intake.warn_per_reason)
        self._image_topic_name = ""
        self.values: dict[str, Any] = {}
        self.model_thread = ModelThread("hands-model")
        self._work_done: Future[None] | None = None
        self._subscriptions_made: list = []
        self._model_state = "unconfigured"
        self._model_error = ""
        self._publishers_made = False
        self._explained_fallback = ""
        self._activated_at = 0.0
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._publish_diagnostics)

    # -- parameters ---------------------------------------------------------------------------

    def _check_parameters(self, changed: Sequence[RosParameter]) -> list[str]:
        """What is wrong with each of this node's parameters in `changed` (rclpy's own, such
        as use_sim_time, are rclpy's to check)."""
        ours = [p for p in changed if p.name in parameters.BY_NAME]
        problems = [parameters.problem(p.name, plain(p.value)) for p in ours]
        state = self._lifecycle_state()
        problems += [refusal(p.name, plain(p.value), self._parameter(p.name), state) for p in ours]
        return [problem for problem in problems if problem]

    def _lifecycle_state(self) -> str:
        """The lifecycle state's label: unconfigured, inactive, active, finalized, or a
        transition's (rclpy keeps it in its state machine, as its trigger_shutdown reads it)."""
        return self._state_machine.current_state[1]

    def _on_set_parameters(self, changed: list[RosParameter]) -> SetParametersResult:
        problems = self._check_parameters(changed)
        if problems:
            return SetParametersResult(successful=False, reason="; ".join(problems))
        return SetParametersResult(successful=True)

    def _on_parameters_set(self, changed: list[RosParameter]) -> None:
        """Hands the live parameters just set to the model thread (see _apply_live_changes);
        configure reads them all anyway."""
        self.live_changes.add({p.name: plain(p.value) for p in changed})

    def _apply_live_changes(self, between_frames: bool = False) -> None:
        """On the model thread, between two frames or at activate: the live parameters set
        since the last call, into the values, the configuration and the reconstructor (if
        loaded). Frames taken after this are answered with them."""
        changes = self.live_changes.take()
        if not changes:
            return
        values = {**self.values, **changes}
        settings = parameters.live_settings(values)
        pairing = parameters.pairing_settings(values)
        if self.reconstructor is not None:
            self.reconstructor.update_live_settings(settings)
        self.depth.pairing.settings = pairing
        if between_frames and self.values["publish_markers"] and not values["publish_markers"]:
            # Deactivate has cleared them already otherwise.
            self.markers_publisher.publish(delete_all_markers(Header(stamp=self._now())))
        self.config = settings.applied_to(self.config)
        self.values = values
        said = ", ".join(f"{name} {value!r}" for name, value in sorted(changes.items()))
        self.get_logger().info(f"parameters applied: {said}")

    def _parameter(self, name: str) -> Any:
        """The parameter's value now (None for an unset list); for the executor's thread,
        where parameters are set."""
        try:
            return plain(self.get_parameter(name).value)
        except rclpy.exceptions.ParameterUninitializedException:
            return None

    def _read_parameters(self) -> dict[str, Any]:
        return {
            parameter.name: self._parameter(parameter.name) for parameter in parameters.PARAMETERS
        }

    # -- lifecycle ----------------------------------------------------------------------------

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        self.live_changes.take()  # all of them are read here
        values = self._read_parameters()
        problems = [p for p in (parameters.problem(k, v) for k, v in values.items()) if p]
        if not problems:
            try:
                config = parameters.reconstructor_config(values)
                choice = choose_backend(config)
            except MissingModelFilesError as error:
                problems = [_with_parameter(file) for file in error.missing]
                problems[-1] += f"; {WHERE_TO_GET_THEM}"
            except ValueError as error:
                problems = [str(error)]
        if problems:
            for problem in problems:
                self.get_logger().error(f"cannot configure: {problem}")
            self._model_state = "unconfigured: " + problems[0]
            return TransitionCallbackReturn.FAILURE
        if choice.missing:
            self._explain_fallback(choice)
        self.config = choice.applied_to(config)
        self.values = values
        self.depth.pairing.settings = parameters.pairing_settings(values)
        self.hands_publisher = self.create_lifecycle_publisher(TwoHandMesh, "~/hands", RESULTS_QOS)
        # Faces describe a mesh: a backend without one (keypoints) has no topic for them.
        self.faces_publisher = (
            self.create_lifecycle_publisher(HandMeshFaces, FACES_TOPIC, latched_qos())
            if choice.gives_mesh
            else None
        )
        self.markers_publisher = self.create_lifecycle_publisher(MarkerArray, "~/markers", 10)
        self.tf_publisher = self.create_lifecycle_publisher(tf_message_type(), "/tf", 100)
        self._publishers_made = True
        self._model_state = "configured"
        self.get_logger().info(f"configured: backend {choice.backend}")
        return TransitionCallbackReturn.SUCCESS

    def _explain_fallback(self, choice: BackendChoice) -> None:
        """Say, once, why the keypoint backend runs and which files would switch on RepeHand."""
        explanation = (
            f"{choice.reason}, with TF frames and skeleton markers. Missing: "
            f"{'; '.join(_with_parameter(file) for file in choice.missing)}. To run the full "
            f"RepeHand model with meshes, {WHERE_TO_GET_THEM}; put them at those paths and "
            "configure the node again (or restart it)."
        )
        if explanation == self._explained_fallback:
            self.get_logger().info("keypoint backend: RepeHand's files are still missing")
            return
        self._explained_fallback = explanation
        self.get_logger().warning(explanation)

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        from repehand_ros.pipeline.reconstructor import HandReconstructor

        self._model_state = "loading"
        try:
            self.model_thread.run(self._apply_live_changes)
            reconstructor = self.reconstructor
            if reconstructor is None:
                reconstructor = self.model_thread.run(HandReconstructor, self.config)
                self.reconstructor = reconstructor
            else:  # kept from before a deactivate: a new stream starts
                self.model_thread.run(reconstructor.reset)
        except Exception as error:  # a model that cannot load must not kill the node
            self._model_state = f"failed to load: {error}"
            self.get_logger().error(f"cannot activate: {error}")
            return TransitionCallbackReturn.FAILURE
        self._model_state = f"active ({reconstructor.backend_name})"
        result = super().on_activate(state)
        faces = reconstructor.faces
        if self.faces_publisher is not None and faces is not None:
            self.faces_publisher.publish(faces_message(*faces))
        self._subscribe(reconstructor.gives_mesh, reconstructor.backend_name)
        self.mailbox.reopen()
        self._activated_at = time.monotonic()
        self._work_done = self.model_thread.start(self._work)
        crops = reconstructor.input_size
        network = reconstructor.backend_name + (f" on {crops} px crops" if crops else "")
        projection = "rectified (P)" if self.intake.rectified else "raw (K, D)"
        depth = self.depth.disabled_reason
        if self.depth.enabled:
            intrinsics = self.depth.camera_info_topic or "the colour camera's intrinsics"
            depth = f"on {self.depth.topic} ({intrinsics})"
        self.get_logger().info(
            f"active: {network}; images on {self._image_topic_name} ({projection}), "
            f"CameraInfo on {self.intake.camera_info_topic}; depth {depth}"
        )
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_work()
        self.markers_publisher.publish(delete_all_markers(Header(stamp=self._now())))
        self._model_state = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._free()
        self._model_state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._stop_work()
        self._free()
        return TransitionCallbackReturn.SUCCESS

    def _free(self) -> None:
        self._close_model()
        if self._publishers_made:
            for publisher in (
                self.hands_publisher,
                self.faces_publisher,
                self.markers_publisher,
                self.tf_publisher,
            ):
                if publisher is not None:
                    self.destroy_lifecycle_publisher(publisher)
            self._publishers_made = False

    def _close_model(self) -> None:
        if self.reconstructor is not None:
            self.model_thread.run(self.reconstructor.close)
            self.reconstructor = None

    def _stop_work(self) -> None:
        for subscription in self._subscriptions_made:
            self.destroy_subscription(subscription)
        self._subscriptions_made = []
        self.mailbox.close()
        if self._work_done is not None:
            error = self._work_done.exception()
            if error is not None:
                self.get_logger().error(f"frame processing stopped: {error!r}")
            self._work_done = None

    def destroy_node(self) -> None:
        """Stops the work and frees the model on its thread before the node goes."""
        self._stop_work()
        self._close_model()
        self.model_thread.close()
        super().destroy_node()

    # -- input --------------------------------------------------------------------------------

    def _image_topic(self) -> str:
        """The image topic, resolved and remapped; for compressed images that topic's
        `/compressed`, as image_transport names it, so remapping `image` moves both."""
        topic = self.resolve_topic_name(self.values["image_topic"])
        return f"{topic}/compressed" if self.values["image_transport"] == "compressed" else topic

    def _subscribe(self, gives_mesh: bool, backend: str) -> None:
        """The camera's subscriptions: images and CameraInfo, and the depth images (with
        their own CameraInfo, if named) when a depth topic is set and the model has a mesh.

        Depth comes from the same driver as the images, with the same QoS: sensor data
        (best effort unless image_qos_reliability says reliable, keep the last
        image_qos_depth). A late depth image is worth nothing, and the pairing keeps its
        own short buffer of the ones that arrived."""
        reliability = self.values["image_qos_reliability"]
        qos = QoSProfile(
            history=qos_profile_sensor_data.history,
            depth=int(self.values["image_qos_depth"]),
            reliability=ReliabilityPolicy.RELIABLE
            if reliability == "reliable"
            else ReliabilityPolicy.BEST_EFFORT,
            durability=qos_profile_sensor_data.durability,
        )
        message_type = CompressedImage if self.values["image_transport"] == "compressed" else Image
        events = SubscriptionEventCallbacks(incompatible_qos=self._on_incompatible_qos)
        image_events = SubscriptionEventCallbacks(
            incompatible_qos=self._on_incompatible_qos, message_lost=self._on_image_lost
        )
        images = self.create_subscription(
            message_type, self._image_topic(), self._on_image, qos, event_callbacks=image_events
        )
        infos = self.create_subscription(
            CameraInfo,
            self.values["camera_info_topic"],
            self.intake.on_camera_info,
            qos,
            event_callbacks=events,
        )
        self._subscriptions_made = [images, infos]
        # The names after remapping and namespaces: what the user must publish to.
        self._image_topic_name, self.intake.camera_info_topic = images.topic_name, infos.topic_name
        self.intake.rectified = sees_rectified(self.values["image_projection"], images.topic_name)
        depth_topic = self.values["depth_topic"]
        if not depth_topic:
            self.depth.disable()
            return
        if not gives_mesh:
            reason = (
                f"not used: the {backend} backend gives joints without a mesh, and fitting the "
                "hands to depth needs the mesh's surface (RepeHand with its checkpoint and MANO "
                "files)"
            )
            self.get_logger().warning(f"depth_topic {depth_topic!r} is set but {reason}")
            self.depth.disable(reason)
            return
        depth_images = self.create_subscription(
            Image, depth_topic, self.depth.on_image, qos, event_callbacks=events
        )
        self._subscriptions_made.append(depth_images)
        info_topic = ""
        if self.values["depth_camera_info_topic"]:
            depth_infos = self.create_subscription(
                CameraInfo,
                self.values["depth_camera_info_topic"],
                self.depth.on_camera_info,
                qos,
                event_callbacks=events,
            )
            self._subscriptions_made.append(depth_infos)
            info_topic = depth_infos.topic_name
        self.depth.enable(depth_images.topic_name, info_topic, self.intake.rectified)

    def _on_incompatible_qos(self, info: QoSRequestedIncompatibleQoSInfo) -> None:
        policy = info.last_policy_kind.name if info.last_policy_kind else "unknown"
        self.get_logger().error(
            f"a publisher on the camera topics offers a QoS this node cannot accept "
            f"(policy {policy}, {info.total_count} time(s)): no images will arrive. The node "
            f"subscribes {self.values['image_qos_reliability']}; set parameter "
            f"image_qos_reliability to best_effort, which accepts every camera.",
            throttle_duration_sec=WARN_PERIOD_S,
        )

    def _on_image_lost(self, info: QoSMessageLostInfo) -> None:
        """Images the middleware lost before they reached this node (counted, not silent)."""
        self.stats.frames_lost(info.total_count_change)

    def _on_image(self, message: Image | CompressedImage) -> None:
        admitted = self.intake.admit(message)
        if admitted is not None:
            self.mailbox.put(admitted)

    # -- work ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while (frame := self.mailbox.take()) is not None:
            try:
                self._apply_live_changes(between_frames=True)
            except Exception as error:  # checked when set: should not happen
                self.get_logger().error(f"parameters not applied: {type(error).__name__}: {error}")
            try:
                self._process(frame)
            except (ImageConversionError, ValueError) as error:
                self.stats.bad_frame()
                self.intake.warn_per_reason(f"frame skipped: {error}")
            except Exception as error:  # one bad frame must not stop the node
                self.stats.failed_frame()
                self.get_logger().error(
                    f"frame failed: {type(error).__name__}: {error}",
                    throttle_duration_sec=WARN_PERIOD_S,
                )

    def _process(self, frame: AdmittedImage) -> None:
        message = frame.message
        if isinstance(message, CompressedImage):
            # Its header's size is checked against the CameraInfo's before anything is decoded.
            rgb = rgb_from_compressed(message, expected_size=frame.intrinsics.image_size)
        else:
            rgb = rgb_from_image(message)
        header = frame.header
        stamp = Time.from_msg(header.stamp)
        reconstructor = self.reconstructor
        if reconstructor is None:
            return
        camera = frame.intrinsics.camera_for(rgb.shape[1], rgb.shape[0])
        # Taken after the colour image is decoded: a depth image that trails it has had
        # that long to arrive (see io.stamp_pairing for how long it is waited for).
        depth = self.depth.for_frame(stamp.nanoseconds, header.frame_id)
        result = reconstructor.reconstruct(
            rgb, camera, stamp.nanoseconds * 1e-9, depth=depth.metres, depth_camera=depth.camera
        )
        self.depth.record(result, depth)
        self.hands_publisher.publish(
            two_hand_mesh_from_result(result, header, self.values["publish_vertices"])
        )
        if self.values["publish_tf"] and self.tf_publisher.get_subscription_count():
            transforms = joint_transforms(result, header, prefix=self.values["frame_prefix"])
            if transforms:
                self.tf_publisher.publish(tf_message_type()(transforms=transforms))
        if self.values["publish_markers"] and self.markers_publisher.get_subscription_count():
            faces = reconstructor.faces
            # Without a mesh (the keypoint backend) there are no mesh markers at all.
            kinds = MARKER_KINDS if reconstructor.gives_mesh else ("skeleton", "joints")
            self.markers_publisher.publish(
                hand_markers(
                    result, header, faces, float(self.values["marker_lifetime"]), kinds=kinds
                )
            )
        latency = (self.get_clock().now() - stamp).nanoseconds * 1e-9
        self.stats.frame_published(latency)

    # -- diagnostics --------------------------------------------------------------------------

    def _now(self):
        return self.get_clock().now().to_msg()

    def _publish_diagnostics(self) -> None:
        level, message = DiagnosticStatus.OK, self._model_state
        active = self.reconstructor is not None and self._work_done is not None
        silent = self.stats.seconds_since_input()
        if active and silent is None:
            silent = time.monotonic() - self._activated_at
        if self._model_state.startswith(("failed", "unconfigured:")):
            level = DiagnosticStatus.ERROR
        elif active and self.intake.approximate:
            level = DiagnosticStatus.WARN
            message = f"{self._model_state}; {self.intake.state}"
        elif active and silent > self._parameter("stale_image_timeout"):
            level = DiagnosticStatus.WARN
            message = f"no images on {self._image_topic_name} for {silent:.1f} s"
            self.get_logger().warning(
                f"{message}: is the camera running?", throttle_duration_sec=WARN_PERIOD_S
            )
        elif active and self.depth.stale:
            level = DiagnosticStatus.WARN
            message = f"{self._model_state}; depth {self.depth.state}"
        device = self.values.get("device", "") if self.values else ""
        self.diagnostics_publisher.publish(
            diagnostic_array(
                self.get_fully_qualified_name(),
                self.stats,
                self.mailbox.dropped,
                self._model_state,
                self.intake.state,
                device,
                level[0],
                message,
                self._now(),
                extra=self.depth.values(),
            )
        )


def run(argv: Sequence[str] | None = None) -> int:
    """Runs the node until Ctrl-C; with parameter autostart it configures and activates itself."""
    rclpy.init(args=list(argv) if argv is not None else sys.argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    node = HandsNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if node.get_parameter("autostart").value:
            if node.trigger_configure() == TransitionCallbackReturn.SUCCESS:
                node.trigger_activate()
            else:
                node.get_logger().error(
                    "autostart: configuration failed (see above); the node stays up, "
                    "unconfigured, until it is configured again"
                )
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def main() -> None:
    """Entry point of the hands_node executable (ros2 run repehand_ros hands_node)."""
    sys.exit(run())
