"""Depth images as the node takes them (no DDS): both encodings in metres, paired by stamp,
and every problem a warning naming it while the colour frame goes on without depth."""

from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from repehand_ros.geometry.depth_fusion import DepthFit
from repehand_ros.hands import HandSide
from repehand_ros.io.stamp_pairing import PairingSettings
from repehand_ros.pipeline.results import DepthStatus, HandResult, Placement, TwoHandResult
from repehand_ros.ros.depth_intake import NOT_CONFIGURED, DepthIntake

FRAME = "camera_color_optical_frame"
SEC = 1_000_000_000
WIDTH, HEIGHT = 8, 6


def stamp_of(ns: int) -> Time:
    return Time(sec=ns // SEC, nanosec=ns % SEC)


def depth_message(
    ns: int, metres: np.ndarray, encoding: str = "16UC1", frame_id: str = FRAME
) -> Image:
    """A depth image as a driver sends it: millimetres in 16UC1, metres in 32FC1."""
    if encoding == "16UC1":
        values = np.nan_to_num(metres * 1000.0).round().astype(np.uint16)
    else:
        values = metres.astype(np.float32)
    height, width = metres.shape
    return Image(
        header=Header(stamp=stamp_of(ns), frame_id=frame_id),
        height=height,
        width=width,
        encoding=encoding,
        step=width * values.itemsize,
        data=values.tobytes(),
    )


def scene() -> np.ndarray:
    metres = np.linspace(0.4, 1.2, WIDTH * HEIGHT).reshape(HEIGHT, WIDTH)
    metres[0, 0] = np.nan  # no measurement
    return metres


class Warnings(list):
    def __call__(self, text: str) -> None:
        self.append(text)


@pytest.fixture
def intake() -> tuple[DepthIntake, Warnings]:
    warnings = Warnings()
    intake = DepthIntake(warnings, PairingSettings(wait_s=0.0))
    intake.enable("/camera/aligned_depth_to_color/image_raw", "", rectified=False)
    return intake, warnings


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_both_encodings_arrive_as_metres(intake, encoding):
    depth, warnings = intake
    depth.on_image(depth_message(5 * SEC, scene(), encoding))
    got = depth.for_frame(5 * SEC + 2_000_000, FRAME)
    assert got.status is DepthStatus.USED and got.camera is None and not warnings
    assert got.metres.dtype == np.float32 and got.metres.shape == (HEIGHT, WIDTH)
    assert np.isnan(got.metres[0, 0])
    np.testing.assert_allclose(got.metres[1:], scene()[1:], atol=5e-4)  # 1 mm steps
    assert got.pairing.offset_s == pytest.approx(-0.002)


def test_frames_without_a_depth_image_are_stale_or_unmatched(intake):
    depth, warnings = intake
    first = depth.for_frame(5 * SEC, FRAME)
    assert first.status is DepthStatus.STALE and first.metres is None
    assert first.reason == "no depth image received yet"
    depth.on_image(depth_message(5 * SEC, scene()))
    missing = depth.for_frame(5 * SEC + 100_000_000, FRAME)
    assert missing.status is DepthStatus.UNMATCHED and "+-100.0 ms" not in missing.reason
    assert "no depth image within 15 ms" in missing.reason
    stale = depth.for_frame(7 * SEC, FRAME)
    assert stale.status is DepthStatus.STALE and "is the depth camera running" in stale.reason
    assert not warnings  # a missing depth image is not bad input


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"encoding": "mono16"}, "mono16 is a grey image"),
        ({"encoding": "rgb8"}, "depth encoding 'rgb8' is not supported"),
        ({"step": 3}, "step 3 does not fit rows of 8 pixels"),
        ({"data": b"\x00" * 10}, "needs 96 bytes but has 10"),
    ],
)
def test_a_depth_image_that_cannot_be_read_is_refused_with_a_warning(intake, change, said):
    depth, warnings = intake
    message = depth_message(5 * SEC, scene())
    for name, value in change.items():
        setattr(message, name, value)
    depth.on_image(message)
    got = depth.for_frame(5 * SEC, FRAME)
    assert got.status is DepthStatus.REFUSED and got.metres is None and said in got.reason
    assert len(warnings) == 1 and said in warnings[0]
    assert warnings[0].startswith("depth image on /camera/aligned_depth_to_color/image_raw")


def test_depth_in_another_frame_is_warned_about_and_still_used(intake):
    depth, warnings = intake
    depth.on_image(depth_message(5 * SEC, scene(), frame_id="/camera_depth_optical_frame"))
    got = depth.for_frame(5 * SEC, "/" + FRAME)
    assert got.status is DepthStatus.USED
    (warning,) = warnings
    assert "'camera_depth_optical_frame' but the colour images in 'camera_color_optical_frame'" in (
        warning
    )
    assert "is the depth registered (aligned)" in warning and "align_depth.enable:=true" in warning


