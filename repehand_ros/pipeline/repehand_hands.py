"""The RepeHand backend: located hands -> crops -> network -> MANO -> hands in the camera frame.

One frame, in order:

    hand boxes -> crop plan (one crop around both hands, or one per hand far apart)
               -> crops warped to the network's input, all in one batch
               -> network (a NetworkBackend: PyTorch, ONNX Runtime, TensorRT)
               -> per hand: MANO mesh and joints (wrist-relative), 2D keypoints from
                  the network's camera projecting MANO-frame joints, confidence
               -> placement in the camera frame with the real intrinsics
               -> validity (plausible depth, confidence, in view) -> TwoHandResult
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from repehand_ros.detection import CropPlan, CropPlanner, HandDetection
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.crop import CropTransform
from repehand_ros.geometry.placement import PlacementError, place_hand, place_two_hands
from repehand_ros.hands import HandSide
from repehand_ros.mano.layer import ManoPair
from repehand_ros.model.inputs import normalise_crops
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput
from repehand_ros.pipeline.backends import NetworkBackend
from repehand_ros.pipeline.results import (
    MAX_HAND_DEPTH_M,
    MIN_HAND_DEPTH_M,
    HandResult,
    StageTimes,
    TwoHandResult,
)

CONFIDENCE_SCALE = 0.2
"""Mean disagreement, as a fraction of the hand's size, at which confidence falls to 1/e."""


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
    return float(np.clip(detection_score, 0.0, 1.0) * math.exp(-disagreement / CONFIDENCE_SCALE))


@dataclass
class NetworkHand:
    """One hand as the network and MANO give it, before it is placed in the camera frame.

    Attributes:
        side: which hand.
        score: the detector's (or tracker's) score.
        side_confidence: how sure the side is (the detection's).
        crop_index: the crop (of the frame's plan) the hand was taken from.
        joints_rel: (21, 3) joints relative to the wrist, metres, camera-aligned axes.
        vertices_rel: (778, 3) MANO vertices relative to the wrist, metres.
        keypoints_px: (21, 2) the network's 2D joints in the image, pixels.
        confidence: `hand_confidence` of the hand, in [0, 1].
        mano_pose: (48,) root orientation then 15 finger joints, axis-angle, radians.
        shape: (10,) MANO shape coefficients.
    """

    side: HandSide
    score: float
    side_confidence: float
    crop_index: int
    joints_rel: np.ndarray
    vertices_rel: np.ndarray
    keypoints_px: np.ndarray
    confidence: float
    mano_pose: np.ndarray
    shape: np.ndarray


Placement = np.ndarray | PlacementError
"""A hand's wrist position (3,) in the camera frame, metres, or why it could not be placed."""


