"""HandReconstructor: one camera frame in, both hands in the camera frame (metres) out.

The one ROS-free API that the node, the demo, evaluation and the benchmarks
call. A frame flows one way through it:

    image -> where are the hands (detector / tracker / fixed region)
          -> the backend: RepeHand (crops, network, MANO, placement;
             pipeline.repehand_hands) or MediaPipe's metric landmarks
             (pipeline.keypoint_hands), chosen once by pipeline.choice
          -> with a registered depth image: the meshes fitted to it
             (pipeline.depth_hands)
          -> smoothing -> TwoHandResult

and the hands' 2D keypoints go back to the tracker for the next frame. Both
backends give the same result type and say what they give: `faces` is the
mesh's triangles for RepeHand and None for the keypoints (joints only, so
depth is not used).
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import numpy as np

from repehand_ros.detection import (
    DetectionConfig,
    HandDetection,
    HandLocator,
    create_hand_locator,
)
from repehand_ros.detection.images import check_rgb_image
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import HandSide
from repehand_ros.pipeline.backends import NetworkBackend, create_network_backend
from repehand_ros.pipeline.choice import BackendChoice, choose_backend, explain_fallback
from repehand_ros.pipeline.config import KEYPOINT_BACKEND, LiveSettings, ReconstructorConfig
from repehand_ros.pipeline.depth_hands import DepthHands
from repehand_ros.pipeline.keypoint_hands import (
    KeypointHands,
    keypoint_detection,
    keypoint_locator,
)
from repehand_ros.pipeline.results import StageTimes, TwoHandResult
from repehand_ros.pipeline.smoothing import TwoHandSmoother
from repehand_ros.resources import Closeable

logger = logging.getLogger(__name__)


class HandModel(Protocol):
    """A backend: located hands to both hands in the camera frame, and what it gives."""

    @property
    def name(self) -> str:
        """TwoHandMesh.backend of its results."""
        ...

    min_confidence: float
    """Hands below this confidence are reported invalid; may change between frames."""

    @property
    def faces(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The right and left mesh's (1538, 3) triangles; None: joints only, no mesh."""
        ...

    @property
    def input_size(self) -> int | None:
        """Side of the network's crops, pixels; None without a network."""
        ...

    def hands(
        self, image: np.ndarray, detections: dict[HandSide, HandDetection], camera: PinholeCamera
    ) -> TwoHandResult: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class HandReconstructor(Closeable):
    """Both hands in the camera frame, frame after frame.

    Not thread-safe: one frame at a time (the tracker and the smoother keep
    state between frames). Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        config: ReconstructorConfig,
        backend: NetworkBackend | None = None,
        locator: HandLocator | None = None,
    ) -> None:
        """`backend` (a RepeHand network) and `locator` replace the ones the config
        describes (other hardware, another detector); by default both are built from
        `config`. Backend "auto" is decided here by `choose_backend` (see `choice`).

        With the keypoint backend neither PyTorch nor MANO is loaded: `mano`,
        `backend` and `faces` are None; a given `locator` must give landmarks on
        every frame (see keypoint_hands.keypoint_locator).
        """
        if backend is not None:
            # The caller's own network: no checkpoint to look for (MANO is still needed).
            self.choice = BackendChoice(config.backend, True, "a network given by the caller")
        else:
            self.choice = choose_backend(config)
        if self.choice.missing:
            logger.warning("%s", explain_fallback(self.choice))
        self.config = config = self.choice.applied_to(config)
        self.mano = None
        self.backend: NetworkBackend | None = None
        self.model: HandModel
        if config.backend == KEYPOINT_BACKEND:
            if backend is not None:
                raise ValueError("backend 'keypoints' runs no network: pass no `backend`")
            self.model = KeypointHands(config.min_confidence)
            self.locator = locator if locator is not None else keypoint_locator(config.detection)
        else:
            from repehand_ros.mano.layer import ManoPair
            from repehand_ros.pipeline.repehand_hands import RepeHandHands

            self.mano = ManoPair.from_dir(config.mano_dir).eval()
            self.backend = backend if backend is not None else create_network_backend(config)
            self.model = RepeHandHands(self.backend, self.mano, config.min_confidence)
            self.locator = locator if locator is not None else create_hand_locator(config.detection)
        self.depth_hands = DepthHands(self.model.faces, config.depth_fusion, config.depth_hold_s)
        self.smoother = TwoHandSmoother(config.smoothing)
        self._warned_default_camera = False

    @property
    def faces(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The (1538, 3) triangles of the right and the left hand's mesh; None without a
        mesh (backend "keypoints")."""
        return self.model.faces

    @property
    def gives_mesh(self) -> bool:
        """True when results carry the MANO mesh (RepeHand), False for joints only."""
        return self.model.faces is not None

    @property
    def input_size(self) -> int | None:
        """Side of the network's square crops, pixels (the checkpoint's); None without a
        network (backend "keypoints")."""
        return self.model.input_size

    @property
    def backend_name(self) -> str:
        return self.model.name

    def reconstruct(
        self,
        image: np.ndarray,
        camera: PinholeCamera | None,
        timestamp: float,
        depth: np.ndarray | None = None,
        depth_camera: PinholeCamera | None = None,
    ) -> TwoHandResult:
        """Both hands in `image` (H x W x 3 uint8 RGB) taken by `camera` at `timestamp` seconds.

        `camera=None` uses PinholeCamera.default for the image size (depth is
        then only as right as that guess). Raises ValueError for an image or
        camera that cannot be used; a hand that is not found comes back with
        valid False and the reason.

        `depth`: this image's depth, registered (aligned) to the colour camera:
        (H, W) float metres along the optical axis, NaN (or 0) where there is no
        measurement (`repehand_ros.io.depth` decodes the ROS encodings). It may
        have another resolution of the same picture, or its own intrinsics
        (`depth_camera`, in the colour camera's frame). Each valid hand with a
        mesh is then fitted to it (see pipeline.depth_hands), and its
        `placement` says whether depth placed it. A depth image that cannot be
        used does not cost the frame: the hands stay monocular and
        `depth_problem` says why. Without a mesh (the keypoint backend) depth
        is ignored.
        """
        start = time.perf_counter()
        image = check_rgb_image(image)
        camera = self._checked_camera(camera, image)
        detections = {hand.side: hand for hand in self.locator.locate(image, timestamp)}
        detected = time.perf_counter()
        result = self.model.hands(image, detections, camera)
        placed = time.perf_counter()
        result = self.depth_hands.apply(result, camera, timestamp, depth, depth_camera)
        fitted = time.perf_counter()
        self._feed_back(result, timestamp)
        result = self.smoother(result, timestamp, camera)
        finished = time.perf_counter()
        depth_ms = 1e3 * (fitted - placed)
        result.times = StageTimes(
            detection_ms=1e3 * (detected - start),
            network_ms=result.times.network_ms,
            mano_ms=1e3 * (finished - detected) - result.times.network_ms - depth_ms,
            total_ms=1e3 * (finished - start),
            depth_ms=depth_ms,
        )
        return result

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

    def _feed_back(self, result: TwoHandResult, timestamp: float) -> None:
        """Tell the tracker where each valid hand is, and which hands were lost."""
        for hand in result.hands:
            if hand.valid:
                self.locator.update_from_keypoints(
                    hand.side, hand.keypoints_2d, hand.confidence, timestamp
                )
            else:
                self.locator.lose(hand.side)

    @property
    def live_settings(self) -> LiveSettings:
        """The settings in use that `update_live_settings` can change."""
        return LiveSettings.of(self.config)

    def update_live_settings(self, settings: LiveSettings) -> None:
        """Use `settings` from the next frame on, without building anything anew.

        Call it between frames, on the thread that calls `reconstruct`. The
        hands' threshold applies to the next frame's hands; new smoothing
        cut-offs keep the filters' state (the hands do not jump), switching
        smoothing on or off restarts it; tracking settings keep the tracks; a
        new detector threshold rebuilds MediaPipe's graph (the model files stay
        loaded); depth fusion settings apply to the next fit (a held correction of
        another fusion mode is dropped). A change of `mirrored` swaps which hand is
        which, so tracking and smoothing start afresh. The keypoint backend detects
        on every frame whatever `tracking` says.
        """
        config = settings.applied_to(self.config)
        detection = self._locator_detection(config.detection)
        old = self.config
        if detection != self._locator_detection(old.detection):
            self.locator.apply_settings(detection)
        self.model.min_confidence = config.min_confidence
        self.depth_hands.settings = config.depth_fusion
        self.depth_hands.hold_s = config.depth_hold_s
        if config.smoothing != old.smoothing:
            self.smoother.reconfigure(config.smoothing)
        self.config = config
        if config.detection.mirrored != old.detection.mirrored:
            self.reset()

    def _locator_detection(self, detection: DetectionConfig) -> DetectionConfig:
        """What the locator runs for `detection` with this reconstructor's backend."""
        if self.config.backend == KEYPOINT_BACKEND:
            return keypoint_detection(detection)
        return detection

    def reset(self) -> None:
        """Forget tracking, smoothing and held depth corrections (a new video, a camera
        switch)."""
        for side in HandSide:
            self.locator.lose(side)
        self.smoother.reset()
        self.depth_hands.reset()
        self.model.reset()

    def close(self) -> None:
        self.locator.close()
        self.model.close()
