"""The node's parameters: one table of names, defaults, descriptions, checks and when
each takes effect.

(Longer than most modules: the table is one fact, every parameter's user-facing
description with its check, and reads best whole; config/hands.yaml and the README
are checked against it.)

Every parameter is declared from this table with a description (shown by
`ros2 param describe`), and checked by the same function whether it comes
from the YAML file, the command line or a later `ros2 param set`. A bad
value is refused with a message that names the parameter.

Each also says when a new value takes effect (`Parameter.applies`):
LIVE ones are applied by the running node from its next frame (the model
thread takes them between two frames); ON_CONFIGURE ones are read when the
node is configured, so while it is configured or active a new value is
refused with a message saying to clean up and configure again (an unchanged
value is accepted); AT_START_UP ones are read once when the process starts.
`Parameter.why` says why a parameter is not live, or when exactly a live one
takes effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repehand_ros.detection import DetectionConfig
from repehand_ros.geometry.depth_fusion import FUSION_MODES, DepthFusionSettings
from repehand_ros.io.stamp_pairing import PairingSettings
from repehand_ros.model.variants import (
    HEATMAP_STRIDE,
    MAX_INPUT_SIZE,
    MIN_INPUT_SIZE,
    check_input_size,
)
from repehand_ros.pipeline.config import BACKENDS, LiveSettings, ReconstructorConfig
from repehand_ros.pipeline.smoothing import SmoothingConfig
from repehand_ros.ros.camera_info import PROJECTIONS

Check = Callable[[Any], str | None]
"""Returns None for a good value, or what is wrong with it."""


UNCALIBRATED_POLICIES: tuple[str, ...] = ("skip", "default_pinhole")
"""Values of `uncalibrated_camera`."""

LIVE = "live"
"""Taken by the running node: from its next frame (or where `why` says)."""
ON_CONFIGURE = "on configure"
"""Read when the node is configured; refused while it is configured or active."""
AT_START_UP = "at start-up"
"""Read once when the process starts; refused at run time."""
APPLIES: tuple[str, ...] = (LIVE, ON_CONFIGURE, AT_START_UP)

_MODEL = "the model is chosen from it at configure and loaded with it at activate"
_SUBSCRIPTIONS = "the camera subscriptions are made with it"


def one_of(*choices: str) -> Check:
    return lambda value: None if value in choices else f"must be one of {list(choices)}"


def in_range(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        if not math.isfinite(value) or not low <= value <= high:
            return f"must be in [{low}, {high}]"
        return None

    return check


def roi_box(value: Any) -> str | None:
    values = list(value)
    if not values:
        return None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return "must be empty or four numbers: x_min, y_min, x_max, y_max (pixels)"
    if values[2] <= values[0] or values[3] <= values[1]:
        return "must have x_max > x_min and y_max > y_min"
    return None


def input_size(value: Any) -> str | None:
    if value == 0:
        return None
    try:
        check_input_size(value)
    except ValueError:
        return (
            f"must be 0 (the checkpoint's) or a multiple of {HEATMAP_STRIDE} in "
            f"[{MIN_INPUT_SIZE}, {MAX_INPUT_SIZE}]"
        )
    return None


def frame_prefix(value: Any) -> str | None:
    if value and not all(c.isalnum() or c in "_/" for c in value):
        return "may hold only letters, digits, '_' and '/'"
    return None


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    """The value when none is given; None: a list of numbers that may stay unset."""
    description: str
    check: Check | None = None
    applies: str = ON_CONFIGURE
    """When a new value takes effect: LIVE, ON_CONFIGURE or AT_START_UP."""
    why: str = ""
    """Why it is not live, or when exactly a live one takes effect."""

    def __post_init__(self) -> None:
        if self.applies not in APPLIES:
            raise ValueError(f"{self.name}: applies must be one of {APPLIES}")
        if self.applies != LIVE and not self.why:
            raise ValueError(f"{self.name}: say why it is not live")

    @property
    def when(self) -> str:
        """When a new value takes effect, in words (`ros2 param describe`'s constraints)."""
        if self.applies == LIVE:
            return f"live: a new value takes effect {self.why or 'from the next frame'}"
        if self.applies == ON_CONFIGURE:
            return (
                f"on configure ({self.why}): refused while the node is configured or active; "
                "clean up, set it, configure again"
            )
        return f"at start-up ({self.why}): refused at run time"


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "checkpoint",
        "weights/repehand_5m.pth",
        "RepeHand checkpoint (an official snapshot or one this project saved); "
        "a relative path is relative to the working directory",
        why=_MODEL,
    ),
    Parameter(
        "allow_random_weights",
        False,
        "run with random network weights when checkpoint is empty: for testing the "
        "plumbing only, the hands are meaningless",
        why=_MODEL,
    ),
    Parameter(
        "mano_dir",
        "weights/mano",
        "folder with MANO_RIGHT.pkl and MANO_LEFT.pkl",
        why="MANO is loaded from it with the model",
    ),
    Parameter(
        "variant",
        "",
        "network size: empty takes the checkpoint's (5m with random weights); a size that "
        "disagrees with the checkpoint is an error",
        one_of("", "5m", "11m", "21m"),
        why="the network is built to it",
    ),
    Parameter(
        "input_size",
        0,
        "crop size the network takes, pixels: 0 takes the checkpoint's (224 for the official "
        "TinyViT checkpoints; 224 with random weights); otherwise a multiple of 32 that must "
        "agree with the checkpoint",
        input_size,
        why="the network is built to it",
    ),
    Parameter(
        "device",
        "auto",
        "where the network runs: auto (CUDA if present), cpu, cuda",
        one_of("auto", "cpu", "cuda"),
        why="the model is loaded onto it",
    ),
    Parameter(
        "backend",
        "auto",
        "auto (RepeHand on torch when the checkpoint and MANO files exist, otherwise "
        "keypoints), torch, onnxruntime, tensorrt (an engine file, or ONNX Runtime's TensorRT "
        "provider with its engine cache), or "
        "keypoints (MediaPipe's landmarks: joints without a mesh, no weights needed)",
        one_of(*BACKENDS),
        why=_MODEL,
    ),
    Parameter(
        "fp16",
        False,
        "half precision on CUDA: torch autocast, or an fp16 engine of ONNX Runtime's TensorRT "
        "provider (layer normalisation kept in fp32)",
        why="the model is loaded in it",
    ),
    Parameter(
        "onnx_file",
        "",
        "exported network for the onnxruntime/tensorrt backends (ONNX, or for tensorrt a "
        ".engine/.plan from repehand export --tensorrt); empty: export once into the cache "
        "folder",
        why="the network is loaded from it",
    ),
    Parameter(
        "image_topic",
        "image",
        "camera image topic (with image_transport compressed, TOPIC/compressed is used)",
        why=_SUBSCRIPTIONS,
    ),
    Parameter("camera_info_topic", "camera_info", "CameraInfo of that camera", why=_SUBSCRIPTIONS),
    Parameter(
        "image_projection",
        "auto",
        "how the images are seen through their CameraInfo, as image_geometry does: raw (K and "
        "the distortion D), rectified (P, no distortion: image_proc's image_rect topics), or "
        "auto (rectified when the image topic's last name starts with image_rect)",
        one_of(*PROJECTIONS),
        why="decided with the camera subscriptions, from the image topic's name",
    ),
    Parameter(
        "uncalibrated_camera",
        "skip",
        "what images of a camera whose CameraInfo has no focal length (K all zeros: never "
        "calibrated) get: "
        "skip (counted, and said in a warning), or default_pinhole (focal length "
        "max(width, height) px, centred, no distortion: the hands' distances are then only "
        "approximate, said once and in /diagnostics)",
        one_of(*UNCALIBRATED_POLICIES),
        applies=LIVE,
        why="from the next CameraInfo",
    ),
    Parameter(
        "image_transport",
        "raw",
        "raw (sensor_msgs/Image) or compressed (CompressedImage)",
        one_of("raw", "compressed"),
        why=_SUBSCRIPTIONS,
    ),
    Parameter(
        "depth_topic",
        "",
        "registered depth image topic (sensor_msgs/Image, 16UC1 millimetres or 32FC1 metres, "
        "aligned to the colour camera, e.g. RealSense's aligned_depth_to_color/image_raw): "
        "each hand's distance and size are then fitted to it; empty: no depth, the hands are "
        "placed from the image alone",
        why=_SUBSCRIPTIONS,
    ),
    Parameter(
        "depth_camera_info_topic",
        "",
        "CameraInfo of the depth images; empty: the colour camera's (aligned depth has the "
        "colour image's intrinsics; another resolution of the same picture is scaled)",
        why=_SUBSCRIPTIONS,
    ),
    Parameter(
        "depth_max_offset_s",
        0.015,
        "largest difference of stamps, seconds, of a colour image and the depth image paired "
        "with it (keep it under half the frame period, 16 ms at 30 fps)",
        in_range(0.0, 1.0),
        applies=LIVE,
    ),
    Parameter(
        "depth_wait_s",
        0.05,
        "longest wait, seconds, for a depth image that arrives after its colour image (it "
        "stops as soon as the depth stream has passed the image's stamp); 0: never wait",
        in_range(0.0, 1.0),
        applies=LIVE,
    ),
    Parameter(
        "depth_timeout_s",
        1.0,
        "seconds (of stamps) without a depth image after which depth counts as stale: the "
        "images are answered without it, said in TwoHandMesh.depth_status and /diagnostics",
        in_range(0.01, 3600.0),
        applies=LIVE,
    ),
    Parameter(
        "depth_fusion.mode",
        "scale",
        "how depth corrects a hand: scale (about the camera centre: distance and size "
        "together, the keypoints stay on the image) or translate (along the ray: distance "
        "only, the hand's size is trusted)",
        one_of(*FUSION_MODES),
        applies=LIVE,
    ),
    Parameter(
        "depth_fusion.hold_s",
        0.5,
        "seconds a hand's last correction from depth is applied again while the fit falls "
        "back (placement DEPTH_HELD), so that it does not jump; 0: never",
        in_range(0.0, 60.0),
        applies=LIVE,
    ),
    Parameter(
        "image_qos_reliability",
        "best_effort",
        "best_effort (sensor data, accepts every camera) or reliable",
        one_of("best_effort", "reliable"),
        why=_SUBSCRIPTIONS,
    ),
    Parameter(
        "image_qos_depth",
        1,
        "subscription queue depth for images",
        in_range(1, 100),
        why=_SUBSCRIPTIONS,
    ),
    Parameter(
        "frame_prefix",
        "",
        "prefix of the joint TF frames, e.g. 'operator/' gives operator/right_wrist",
        frame_prefix,
        why="it names the node's TF frames, which other nodes look up, as the topics are named",
    ),
    Parameter(
        "publish_tf",
        True,
        "publish a TF frame per joint of each valid hand on /tf",
        applies=LIVE,
    ),
    Parameter(
        "publish_markers",
        True,
        "publish RViz markers (mesh, skeleton, joints) on ~/markers",
        applies=LIVE,
        why="from the next frame; switched off, the markers shown are deleted",
    ),
    Parameter(
        "publish_vertices",
        True,
        "send the 778 vertices per hand in TwoHandMesh (large)",
        applies=LIVE,
    ),
    Parameter(
        "marker_lifetime",
        0.5,
        "seconds a marker stays without an update",
        in_range(0.0, 60.0),
        applies=LIVE,
    ),
    Parameter(
        "min_confidence",
        0.3,
        "hands below this confidence are reported invalid",
        in_range(0.0, 1.0),
        applies=LIVE,
    ),
    Parameter(
        "detection.mode",
        "detector",
        "detector (MediaPipe), roi (a fixed region), image (the whole image)",
        one_of("detector", "roi", "image"),
        why="it chooses which hand-finder the model is built with (MediaPipe for detector)",
    ),
    Parameter(
        "detection.mirrored",
        False,
        "true for a mirrored (selfie) camera image",
        applies=LIVE,
        why="from the next frame, tracking and smoothing starting afresh (the sides swap)",
    ),
    Parameter(
        "detection.roi",
        None,
        "fixed region for mode roi: x_min, y_min, x_max, y_max (pixels); unset for none",
        roi_box,
        why="the fixed region's finder is built with it, checked together with detection.mode",
    ),
    Parameter(
        "detection.tracking",
        True,
        "track hands from the last frame between detections",
        applies=LIVE,
    ),
    Parameter(
        "detection.redetect_interval",
        30,
        "run the detector at least every N frames while tracking",
        in_range(1, 10000),
        applies=LIVE,
    ),
    Parameter(
        "detection.min_detection_confidence",
        0.5,
        "detector score threshold",
        in_range(0.0, 1.0),
        applies=LIVE,
    ),
    Parameter(
        "smoothing.enabled",
        True,
        "One-Euro smoothing of joints and wrist pose",
        applies=LIVE,
        why="from the next frame, the filters starting afresh",
    ),
    Parameter(
        "smoothing.min_cutoff",
        0.25,
        "One-Euro cut-off at rest, Hz",
        in_range(1e-3, 1000.0),
        applies=LIVE,
        why="from the next frame, what is filtered so far kept (no jump)",
    ),
    Parameter(
        "smoothing.beta",
        10.0,
        "One-Euro speed coefficient, Hz per m/s",
        in_range(0.0, 1e4),
        applies=LIVE,
        why="from the next frame, what is filtered so far kept (no jump)",
    ),
    Parameter(
        "smoothing.d_cutoff",
        0.5,
        "One-Euro cut-off of the hand's speed estimate, Hz",
        in_range(1e-3, 1000.0),
        applies=LIVE,
        why="from the next frame, what is filtered so far kept (no jump)",
    ),
    Parameter(
        "cache_dir",
        "~/.cache/repehand_ros",
        "where ONNX exports of checkpoints are kept",
        why="the network's export is looked for there when the model loads",
    ),
    Parameter(
        "stale_image_timeout",
        2.0,
        "seconds without an image before the node warns that the camera is silent",
        in_range(0.1, 3600.0),
        applies=LIVE,
        why="at the next diagnostics, within a second",
    ),
    Parameter(
        "autostart",
        False,
        "configure and activate at start-up (no lifecycle manager)",
        applies=AT_START_UP,
        why="read once, when the process starts",
    ),
)

BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}


def problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` for parameter `name`, or None."""
    parameter = BY_NAME.get(name)
    if parameter is None:
        return f"unknown parameter {name!r}"
    if parameter.default is None:
        if value is None:
            return None
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int | float) for v in value
        ):
            return f"parameter {name!r} must be a list of numbers, got {value!r}"
    elif type(value) is not type(parameter.default) and not (
        isinstance(parameter.default, float) and isinstance(value, int)
    ):
        return (
            f"parameter {name!r} must be a {type(parameter.default).__name__}, "
            f"got {type(value).__name__}"
        )
    if parameter.check is not None:
        reason = parameter.check(value)
        if reason:
            return f"parameter {name!r} {reason}, got {value!r}"
    return None


def read_params_file(path: str | Path) -> dict[str, Any]:
    """The node's parameters a ROS 2 parameter file gives, by their dotted names.

    The file's section for `/**` (or its only node's section) is read: its
    `ros__parameters`, nested (`detection: {mode: roi}`) or dotted
    (`detection.mode: roi`) alike. Every value is checked with `problem`;
    ValueError names each bad one, or a file that is not such YAML.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not a parameter YAML file: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with a '/**' section")
    sections = [v for v in data.values() if isinstance(v, dict) and "ros__parameters" in v]
    section = data.get("/**") or (sections[0] if len(sections) == 1 else None)
    if not isinstance(section, dict):
        raise ValueError(f"{path}: no '/**' section with ros__parameters")
    given = _flatten(section.get("ros__parameters") or {})
    problems = [p for p in (problem(k, v) for k, v in given.items()) if p]
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return given


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def live_settings(values: Mapping[str, Any]) -> LiveSettings:
    """The HandReconstructor's live settings the parameter values describe (already checked
    one by one)."""
    return LiveSettings(
        min_confidence=float(values["min_confidence"]),
        smoothing=SmoothingConfig(
            enabled=values["smoothing.enabled"],
            min_cutoff=float(values["smoothing.min_cutoff"]),
            beta=float(values["smoothing.beta"]),
            d_cutoff=float(values["smoothing.d_cutoff"]),
        ),
        mirrored=values["detection.mirrored"],
        tracking=values["detection.tracking"],
        redetect_interval=int(values["detection.redetect_interval"]),
        min_detection_confidence=float(values["detection.min_detection_confidence"]),
        depth_fusion=depth_fusion_settings(values),
        depth_hold_s=float(values["depth_fusion.hold_s"]),
    )


def depth_fusion_settings(values: Mapping[str, Any]) -> DepthFusionSettings:
    """How depth corrects the hands, from the parameter values (the rest: the defaults)."""
    return DepthFusionSettings(mode=values["depth_fusion.mode"])


def pairing_settings(values: Mapping[str, Any]) -> PairingSettings:
    """How colour images are paired with depth images, from the parameter values."""
    return PairingSettings(
        max_offset_s=float(values["depth_max_offset_s"]),
        wait_s=float(values["depth_wait_s"]),
        timeout_s=float(values["depth_timeout_s"]),
    )


def reconstructor_config(values: Mapping[str, Any]) -> ReconstructorConfig:
    """The ReconstructorConfig the parameter values describe (already checked one by one);
    backend "auto" stays "auto" (pipeline.choice decides it)."""
    roi = values["detection.roi"]
    checkpoint = values["checkpoint"]
    return ReconstructorConfig(
        mano_dir=Path(values["mano_dir"]),
        checkpoint=Path(checkpoint) if checkpoint else None,
        allow_random_weights=values["allow_random_weights"],
        variant=values["variant"] or None,
        input_size=values["input_size"] or None,
        device=values["device"],
        backend=values["backend"],
        fp16=values["fp16"],
        onnx_file=Path(values["onnx_file"]) if values["onnx_file"] else None,
        cache_dir=Path(values["cache_dir"]),
        min_confidence=float(values["min_confidence"]),
        detection=DetectionConfig(
            mode=values["detection.mode"],
            mirrored=values["detection.mirrored"],
            roi=(float(roi[0]), float(roi[1]), float(roi[2]), float(roi[3])) if roi else None,
            tracking=values["detection.tracking"],
            redetect_interval=int(values["detection.redetect_interval"]),
            min_detection_confidence=float(values["detection.min_detection_confidence"]),
        ),
        smoothing=SmoothingConfig(
            enabled=values["smoothing.enabled"],
            min_cutoff=float(values["smoothing.min_cutoff"]),
            beta=float(values["smoothing.beta"]),
            d_cutoff=float(values["smoothing.d_cutoff"]),
        ),
        depth_fusion=depth_fusion_settings(values),
        depth_hold_s=float(values["depth_fusion.hold_s"]),
    )
