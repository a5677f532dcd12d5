"""The node's work on a recorded bag, offline, without a ROS graph (`repehand replay`).

Reads Image or CompressedImage, and CameraInfo, from a ROS 2 bag with
`rosbags`, runs the HandReconstructor on every image (configured as the node
is: a parameter YAML such as config/hands.yaml, plus `--set name=value`),
and writes what the node would have published into a new bag: TwoHandMesh on
NODE/hands, one TF frame per joint on /tf, markers on NODE/markers, and the
mesh triangles once on NODE/faces when the model has a mesh. Every message
keeps its image's stamp and frame, and is logged at that stamp. Messages are
built with the node's own conversions and serialized with rclpy's
`serialize_message` (CDR, as DDS sends them); no ROS graph is started.

`backend: auto` is decided as in the node, by the pipeline
(`repehand_ros.pipeline.choice.choose_backend`).

Depth: when the bag holds a depth image topic registered to the colour camera
(`--depth-topic`, or by default the one aligned depth topic it has, such as
RealSense's `aligned_depth_to_color/image_raw`), each image is paired with the
depth image of its stamp as the node pairs them (the parameters
depth_max_offset_s, depth_timeout_s, depth_fusion.*), the depth images taken as
arrived by the time the next image was recorded (the node's wait for a
trailing depth image, without the clock), and TwoHandMesh says per hand
whether depth placed it. Without one the hands are placed from the images
alone, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repehand_ros.io.frames import SourceError
from repehand_ros.ros import bags
from repehand_ros.ros.footage import SourceOptions, iter_frames

if TYPE_CHECKING:
    from repehand_ros.ros.depth_intake import DepthIntake

logger = logging.getLogger(__name__)


def parameter_values(
    params_file: Path | None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every node parameter: its default, then the file's value, then `overrides`.

    The file is a ROS 2 parameter file (`parameters.read_params_file`). Unknown names and
    bad values are refused (ValueError).
    """
    from repehand_ros.ros import parameters

    values = {p.name: p.default for p in parameters.PARAMETERS}
    given = parameters.read_params_file(params_file) if params_file is not None else {}
    given.update(overrides or {})
    problems = [p for p in (parameters.problem(k, v) for k, v in given.items()) if p]
    if problems:
        raise ValueError("; ".join(problems))
    values.update(given)
    return values