class RepeHandHands:
    """Hands from the network and MANO; holds the crop plan's state between frames."""

    def __init__(self, network: NetworkBackend, mano: ManoPair, min_confidence: float) -> None:
        import torch

        self._torch = torch
        self.network = network
        self.mano = mano
        self.min_confidence = min_confidence
        self.planner = CropPlanner()

    @property
    def name(self) -> str:
        """TwoHandMesh.backend, e.g. "repehand-5m/torch-cuda-fp16"."""
        return f"repehand-{self.network.variant_name}/{self.network.name}"

    @property
    def faces(self) -> tuple[np.ndarray, np.ndarray]:
        """The (1538, 3) triangles of the right and the left hand's mesh."""
        return self.mano.right.faces, self.mano.left.faces

    @property
    def input_size(self) -> int:
        return self.network.input_size

    def hands(
        self, image: np.ndarray, detections: dict[HandSide, HandDetection], camera: PinholeCamera
    ) -> TwoHandResult:
        """Both hands of `detections` in the camera frame; the result's times are the network's
        and MANO's (with placement)."""
        started = networked = time.perf_counter()
        found: list[NetworkHand] = []
        crops: list[CropTransform] = []
        placements: dict[HandSide, Placement] = {}
        if detections:
            plan = self.planner.plan({side: hand.box for side, hand in detections.items()})
            crops = [CropTransform(planned.box, self.network.input_size) for planned in plan.crops]
            output = self.network(normalise_crops(np.stack([crop.warp(image) for crop in crops])))
            networked = time.perf_counter()
            found = [
                self._network_hand(detection, plan, crops, output)
                for detection in detections.values()
            ]
            placements = self._place(found, output.relative_translation, camera)
        by_side = {hand.side: hand for hand in found}
        results = {
            side: self._hand_result(by_side[side], placements[side], camera)
            if side in by_side
            else HandResult(side=side, reason="not detected")
            for side in HandSide
        }
        right, left = results[HandSide.RIGHT], results[HandSide.LEFT]
        relative = np.zeros(3)
        if right.valid and left.valid:
            relative = left.wrist_position - right.wrist_position
        finished = time.perf_counter()
        return TwoHandResult(
            right=right,
            left=left,
            relative_translation=relative,
            crops=tuple(crop.box for crop in crops),
            backend=self.name,
            times=StageTimes(
                network_ms=1e3 * (networked - started), mano_ms=1e3 * (finished - networked)
            ),
        )

    def reset(self) -> None:
        self.planner.reset()

    def close(self) -> None:
        """Nothing to free beyond what the garbage collector frees."""

    def _network_hand(
        self,
        detection: HandDetection,
        plan: CropPlan,
        crops: list[CropTransform],
        output: RepeHandOutput,
    ) -> NetworkHand:
        torch = self._torch
        side = detection.side
        index = next(i for i, crop in enumerate(plan.crops) if side in crop.sides)
        prediction: HandPrediction = output.right if side is HandSide.RIGHT else output.left
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
        # The camera was trained to project the joints in MANO's own frame (root added
        # back), not the wrist-relative ones: see geometry.placement.
        cam = prediction.cam[index].astype(np.float64)
        projected_hm = mesh.mano_frame_joints[0, :, :2].numpy() * cam[0] + cam[1:3]
        return NetworkHand(
            side=side,
            score=detection.score,
            side_confidence=detection.side_confidence,
            crop_index=index,
            joints_rel=mesh.joints[0].numpy().astype(np.float64),
            vertices_rel=mesh.vertices[0].numpy().astype(np.float64),
            keypoints_px=crops[index].heatmap_to_image(projected_hm, self.network.heatmap_size),
            confidence=hand_confidence(
                detection.score, prediction.joints_hm[index, :, :2], projected_hm
            ),
            mano_pose=np.concatenate([root_pose, hand_pose]),
            shape=shape,
        )

    @staticmethod
    def _place(
        found: list[NetworkHand], relative_translation: np.ndarray, camera: PinholeCamera
    ) -> dict[HandSide, Placement]:
        """Each found hand's wrist position, or why it could not be placed.

        Two hands from one shared crop are placed together, so that their
        relative translation is exactly the network's; a hand in a crop of
        its own is placed alone.
        """
        by_side = {hand.side: hand for hand in found}
        right, left = by_side.get(HandSide.RIGHT), by_side.get(HandSide.LEFT)
        if right and left and right.crop_index == left.crop_index:
            try:
                right_at, left_at = place_two_hands(
                    right.joints_rel,
                    right.keypoints_px,
                    left.joints_rel,
                    left.keypoints_px,
                    camera,
                    relative_translation=relative_translation[right.crop_index],
                )
            except PlacementError as error:
                return {HandSide.RIGHT: error, HandSide.LEFT: error}
            return {HandSide.RIGHT: right_at, HandSide.LEFT: left_at}
        placed: dict[HandSide, Placement] = {}
        for hand in found:
            try:
                placed[hand.side] = place_hand(hand.joints_rel, hand.keypoints_px, camera)
            except PlacementError as error:
                placed[hand.side] = error
        return placed

    def _hand_result(
        self, hand: NetworkHand, placement: Placement, camera: PinholeCamera
    ) -> HandResult:
        side = hand.side
        if isinstance(placement, PlacementError):
            return HandResult(side=side, reason=f"placement failed: {placement}")
        if not MIN_HAND_DEPTH_M <= placement[2] <= MAX_HAND_DEPTH_M:
            return HandResult(
                side=side, reason=f"implausible depth {placement[2]:.2f} m for a hand"
            )
        if hand.confidence < self.min_confidence:
            return HandResult(
                side=side,
                reason=f"confidence {hand.confidence:.2f} below {self.min_confidence:.2f}",
            )
        joints = hand.joints_rel + placement
        keypoints = camera.project(joints)
        if not np.all(np.isfinite(keypoints)):
            return HandResult(side=side, reason="hand projects outside the camera's view")
        rotation, _ = cv2.Rodrigues(hand.mano_pose[:3].astype(np.float64))
        low, high = keypoints.min(axis=0), keypoints.max(axis=0)
        return HandResult(
            side=side,
            valid=True,
            confidence=hand.confidence,
            side_confidence=hand.side_confidence,
            joints=joints,
            vertices=hand.vertices_rel + placement,
            wrist_rotation=rotation,
            wrist_position=placement,
            mano_pose=hand.mano_pose,
            mano_shape=hand.shape,
            keypoints_2d=keypoints,
            box=Box(float(low[0]), float(low[1]), float(high[0]), float(high[1])),
        )
