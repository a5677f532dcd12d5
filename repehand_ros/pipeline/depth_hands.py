"""The hands the image placed, corrected by a registered depth image (RGB-D).

The monocular placement gets the directions to the joints right and their
distance only as right as the network's guess of the hand's size in metres
(see geometry.depth_fusion). When a depth image registered to the colour
camera comes with a frame, `DepthHands` fits every valid hand that has a
mesh to it, together (each pixel belongs to the hand in front), and applies
each hand's correction to everything published of that hand: joints,
vertices and wrist move together, and the 2D keypoints and box are the
corrected joints projected again, so the hand stays one hand (in mode
"scale" the keypoints do not move at all; in mode "translate" they move a
little). MANO's pose and shape stay the network's: in mode "scale" the
mesh is `depth_scale` times MANO's hand of that shape.

Where it runs: after the network, MANO and the monocular placement, and
before the tracker's feedback and the smoothing, so that the smoother
filters the corrected hands (a hand that is fused on one frame and not on
the next is one signal to it, not two) and the tracker crops where the hand
is in the image (unchanged by scaling).

Holding a correction. The fit falls back for good reasons (too few pixels
agree: an occluder, the hand at a depth edge, a frame whose depth came too
late), and a hand that switches between its corrected and its monocular
distance jumps by the monocular error, centimetres at arm's length. So a
hand's last correction is applied again, for `hold_s` seconds after the
frame it was fitted on, to the frames where it falls back (placement
DEPTH_HELD): in mode "scale" the factor (the ratio of the true hand's size to
the predicted one, which changes slowly), in mode "translate" the shift in
depth along the hand's new ray. After that the hand is monocular again;
`reset` forgets every held correction (a new video, a camera switch).

Without a mesh (the keypoint backend) there is nothing to fit: depth is
ignored, said once in the log.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.depth_fusion import (
    SCALE,
    DepthFit,
    DepthFusionError,
    DepthFusionSettings,
    HandMesh,
    fuse_depth,
)
from repehand_ros.hands import HandSide
from repehand_ros.pipeline.config import DEFAULT_DEPTH_HOLD_S, check_depth_hold
from repehand_ros.pipeline.results import DepthStatus, HandResult, Placement, TwoHandResult

logger = logging.getLogger(__name__)

MAX_PROBLEMS_SAID = 32
"""Distinct refusals of depth images logged (each once); the result carries every one."""


@dataclass(frozen=True)
class HeldCorrection:
    """A hand's last correction from depth, applied again while the fit falls back."""

    mode: str
    """The fusion mode it was fitted in; a correction of another mode is not applied."""
    value: float
    """Mode "scale": the factor about the camera centre. Mode "translate": how much farther
    the hand is than placed, metres, along the ray through its centre."""
    timestamp: float
    """The frame it was fitted on, seconds."""


