"""HandReconstructor: one camera frame in, both hands in the camera frame (metres) out.

The one ROS-free API that the node, the demo, evaluation and the benchmarks
call. A frame flows one way through it:

    image -> where are the hands (detector / tracker / fixed region)
          -> crop(s): one around both hands, or one per hand when far apart
          -> network (PyTorch or ONNX Runtime), all crops in one batch
          -> MANO for each hand found (root-relative mesh and joints, metres)
          -> placement in the camera frame from the real intrinsics
          -> confidence and validity -> smoothing -> TwoHandResult

and the hands' projected keypoints go back to the tracker for the next frame.

Without RepeHand's checkpoint and MANO files, backend "keypoints" replaces the
network and MANO with MediaPipe's metric landmarks (pipeline.keypoint_hands):
the same hands, joints only, no mesh.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from repehand_ros.detection import (
    MIN_HAND_FRACTION,
    CropPlan,
    DetectionConfig,
    HandDetection,
    HandLocator,
    create_hand_locator,
    plan_crops,
)
from repehand_ros.detection.images import check_rgb_image
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.crop import CropTransform
from repehand_ros.geometry.placement import PlacementError, place_hand, place_two_hands
from repehand_ros.hands import HandSide
from repehand_ros.model.outputs import RepeHandOutput
from repehand_ros.model.variants import check_input_size, get_variant
from repehand_ros.pipeline.backends import (
    BACKENDS,
    BackendError,
    NetworkBackend,
    OnnxRuntimeBackend,
    TorchBackend,
    cached_onnx_export,
    resolve_device,
)
from repehand_ros.pipeline.keypoint_hands import (
    KEYPOINT_BACKEND,
    KEYPOINT_BACKEND_NAME,
    KeypointHands,
    keypoint_locator,
)
from repehand_ros.pipeline.results import HandResult, StageTimes, TwoHandResult
from repehand_ros.pipeline.smoothing import SmoothingConfig, TwoHandSmoother
from repehand_ros.resources import Closeable

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path("~/.cache/repehand_ros").expanduser()

# Hands nearer or farther than this are not plausible for a person in front of a camera.
MIN_DEPTH_M = 0.1
MAX_DEPTH_M = 5.0

CROP_HYSTERESIS = 0.05
"""Hands that shared a crop split only below MIN_HAND_FRACTION minus this, and hands
cropped apart join only above it plus this: boxes from the detector and from the
tracker differ a little, and hands near the threshold must not flip between one
crop and two (which would also switch how their relative translation is found)."""


@dataclass(frozen=True)
class ReconstructorConfig:
    """Everything a HandReconstructor is built from (node parameters map onto it)."""

    mano_dir: Path = Path("weights/mano")
    """Folder holding MANO_RIGHT.pkl and MANO_LEFT.pkl."""
    checkpoint: Path | None = None
    """RepeHand checkpoint (official snapshot or this project's); None: random weights."""
    variant: str | None = None
    """Network size; None: the checkpoint's (5m with random weights). A value that
    disagrees with the checkpoint is an error."""
    input_size: int | None = None
    """Crop size in pixels; None: the checkpoint's (224 with random weights). A value that
    disagrees with the checkpoint is an error."""
    device: str = "auto"
    """"auto" (CUDA when available), "cpu" or "cuda"."""
    backend: str = "torch"
    """"torch", "onnxruntime" or "tensorrt" (ONNX Runtime's TensorRT provider); or "keypoints":
    MediaPipe's landmarks, no network and no MANO (mano_dir, checkpoint, variant, device,
    fp16 and onnx_file are then unused)."""
    fp16: bool = False
    """Half precision, PyTorch on CUDA only."""
    onnx_file: Path | None = None
    """An exported network for the ONNX Runtime backends; None: export once into cache_dir."""
    cache_dir: Path = DEFAULT_CACHE_DIR
    min_confidence: float = 0.3
    """Hands below this confidence are reported invalid."""
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)

    def __post_init__(self) -> None:
        backends = (*BACKENDS, "tensorrt", KEYPOINT_BACKEND)
        if self.backend not in backends:
            raise ValueError(f"backend must be one of {backends}, got {self.backend!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.variant is not None:
            get_variant(self.variant)
        if self.input_size is not None:
            check_input_size(self.input_size)
        for name in ("mano_dir", "checkpoint", "onnx_file", "cache_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).expanduser())


def hand_confidence(
    detection_score: float, joints_hm: np.ndarray, projected_hm: np.ndarray
) -> float:
    """How much to trust one hand, in [0, 1].

    The detector's (or tracker's) score, times the agreement between the
    network's two views of the hand: the joints it localises on its heatmaps
    and the joints of the MANO hand it regresses, projected with its own
    camera. A sharp, consistent prediction agrees within a small fraction of
    the hand's size; a hand that is not really there does not.
    """
    size = float(np.ptp(projected_hm, axis=0).max())
    if not math.isfinite(size) or size <= 1e-6:
        return 0.0
    disagreement = float(np.linalg.norm(joints_hm - projected_hm, axis=1).mean()) / size
    return float(np.clip(detection_score, 0.0, 1.0) * math.exp(-disagreement / 0.2))


def _keypoint_box(keypoints: np.ndarray) -> Box:
    low, high = keypoints.min(axis=0), keypoints.max(axis=0)
    return Box(float(low[0]), float(low[1]), float(high[0]), float(high[1]))


class HandReconstructor(Closeable):
    """Both hands as MANO meshes in the camera frame, frame after frame.

    Not thread-safe: one frame at a time (the tracker and the smoother keep
    state between frames). Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        config: ReconstructorConfig,
        backend: NetworkBackend | None = None,
        locator: HandLocator | None = None,
    ) -> None:
        """`backend` and `locator` replace the ones the config describes (other
        hardware, another detector); by default both are built from `config`.

        With config.backend "keypoints" neither PyTorch nor MANO is loaded:
        `mano`, `backend` are None and `faces` is None; a given `locator` must
        give landmarks on every frame (see keypoint_hands.keypoint_locator).
        """
        self.config = config
        self.keypoint_hands: KeypointHands | None = None
        self.mano = None
        self.backend: NetworkBackend | None = None
        if config.backend == KEYPOINT_BACKEND:
            if backend is not None:
                raise ValueError("backend 'keypoints' runs no network: pass no `backend`")
            self.keypoint_hands = KeypointHands(config.min_confidence, (MIN_DEPTH_M, MAX_DEPTH_M))
            self.locator = locator if locator is not None else keypoint_locator(config.detection)
        else:
            import torch

            from repehand_ros.mano.layer import ManoPair

            self._torch = torch
            self.mano = ManoPair.from_dir(config.mano_dir).eval()
            self.backend = backend if backend is not None else self._create_backend()
            self.locator = locator if locator is not None else create_hand_locator(config.detection)
        self.smoother = TwoHandSmoother(config.smoothing)
        self._warned_default_camera = False
        self._last_plan_shared = False

    def _create_backend(self) -> NetworkBackend:
        from repehand_ros.model.checkpoint import load_model

        config = self.config
        device = resolve_device(config.device)
        if config.backend == "torch":
            network = load_model(config.checkpoint, config.variant, device, config.input_size)
            return TorchBackend(network, device, fp16=config.fp16)
        if config.fp16:
            raise BackendError("fp16 applies to the torch backend; export for TensorRT instead")
        provider = "tensorrt" if config.backend == "tensorrt" else device
        if provider == "cpu":
            # PyTorch now only runs MANO (tiny); its thread pool would compete with
            # ONNX Runtime's for the same cores and slow the network down.
            self._torch.set_num_threads(1)
        onnx_file = config.onnx_file
        if onnx_file is None:
            network = load_model(config.checkpoint, config.variant, input_size=config.input_size)
            onnx_file = cached_onnx_export(network, config.checkpoint, config.cache_dir)
        elif not onnx_file.is_file():
            raise BackendError(f"ONNX file not found: {onnx_file} (write one with repehand export)")
        return OnnxRuntimeBackend(onnx_file, provider)

    @property
    def faces(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The (1538, 3) triangles of the right and the left hand's mesh; None without a
        mesh (backend "keypoints")."""
        if self.mano is None:
            return None
        return self.mano.right.faces, self.mano.left.faces

    @property
    def input_size(self) -> int | None:
        """Side of the network's square crops, pixels (the checkpoint's); None without a
        network (backend "keypoints")."""
        return None if self.backend is None else self.backend.input_size

    @property
    def backend_name(self) -> str:
        if self.backend is None:
            return KEYPOINT_BACKEND_NAME
        return f"repehand-{self.backend.variant_name}/{self.backend.name}"

    def reconstruct(
        self, image: np.ndarray, camera: PinholeCamera | None, timestamp: float
    ) -> TwoHandResult:
        """Both hands in `image` (H x W x 3 uint8 RGB) taken by `camera` at `timestamp` seconds.

        `camera=None` uses PinholeCamera.default for the image size (depth is
        then only as right as that guess). Raises ValueError for an image or
        camera that cannot be used; a hand that is not found comes back with
        valid False and the reason.
        """
        start = time.perf_counter()
        image = check_rgb_image(image)
        camera = self._checked_camera(camera, image)

        hands = {hand.side: hand for hand in self.locator.locate(image, timestamp)}
        if self.keypoint_hands is not None:
            # No network: detection is all the model there is; placing counts as "mano".
            detected = networked = time.perf_counter()
            result = self.keypoint_hands(hands, camera)
            self._feed_back(result, timestamp)
        else:
            plan = self._plan({side: hand.box for side, hand in hands.items()}) if hands else None
            detected = time.perf_counter()

            crops: list[CropTransform] = []
            output: RepeHandOutput | None = None
            if plan is not None:
                assert self.backend is not None
                crops = [
                    CropTransform(planned.box, self.backend.input_size) for planned in plan.crops
                ]
                batch = np.stack([crop.warp(image) for crop in crops])
                batch = batch.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
                output = self.backend(batch)
            networked = time.perf_counter()

            result = self._hands_from_network(hands, plan, crops, output, camera, timestamp)
        result = self.smoother(result, timestamp)
        finished = time.perf_counter()
        result.times = StageTimes(
            detection_ms=1e3 * (detected - start),
            network_ms=1e3 * (networked - detected),
            mano_ms=1e3 * (finished - networked),
            total_ms=1e3 * (finished - start),
        )
        return result

    def _plan(self, boxes: dict[HandSide, Box]) -> CropPlan:
        margin = -CROP_HYSTERESIS if self._last_plan_shared else CROP_HYSTERESIS
        plan = plan_crops(boxes, min_hand_fraction=MIN_HAND_FRACTION + margin)
        if len(boxes) == 2:
            self._last_plan_shared = plan.shared
        return plan

    def _checked_camera(self, camera: PinholeCamera | None, image: np.ndarray) -> PinholeCamera:
        height, width = image.shape[:2]
        if camera is None:
            if not self._warned_default_camera:
                logger.warning(
                    "no camera intrinsics given: using a default camera for %dx%d images; "
                    "hand depths are only approximate",
                    width,
                    height,
                )
                self._warned_default_camera = True
            return PinholeCamera.default(width, height)
        if (camera.width, camera.height) != (width, height):
            raise ValueError(
                f"the camera intrinsics are for {camera.width}x{camera.height} images but the "
                f"image is {width}x{height}: use the CameraInfo that belongs to this image"
            )
        return camera

    def _hands_from_network(
        self,
        hands: dict[HandSide, HandDetection],
        plan: CropPlan | None,
        crops: list[CropTransform],
        output: RepeHandOutput | None,
        camera: PinholeCamera,
        timestamp: float,
    ) -> TwoHandResult:
        torch = self._torch
        found: dict[HandSide, dict] = {}
        for side, detection in hands.items():
            assert plan is not None and output is not None
            index = next(i for i, crop in enumerate(plan.crops) if side in crop.sides)
            prediction = output.right if side is HandSide.RIGHT else output.left
            layer = self.mano.right if side is HandSide.RIGHT else self.mano.left
            root_pose = prediction.root_pose[index].astype(np.float32)
            hand_pose = prediction.hand_pose[index].astype(np.float32)
            shape = prediction.shape[index].astype(np.float32)
            with torch.inference_mode():
                mesh = layer(
                    torch.from_numpy(root_pose[None]),
                    torch.from_numpy(hand_pose[None]),
                    torch.from_numpy(shape[None]),
                )
            joints_rel = mesh.joints[0].numpy().astype(np.float64)
            # The camera was trained to project the joints in MANO's own frame (root added
            # back), not the wrist-relative ones: see geometry.placement.
            cam = prediction.cam[index].astype(np.float64)
            projected_hm = mesh.mano_frame_joints[0, :, :2].numpy() * cam[0] + cam[1:3]
            found[side] = {
                "detection": detection,
                "crop_index": index,
                "joints_rel": joints_rel,
                "vertices_rel": mesh.vertices[0].numpy().astype(np.float64),
                "keypoints_px": crops[index].heatmap_to_image(
                    projected_hm, self.backend.heatmap_size
                ),
                "confidence": hand_confidence(
                    detection.score, prediction.joints_hm[index, :, :2], projected_hm
                ),
                "mano_pose": np.concatenate([root_pose, hand_pose]),
                "shape": shape,
            }

        translations = self._place(found, plan, output, camera)
        result_hands: dict[HandSide, HandResult] = {}
        for side in HandSide:
            if side not in found:
                result_hands[side] = HandResult(side=side, reason="not detected")
                continue
            result_hands[side] = self._hand_result(
                side, found[side], translations.get(side), camera
            )

        right, left = result_hands[HandSide.RIGHT], result_hands[HandSide.LEFT]
        relative = np.zeros(3)
        if right.valid and left.valid:
            relative = left.wrist_position - right.wrist_position
        result = TwoHandResult(
            right=right,
            left=left,
            relative_translation=relative,
            crops=tuple(crop.box for crop in crops),
            backend=self.backend_name,
        )
        self._feed_back(result, timestamp)
        return result

    def _feed_back(self, result: TwoHandResult, timestamp: float) -> None:
        """Tell the tracker where each valid hand is, and which hands were lost."""
        for hand in result.hands:
            if hand.valid:
                self.locator.update_from_keypoints(
                    hand.side, hand.keypoints_2d, hand.confidence, timestamp
                )
            else:
                self.locator.lose(hand.side)

    def _place(
        self,
        found: dict[HandSide, dict],
        plan: CropPlan | None,
        output: RepeHandOutput | None,
        camera: PinholeCamera,
    ) -> dict[HandSide, np.ndarray | str]:
        """Each found hand's wrist position (metres), or the reason it could not be placed.

        Two hands from one shared crop are placed together, so that their
        relative translation is exactly the network's; a hand in a crop of
        its own is placed alone.
        """
        placed: dict[HandSide, np.ndarray | str] = {}
        right, left = found.get(HandSide.RIGHT), found.get(HandSide.LEFT)
        if right and left and right["crop_index"] == left["crop_index"]:
            assert output is not None
            try:
                placed[HandSide.RIGHT], placed[HandSide.LEFT] = place_two_hands(
                    right["joints_rel"],
                    right["keypoints_px"],
                    left["joints_rel"],
                    left["keypoints_px"],
                    camera,
                    relative_translation=output.relative_translation[right["crop_index"]],
                )
            except PlacementError as error:
                placed[HandSide.RIGHT] = placed[HandSide.LEFT] = f"placement failed: {error}"
            return placed
        for side, hand in found.items():
            try:
                placed[side] = place_hand(hand["joints_rel"], hand["keypoints_px"], camera)
            except PlacementError as error:
                placed[side] = f"placement failed: {error}"
        return placed

    def _hand_result(
        self,
        side: HandSide,
        hand: dict,
        translation: np.ndarray | str | None,
        camera: PinholeCamera,
    ) -> HandResult:
        if not isinstance(translation, np.ndarray):
            return HandResult(side=side, reason=str(translation))
        if not MIN_DEPTH_M <= translation[2] <= MAX_DEPTH_M:
            return HandResult(
                side=side, reason=f"implausible depth {translation[2]:.2f} m for a hand"
            )
        confidence = hand["confidence"]
        if confidence < self.config.min_confidence:
            return HandResult(
                side=side,
                reason=f"confidence {confidence:.2f} below {self.config.min_confidence:.2f}",
            )
        joints = hand["joints_rel"] + translation
        keypoints = camera.project(joints)
        if not np.all(np.isfinite(keypoints)):
            return HandResult(side=side, reason="hand projects outside the camera's view")
        rotation, _ = cv2.Rodrigues(hand["mano_pose"][:3].astype(np.float64))
        return HandResult(
            side=side,
            valid=True,
            confidence=confidence,
            joints=joints,
            vertices=hand["vertices_rel"] + translation,
            wrist_rotation=rotation,
            wrist_position=translation,
            mano_pose=hand["mano_pose"],
            mano_shape=hand["shape"],
            keypoints_2d=keypoints,
            box=_keypoint_box(keypoints),
        )

    def reset(self) -> None:
        """Forget tracking and smoothing state (a new video, a camera switch)."""
        for side in HandSide:
            self.locator.lose(side)
        self.smoother.reset()
        self._last_plan_shared = False

    def close(self) -> None:
        self.locator.close()
