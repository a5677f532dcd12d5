"""What comes in from a depth camera: aligned depth images, paired with the colour frames by
stamp, decoded to metres, and what became of them, counted for /diagnostics.

The node (and `repehand replay`) hands every depth image to `on_image` as it
arrives and every CameraInfo of the depth topic to `on_camera_info`; for each
colour frame, `for_frame` gives the depth image of its stamp
(`repehand_ros.io.stamp_pairing`: nearest within the slop, waiting a little
for one that trails the colour image), decoded (`repehand_ros.io.depth`:
16UC1 millimetres or 32FC1 metres), or says why there is none. After the
reconstruction, `record` counts per hand whether depth placed it.

The depth image must be registered (aligned) to the colour camera: its pixels
in the colour camera's optical frame, as RealSense's
`aligned_depth_to_color/image_raw` (with `align_depth.enable:=true`) or
image_proc's `depth_registered` topics are. Its intrinsics are its own
CameraInfo's when one is given, otherwise the colour camera's (aligned depth
has the colour image's size and intrinsics; another resolution of the same
picture is scaled). A depth image in another frame is warned about (a raw
depth stream is not aligned, and fitting it to the colour image's hands
gives nothing useful) but still tried.

Nothing about depth costs a colour frame its answer: a frame without a
usable depth image is answered from the image alone, and the reason is
warned about (each reason at most every few seconds) and shown in
/diagnostics.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import HandSide
from repehand_ros.io.depth import DepthImageError, decode_depth
from repehand_ros.io.stamp_pairing import (
    MATCHED,
    NONE,
    STALE,
    Pairing,
    PairingSettings,
    StampPairing,
)
from repehand_ros.pipeline.results import DepthStatus, Placement, TwoHandResult
from repehand_ros.ros.camera_info import camera_model
from repehand_ros.ros.frame_admission import HeaderError, check_stamp, tf2_frame_id

NOT_CONFIGURED = "not configured (parameter depth_topic is empty)"


@dataclass(frozen=True)
class DepthImage:
    """A depth image as it arrived, with the intrinsics its CameraInfo gave then."""

    message: Any
    """The sensor_msgs/Image (16UC1 or 32FC1), not yet decoded."""
    camera: PinholeCamera | None
    """From the depth topic's own CameraInfo; None: use the colour camera's."""
    frame_id: str
    """The depth image's frame: its CameraInfo's, else its own header's ("" for none)."""


@dataclass(frozen=True)
class FrameDepth:
    """The depth of one colour frame, or why it has none."""

    status: DepthStatus
    metres: np.ndarray | None = None
    """(H, W) float32 metres, NaN where no data; None when there is no usable depth."""
    camera: PinholeCamera | None = None
    """The depth image's own intrinsics; None: the colour camera's."""
    reason: str = ""
    """Why there is no depth (empty with depth)."""
    pairing: Pairing | None = None


@dataclass
class _HandCounts:
    placed_by_depth: int = 0
    held: int = 0
    fallbacks: int = 0
    last_fallback: str = ""