def test_a_depth_camera_info_gives_the_depth_images_their_own_intrinsics():
    warnings = Warnings()
    depth = DepthIntake(warnings, PairingSettings(wait_s=0.0))
    depth.enable("/depth", "/depth_info", rectified=False)
    depth.on_image(depth_message(5 * SEC, scene()))
    refused = depth.for_frame(5 * SEC, FRAME)
    assert refused.status is DepthStatus.REFUSED
    assert "no usable depth CameraInfo on /depth_info (no CameraInfo received yet)" in (
        refused.reason
    )
    info = CameraInfo(header=Header(frame_id=FRAME), width=WIDTH, height=HEIGHT)
    info.k = [5.0, 0.0, 4.0, 0.0, 5.0, 3.0, 0.0, 0.0, 1.0]
    info.distortion_model, info.d = "plumb_bob", [0.0] * 5
    depth.on_camera_info(info)
    depth.on_image(depth_message(6 * SEC, scene()))
    got = depth.for_frame(6 * SEC, FRAME)
    assert got.status is DepthStatus.USED and got.camera.fx == 5.0
    info.k = [0.0] * 9
    depth.on_camera_info(info)
    assert "ignoring the depth CameraInfo on /depth_info" in warnings[-1]


def test_a_depth_image_with_a_stamp_no_output_could_carry_is_refused_on_arrival(intake):
    depth, warnings = intake
    message = depth_message(5 * SEC, scene())
    message.header.stamp = Time(sec=-3, nanosec=0)
    depth.on_image(message)
    assert depth.images_received == 1 and depth.images_refused == 1 and len(depth.pairing) == 0
    assert "header.stamp -3 s 0 ns is not a valid time" in warnings[0]


def valid_hand(side: HandSide, placement: Placement, fit: DepthFit | None) -> HandResult:
    hand = HandResult(side=side, valid=True, confidence=0.9, placement=placement, depth_fit=fit)
    hand.joints[:, 2] = 0.5
    return hand


def test_what_became_of_depth_is_counted_per_hand_for_diagnostics(intake):
    depth, warnings = intake
    assert DepthIntake(warnings).values()["depth"] == NOT_CONFIGURED
    assert depth.state.startswith("configured (/camera/aligned_depth_to_color/image_raw)")
    depth.on_image(depth_message(5 * SEC, scene()))
    used = depth.for_frame(5 * SEC, FRAME)
    fell_back = DepthFit(False, "too few pixels with depth: 3 of 900 visible (need 180)")
    result = TwoHandResult(
        right=valid_hand(HandSide.RIGHT, Placement.DEPTH, DepthFit(True)),
        left=valid_hand(HandSide.LEFT, Placement.DEPTH_HELD, fell_back),
        depth_status=DepthStatus.USED,
    )
    depth.record(result, used)
    assert depth.state.startswith("in use (/camera/aligned_depth_to_color/image_raw)")
    # A frame with no depth image in time: the status is the pairing's.
    unmatched = depth.for_frame(5 * SEC + 200_000_000, FRAME)
    monocular = TwoHandResult(
        right=valid_hand(HandSide.RIGHT, Placement.MONOCULAR, None),
        left=HandResult(side=HandSide.LEFT),
    )
    depth.record(monocular, unmatched)
    assert monocular.depth_status is DepthStatus.UNMATCHED
    # The reconstructor refused the image (its size): said, and counted as refused.
    refused = TwoHandResult(
        right=valid_hand(HandSide.RIGHT, Placement.MONOCULAR, None),
        left=HandResult(side=HandSide.LEFT),
        depth_status=DepthStatus.REFUSED,
        depth_problem="the depth image is 8x6 and the colour image 640x480: not the same",
    )
    depth.record(refused, used)
    assert "not used: the depth image is 8x6" in warnings[-1]
    stale = depth.for_frame(9 * SEC, FRAME)
    depth.record(
        TwoHandResult(right=HandResult(side=HandSide.RIGHT), left=HandResult(side=HandSide.LEFT)),
        stale,
    )
    assert depth.stale
    values = depth.values()
    assert values["depth"].startswith("stale (/camera/aligned_depth_to_color/image_raw): ")
    assert values["depth_images_received"] == "1"
    assert values["depth_frames_used"] == "1" and values["depth_frames_unmatched"] == "1"
    assert values["depth_frames_refused"] == "1" and values["depth_frames_stale"] == "1"
    assert "depth_frames_off" not in values
    assert values["right_placed_by_depth"] == "1" and values["right_depth_fallbacks"] == "2"
    assert values["right_last_depth_fallback"].startswith("the depth image is 8x6")
    assert values["left_depth_held"] == "1" and values["left_depth_fallbacks"] == "1"
    assert values["left_last_depth_fallback"] == fell_back.reason
    assert "is the depth camera running" in values["depth_last_problem"]


def test_disabled_depth_gives_every_frame_none(intake):
    depth, _ = intake
    depth.on_image(depth_message(5 * SEC, scene()))
    depth.disable("not used: the mediapipe-keypoints backend gives joints without a mesh")
    got = depth.for_frame(5 * SEC, FRAME)
    assert got.status is DepthStatus.OFF and got.metres is None
    assert depth.values()["depth"].startswith("not used: the mediapipe-keypoints backend")
    result = TwoHandResult(
        right=HandResult(side=HandSide.RIGHT), left=HandResult(side=HandSide.LEFT)
    )
    depth.record(result, got)
    assert result.depth_status is DepthStatus.OFF and depth.frames[DepthStatus.OFF] == 0