def replay(
    in_bag: Path,
    out_bag: Path,
    values: Mapping[str, Any],
    image_topic: str | None = None,
    node: str = "/hands",
    storage: str = "mcap",
    copy_images: bool = False,
    depth_topic: str = bags.AUTO_DEPTH,
) -> dict[str, Any]:
    """Reconstruct every image of `in_bag` into the new bag `out_bag`; returns a summary.

    `depth_topic`: the bag's registered depth image topic; bags.AUTO_DEPTH (the default)
    the one aligned depth topic the bag has, if any; "" none."""
    from rclpy.serialization import serialize_message

    from repehand_ros.geometry.camera import PinholeCamera
    from repehand_ros.pipeline.reconstructor import HandReconstructor
    from repehand_ros.ros import parameters
    from repehand_ros.ros.camera_info import sees_rectified
    from repehand_ros.ros.conversions import two_hand_mesh_from_result
    from repehand_ros.ros.depth_intake import DepthIntake
    from repehand_ros.ros.faces import faces_message
    from repehand_ros.ros.markers import hand_markers
    from repehand_ros.ros.reason_limited import ReasonLimitedWarnings
    from repehand_ros.ros.tf import joint_transforms, tf_message_type

    config = parameters.reconstructor_config(values)
    depth, depth_info = bags.depth_topics(in_bag, depth_topic)
    node = "/" + node.strip("/")
    topics = {
        "hands": f"{node}/hands",
        "faces": f"{node}/faces",
        "markers": f"{node}/markers",
        "tf": "/tf",
    }
    frames = iter_frames([in_bag], SourceOptions(bag_topic=image_topic, depth_topic=depth or ""))
    summary: dict[str, Any] = {"frames": 0, "results": 0, "right": 0, "left": 0, "skipped": 0}
    TFMessage = tf_message_type()  # noqa: N806 (a class)
    depth_intake = DepthIntake(
        ReasonLimitedWarnings(logger.warning), parameters.pairing_settings(values)
    )
    with HandReconstructor(config) as reconstructor, bags.BagWriter(out_bag, storage) as writer:
        writer.add_topic(topics["hands"], bags.TWO_HAND_MESH, bags.qos(10))
        writer.add_topic(topics["markers"], bags.MARKER_ARRAY, bags.qos(10))
        writer.add_topic(topics["tf"], bags.TF_MESSAGE, bags.qos(100))
        faces_written = False
        camera_cache: dict[bytes, PinholeCamera | None] = {}
        # "auto" decides by the topic's name, known here when --topic names it.
        rectified = sees_rectified(values["image_projection"], image_topic or "")
        if depth is not None and reconstructor.gives_mesh:
            depth_intake.enable(depth, depth_info or "", rectified)
        elif depth is not None:
            logger.warning(
                "the depth images on %s are not used: the %s backend has no mesh to fit them to",
                depth,
                reconstructor.backend_name,
            )
        for frame in frames:
            summary["frames"] += 1
            if frame.image is None or frame.stamp_ns is None:
                raise SourceError(f"{in_bag} gave a frame that is not a recorded image")
            header, stamp_ns = frame.image.header, frame.stamp_ns
            if copy_images:
                _copy_input(writer, frame, stamp_ns, serialize_message)
            if depth_intake.enabled:
                for recorded in frame.depth:
                    if depth_info and recorded.camera_info is not None:
                        depth_intake.on_camera_info(recorded.camera_info)
                    depth_intake.on_image(recorded.image)
            try:
                rgb = frame.to_rgb()
                camera = _camera(
                    frame.camera_info, rectified, values["uncalibrated_camera"], camera_cache
                )
                frame_depth = depth_intake.for_frame(stamp_ns, header.frame_id, wait=False)
                result = reconstructor.reconstruct(
                    rgb,
                    camera,
                    stamp_ns * 1e-9,
                    depth=frame_depth.metres,
                    depth_camera=frame_depth.camera,
                )
            except ValueError as error:
                summary["skipped"] += 1
                logger.warning("frame %d skipped: %s", frame.index, error)
                continue
            depth_intake.record(result, frame_depth)
            faces = reconstructor.faces
            if faces is not None and not faces_written:
                writer.add_topic(topics["faces"], bags.HAND_MESH_FACES, bags.qos(1, latched=True))
                message = faces_message(*faces)
                message.header = header
                writer.write(topics["faces"], stamp_ns, serialize_message(message))
                faces_written = True
            mesh = two_hand_mesh_from_result(result, header, values["publish_vertices"])
            writer.write(topics["hands"], stamp_ns, serialize_message(mesh))
            transforms = joint_transforms(result, header, prefix=values["frame_prefix"])
            if transforms:
                tf = TFMessage(transforms=transforms)
                writer.write(topics["tf"], stamp_ns, serialize_message(tf))
            markers = hand_markers(result, header, faces, float(values["marker_lifetime"]))
            writer.write(topics["markers"], stamp_ns, serialize_message(markers))
            summary["results"] += 1
            summary["right"] += int(result.right.valid)
            summary["left"] += int(result.left.valid)
        summary["backend"] = reconstructor.backend_name
        summary["messages"] = dict(writer.counts)
    if depth_intake.enabled:
        summary["depth"] = _depth_summary(depth_intake)
    return summary


def _depth_summary(intake: DepthIntake) -> dict[str, Any]:
    """What became of the depth images: frames by depth status, hands by placement."""
    from repehand_ros.hands import HandSide

    values = intake.values()
    return {
        "topic": intake.topic,
        "images": intake.images_received,
        "frames": {status.value: count for status, count in intake.frames.items() if count},
        **{
            side.name.lower(): {
                "placed_by_depth": int(values[f"{side.name.lower()}_placed_by_depth"]),
                "held": int(values[f"{side.name.lower()}_depth_held"]),
                "fallbacks": int(values[f"{side.name.lower()}_depth_fallbacks"]),
            }
            for side in HandSide
        },
    }


def _camera(info: Any, rectified: bool, uncalibrated: str, cache: dict[bytes, Any]) -> Any:
    """The camera of a CameraInfo as the node reads it; None (the default camera) without
    one, or for an uncalibrated camera with `uncalibrated` "default_pinhole"; ValueError
    for one that gives no camera."""
    from rclpy.serialization import serialize_message

    from repehand_ros.ros.camera_info import UncalibratedCameraError, camera_model

    if info is None:
        return None
    key = serialize_message(info)
    if key not in cache:
        try:
            cache[key] = camera_model(info, rectified).camera
        except UncalibratedCameraError:
            if uncalibrated != "default_pinhole":
                raise
            cache[key] = None
    return cache[key]


def _copy_input(writer: bags.BagWriter, frame: Any, stamp_ns: int, serialize) -> None:
    from sensor_msgs.msg import CompressedImage

    kind = bags.COMPRESSED_IMAGE if isinstance(frame.image, CompressedImage) else bags.IMAGE
    topic = "/camera/image_raw" + ("/compressed" if kind == bags.COMPRESSED_IMAGE else "")
    writer.add_topic(topic, kind, bags.qos(5, best_effort=True))
    writer.write(topic, stamp_ns, serialize(frame.image))
    if frame.camera_info is not None:
        writer.add_topic("/camera/camera_info", bags.CAMERA_INFO, bags.qos(5, best_effort=True))
        writer.write("/camera/camera_info", stamp_ns, serialize(frame.camera_info))