class DepthIntake:
    """Depth images kept by stamp (from one thread), given to colour frames (on another).

    `warn` says a problem with the depth input; it should be rate-limited per
    reason (the node's CameraIntake.warn_per_reason), as the same problem
    repeats at camera rate.
    """

    def __init__(
        self,
        warn: Callable[[str], object],
        settings: PairingSettings | None = None,
    ) -> None:
        self._warn = warn
        self.pairing: StampPairing[DepthImage] = StampPairing(settings)
        self.enabled = False
        """Depth is subscribed to and fitted (a topic is configured and the model has a
        mesh)."""
        self.disabled_reason = NOT_CONFIGURED
        """Why depth is not used, when not `enabled`."""
        self.topic = ""
        """The depth image topic, as resolved (for messages)."""
        self.camera_info_topic = ""
        """The depth images' own CameraInfo topic; empty: the colour camera's intrinsics."""
        self.rectified = False
        """Whether the depth images are seen through P (as the colour images are)."""
        self._lock = threading.Lock()
        self._camera: PinholeCamera | None = None
        self._camera_frame_id = ""
        self._camera_problem = "no CameraInfo received yet"
        self.images_received = 0
        self.images_refused = 0
        """Depth images refused on arrival (a stamp no output could carry)."""
        self.frames: dict[DepthStatus, int] = {status: 0 for status in DepthStatus}
        """Colour frames answered, by what became of their depth."""
        self.last: FrameDepth | None = None
        self.last_problem = ""
        self._hands = {side: _HandCounts() for side in HandSide}

    def enable(self, topic: str, camera_info_topic: str, rectified: bool) -> None:
        """Depth from `topic` (and intrinsics from `camera_info_topic`, "" for the colour
        camera's) for the frames from now on; images kept from before are forgotten."""
        self.enabled, self.disabled_reason = True, ""
        self.topic, self.camera_info_topic, self.rectified = topic, camera_info_topic, rectified
        self.pairing.clear()

    def disable(self, reason: str = NOT_CONFIGURED) -> None:
        self.enabled, self.disabled_reason = False, reason
        self.pairing.clear()

    # -- arrival (the executor's thread) ------------------------------------------------------

    def on_camera_info(self, message: Any) -> None:
        """The depth images' intrinsics, from their own CameraInfo."""
        try:
            model = camera_model(message, rectified=self.rectified)
        except ValueError as error:
            with self._lock:
                self._camera, self._camera_problem = None, f"CameraInfo refused: {error}"
            self._warn(f"ignoring the depth CameraInfo on {self.camera_info_topic}: {error}")
            return
        with self._lock:
            self._camera, self._camera_frame_id = model.camera, model.frame_id
            self._camera_problem = ""

    def on_image(self, message: Any) -> None:
        """Keep a depth image for the colour frame of its stamp (decoded only if paired)."""
        with self._lock:
            self.images_received += 1
            camera, camera_frame = self._camera, self._camera_frame_id
        stamp = message.header.stamp
        try:
            check_stamp(stamp)
        except HeaderError as error:
            with self._lock:
                self.images_refused += 1
            self._warn(f"depth image on {self.topic} refused: {error}")
            return
        frame_id = tf2_frame_id(camera_frame or message.header.frame_id)
        stamp_ns = stamp.sec * 1_000_000_000 + stamp.nanosec
        self.pairing.add(stamp_ns, DepthImage(message, camera, frame_id))

    # -- per frame (the model's thread) -------------------------------------------------------

    def for_frame(self, stamp_ns: int, frame_id: str, wait: bool = True) -> FrameDepth:
        """The depth of the colour frame stamped `stamp_ns` in `frame_id` (its outputs'
        frame), decoded; or, with status UNMATCHED, STALE or REFUSED, why there is none."""
        if not self.enabled:
            return FrameDepth(DepthStatus.OFF, reason=self.disabled_reason)
        pairing = self.pairing.match(stamp_ns, wait)
        if pairing.status != MATCHED:
            status = DepthStatus.STALE if pairing.status in (STALE, NONE) else DepthStatus.UNMATCHED
            return FrameDepth(status, reason=pairing.describe(), pairing=pairing)
        image = pairing.item
        assert image is not None
        if self.camera_info_topic and image.camera is None:
            with self._lock:
                problem = self._camera_problem
            return self._refused(
                f"no usable depth CameraInfo on {self.camera_info_topic} ({problem}); the "
                "depth image's intrinsics are needed to compare it with the hands",
                pairing,
            )
        message = image.message
        try:
            metres = decode_depth(
                message.data,
                int(message.width),
                int(message.height),
                int(message.step),
                str(message.encoding),
                bool(message.is_bigendian),
            )
        except DepthImageError as error:
            return self._refused(str(error), pairing)
        colour_frame = tf2_frame_id(frame_id)
        if image.frame_id and colour_frame and image.frame_id != colour_frame:
            self._warn(
                f"the depth images on {self.topic} are in frame {image.frame_id!r} but the "
                f"colour images in {colour_frame!r}: is the depth registered (aligned) to the "
                "colour camera? (RealSense: align_depth.enable:=true and its "
                "aligned_depth_to_color/image_raw topic). The depth is fitted as if it were"
            )
        return FrameDepth(DepthStatus.USED, metres, image.camera, pairing=pairing)

    def _refused(self, problem: str, pairing: Pairing | None = None) -> FrameDepth:
        self._warn(f"depth image on {self.topic} not used: {problem}")
        return FrameDepth(DepthStatus.REFUSED, reason=problem, pairing=pairing)

    def record(self, result: TwoHandResult, depth: FrameDepth) -> None:
        """Count what became of this frame's depth, and of each valid hand's placement.

        A result computed without a depth image gets the reason as its `depth_status`
        (unmatched, stale, refused); otherwise the reconstructor's status is the final
        word (it refuses a depth image whose size is not the colour picture's), and a
        refusal it found is warned about here.
        """
        if not self.enabled:
            return
        if result.depth_status is DepthStatus.OFF:
            result.depth_status = depth.status
        status = result.depth_status
        if status is DepthStatus.REFUSED and result.depth_problem:
            self._warn(f"depth image on {self.topic} not used: {result.depth_problem}")
        reason = result.depth_problem or depth.reason
        with self._lock:
            self.frames[status] += 1
            self.last = FrameDepth(status, reason=reason, pairing=depth.pairing)
            if status is not DepthStatus.USED:
                self.last_problem = reason
            for hand in result.hands:
                if not hand.valid:
                    continue
                counts = self._hands[hand.side]
                if hand.placement is Placement.DEPTH:
                    counts.placed_by_depth += 1
                    continue
                counts.fallbacks += 1
                counts.held += int(hand.placement is Placement.DEPTH_HELD)
                fit = hand.depth_fit
                counts.last_fallback = fit.reason if fit is not None and fit.reason else reason

    def reset(self) -> None:
        """Forget the depth images kept (a new stream); the counts stay."""
        self.pairing.clear()

    # -- diagnostics --------------------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """Depth is configured and the last frame found it stale (or never had any)."""
        last = self.last
        return self.enabled and last is not None and last.status is DepthStatus.STALE

    @property
    def state(self) -> str:
        """What depth is doing, in words."""
        if not self.enabled:
            return self.disabled_reason
        last = self.last
        if last is None:
            return f"configured ({self.topic}): no colour frame answered yet"
        if last.status is DepthStatus.USED:
            offset = last.pairing.offset_s if last.pairing is not None else math.nan
            return f"in use ({self.topic}), last pair {1e3 * offset:+.1f} ms apart"
        return f"{last.status.value} ({self.topic}): {last.reason}"

    def values(self) -> dict[str, str]:
        """The key-values of /diagnostics, all as text."""
        with self._lock:
            values = {
                "depth": self.state,
                "depth_images_received": str(self.images_received),
                "depth_images_refused": str(self.images_refused),
                **{
                    f"depth_frames_{status.value}": str(count)
                    for status, count in self.frames.items()
                    if status is not DepthStatus.OFF
                },
                "depth_last_problem": self.last_problem,
            }
            for side, counts in self._hands.items():
                name = side.name.lower()
                values[f"{name}_placed_by_depth"] = str(counts.placed_by_depth)
                values[f"{name}_depth_held"] = str(counts.held)
                values[f"{name}_depth_fallbacks"] = str(counts.fallbacks)
                values[f"{name}_last_depth_fallback"] = counts.last_fallback
        return values