class DepthHands:
    """Fits the hands of each frame to that frame's depth image; remembers recent fits.

    Not thread-safe: one frame at a time, as the HandReconstructor that holds it.
    `settings` and `hold_s` may be changed between frames.
    """

    def __init__(
        self,
        faces: tuple[np.ndarray, np.ndarray] | None,
        settings: DepthFusionSettings | None = None,
        hold_s: float = DEFAULT_DEPTH_HOLD_S,
    ) -> None:
        """`faces`: the right and left mesh's triangles; None for a backend without a mesh
        (depth is then ignored)."""
        check_depth_hold(hold_s)
        self.faces = faces
        self.settings = settings or DepthFusionSettings()
        self.hold_s = float(hold_s)
        self._held: dict[HandSide, HeldCorrection] = {}
        self._said_no_mesh = False
        self._problems_said: set[str] = set()

    def reset(self) -> None:
        """Forget every held correction."""
        self._held.clear()

    def held(self, side: HandSide) -> HeldCorrection | None:
        """The correction kept for `side` (applied only while it is recent enough)."""
        return self._held.get(side)

    def apply(
        self,
        result: TwoHandResult,
        camera: PinholeCamera,
        timestamp: float,
        depth: np.ndarray | None,
        depth_camera: PinholeCamera | None = None,
    ) -> TwoHandResult:
        """`result` with its hands corrected by `depth` ((H, W) float metres, NaN where no
        data, registered to `camera`), or held corrections applied where the fit falls back.

        A depth image that cannot be used at all (not float metres, a size that is not the
        colour picture's) refuses nothing else: the hands stay as placed (or held) and
        `depth_problem` says why (logged once per distinct problem).
        """
        if depth is not None and self.faces is None:
            if not self._said_no_mesh:
                self._said_no_mesh = True
                logger.warning(
                    "depth images are ignored: the %s backend gives joints without a mesh, and "
                    "fitting the hands to depth needs the mesh's surface (RepeHand with its "
                    "checkpoint and MANO files)",
                    result.backend or "keypoint",
                )
            return result
        if self.faces is None:
            return result
        fits: dict[HandSide, DepthFit] = {}
        status, problem = DepthStatus.OFF, ""
        if depth is not None:
            status = DepthStatus.USED
            meshed = [
                (hand.side, hand.vertices)
                for hand in result.hands
                if hand.valid and hand.vertices is not None
            ]
            try:
                # Checks the depth image (and its camera) even when no hand is in view.
                found = fuse_depth(
                    [HandMesh(vertices, self._faces_of(side)) for side, vertices in meshed],
                    camera,
                    depth,
                    self.settings,
                    depth_camera,
                )
            except DepthFusionError as error:
                status, problem = DepthStatus.REFUSED, str(error)
                self._say(problem)
            else:
                fits = {side: fit for (side, _), fit in zip(meshed, found, strict=True)}
        right, left = (
            self._placed(hand, fits.get(hand.side), camera, timestamp) for hand in result.hands
        )
        relative = result.relative_translation
        if right.valid and left.valid:
            relative = left.wrist_position - right.wrist_position
        return dataclasses.replace(
            result,
            right=right,
            left=left,
            relative_translation=relative,
            depth_status=status,
            depth_problem=problem,
        )

    def _faces_of(self, side: HandSide) -> np.ndarray:
        assert self.faces is not None
        return self.faces[0] if side is HandSide.RIGHT else self.faces[1]

    def _placed(
        self, hand: HandResult, fit: DepthFit | None, camera: PinholeCamera, timestamp: float
    ) -> HandResult:
        """One hand: corrected by its fit, or by its held correction, or as it came."""
        if not hand.valid or hand.vertices is None:
            return hand
        mode = self.settings.mode
        if fit is not None and fit.fused:
            corrected = _corrected(hand, fit.scale, fit.translation, camera, Placement.DEPTH, fit)
            if corrected is not None:
                value = fit.scale if mode == SCALE else corrected.depth_shift_m
                self._held[hand.side] = HeldCorrection(mode, value, timestamp)
                return corrected
        held = self._recent(hand.side, timestamp)
        if held is not None:
            if held.mode == SCALE:
                scale, translation = held.value, np.zeros(3)
            else:
                centre = hand.vertices.astype(np.float64).mean(axis=0)
                scale, translation = 1.0, held.value * centre / centre[2]
            corrected = _corrected(hand, scale, translation, camera, Placement.DEPTH_HELD, fit)
            if corrected is not None:
                return corrected
        return dataclasses.replace(hand, depth_fit=fit)

    def _recent(self, side: HandSide, timestamp: float) -> HeldCorrection | None:
        """The held correction of `side` if it may still be applied at `timestamp`; one that
        is too old, of another mode, or from the future (time went back) is forgotten."""
        held = self._held.get(side)
        if held is None:
            return None
        age = timestamp - held.timestamp
        if held.mode != self.settings.mode or not 0.0 <= age <= self.hold_s:
            del self._held[side]
            return None
        return held

    def _say(self, problem: str) -> None:
        if problem in self._problems_said or len(self._problems_said) >= MAX_PROBLEMS_SAID:
            return
        self._problems_said.add(problem)
        logger.warning("depth image not used, the hands stay as the image placed them: %s", problem)


def _corrected(
    hand: HandResult,
    scale: float,
    translation: np.ndarray,
    camera: PinholeCamera,
    placement: Placement,
    fit: DepthFit | None,
) -> HandResult | None:
    """`hand` with every point p moved to scale * p + translation and its keypoints and box
    projected again; None if the moved hand leaves the camera's view (it stays as placed)."""
    assert hand.vertices is not None
    translation = np.asarray(translation, dtype=np.float64)
    joints = scale * hand.joints.astype(np.float64) + translation
    vertices = scale * hand.vertices.astype(np.float64) + translation
    keypoints = camera.project(joints)
    if not (np.all(np.isfinite(keypoints)) and np.all(joints[:, 2] > 0)):
        return None
    low, high = keypoints.min(axis=0), keypoints.max(axis=0)
    shift = float(vertices[:, 2].mean() - hand.vertices.astype(np.float64)[:, 2].mean())
    return dataclasses.replace(
        hand,
        joints=joints,
        vertices=vertices,
        wrist_position=scale * hand.wrist_position.astype(np.float64) + translation,
        keypoints_2d=keypoints,
        box=Box(float(low[0]), float(low[1]), float(high[0]), float(high[1])),
        placement=placement,
        depth_scale=scale,
        depth_shift_m=shift,
        depth_fit=fit,
    )
