"""CameraInfo to the camera model with image_geometry's documented semantics, known matrices."""

from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, RegionOfInterest
from std_msgs.msg import Header

from repehand_ros.ros.camera_info import (
    UncalibratedCameraError,
    camera_model,
    image_size,
    is_rectified_topic,
    sees_rectified,
)
from repehand_ros.ros.frame_admission import HeaderError, check_stamp, output_frame_id

K = [600.0, 0.0, 640.0, 0.0, 610.0, 360.0, 0.0, 0.0, 1.0]
P = [590.0, 0.0, 630.0, -59.0, 0.0, 595.0, 350.0, 0.0, 0.0, 0.0, 1.0, 0.0]
D = [-0.2, 0.05, 0.001, -0.002, 0.0]


def info(**fields) -> CameraInfo:
    message = CameraInfo(
        header=Header(frame_id="cam_optical"),
        width=1280,
        height=720,
        distortion_model="plumb_bob",
        d=D,
        k=K,
        p=P,
    )
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def test_raw_images_are_seen_through_k_and_the_distortion():
    model = camera_model(info(), rectified=False)
    np.testing.assert_array_equal(model.camera.k, np.reshape(K, (3, 3)))
    np.testing.assert_array_equal(model.camera.d, D)
    assert model.camera.distortion_model == "plumb_bob"
    assert (model.camera.width, model.camera.height) == (1280, 720)
    assert model.frame_id == "cam_optical"


def test_rectified_images_are_seen_through_p_without_distortion_or_baseline():
    """image_geometry: rectified pixels project with P (fx' = P[0,0], cx' = P[0,2], ...); the
    stereo baseline Tx = P[0,3] relates two cameras, not this camera's rays."""
    camera = camera_model(info(), rectified=True).camera
    np.testing.assert_array_equal(camera.k, [[590.0, 0.0, 630.0], [0.0, 595.0, 350.0], [0, 0, 1]])
    assert not camera.has_distortion and camera.distortion_model == ""
    # A point 1 m ahead and 0.1 m right lands where P's 3x3 part puts it.
    np.testing.assert_allclose(camera.project(np.array([[0.1, -0.05, 1.0]])), [[689.0, 320.25]])


def test_binning_and_roi_adjust_the_intrinsics_and_the_image_size():
    """image_geometry's fromCameraInfo: f' = f / b, c' = (c - offset) / b; the image is the
    ROI divided by the binning."""
    roi = RegionOfInterest(x_offset=100, y_offset=40, width=800, height=600)
    message = info(binning_x=2, binning_y=2, roi=roi)
    camera = camera_model(message, rectified=False).camera
    np.testing.assert_allclose(
        camera.k, [[300.0, 0.0, (640.0 - 100.0) / 2], [0.0, 305.0, (360.0 - 40.0) / 2], [0, 0, 1]]
    )
    assert (camera.width, camera.height) == image_size(message) == (400, 300)
    rectified = camera_model(message, rectified=True).camera
    np.testing.assert_allclose(rectified.k[0], [295.0, 0.0, (630.0 - 100.0) / 2])
    # A pixel of the binned ROI image and the full-resolution pixel it came from see one ray.
    full = camera_model(info(), rectified=False).camera
    binned_pixel = np.array([[210.0, 130.0]])
    full_pixel = binned_pixel * 2 + (100.0, 40.0)
    np.testing.assert_allclose(
        camera.undistort_points(binned_pixel), full.undistort_points(full_pixel), atol=1e-9
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"roi": RegionOfInterest(x_offset=100, y_offset=5000, width=320, height=240)}, "roi"),
        ({"roi": RegionOfInterest(x_offset=1000, y_offset=0, width=320, height=240)}, "roi"),
        ({"roi": RegionOfInterest(x_offset=10, y_offset=10, width=0, height=240)}, "roi"),
        ({"binning_x": 4096}, "binning"),
    ],
)
def test_a_readout_outside_the_sensor_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        camera_model(info(**fields), rectified=False)


def test_a_zero_roi_and_zero_binning_mean_the_whole_sensor():
    message = info(binning_x=0, binning_y=0, roi=RegionOfInterest())
    assert image_size(message) == (1280, 720)
    np.testing.assert_array_equal(camera_model(message, rectified=False).camera.k.ravel(), K)


@pytest.mark.parametrize("rectified", [False, True])
def test_an_uncalibrated_camera_is_told_apart_from_a_broken_one(rectified):
    uncalibrated = CameraInfo(width=640, height=480)  # what camera_info_manager sends
    with pytest.raises(UncalibratedCameraError, match="no focal length"):
        camera_model(uncalibrated, rectified)
    broken = info(k=[float("nan")] * 9, p=[float("nan")] * 12)
    with pytest.raises(ValueError) as error:
        camera_model(broken, rectified)
    assert not isinstance(error.value, UncalibratedCameraError)


@pytest.mark.parametrize(
    ("topic", "rectified"),
    [
        ("/camera/color/image_raw", False),
        ("/camera/image_rect", True),
        ("/camera/image_rect_color", True),
        ("image_rect_color/", True),
        ("/camera/image_rect/compressed", True),
        ("/camera/image_raw/compressed", False),
        ("/stereo/left/image_color", False),
    ],
)
def test_rectified_topics_are_told_by_their_last_name(topic, rectified):
    assert is_rectified_topic(topic) is rectified
    assert sees_rectified("auto", topic) is rectified
    assert sees_rectified("raw", "/camera/image_rect") is False
    assert sees_rectified("rectified", "/camera/image_raw") is True


@pytest.mark.parametrize(("sec", "nanosec"), [(0, 0), (1_700_000_000, 999_999_999)])
def test_a_valid_stamp_is_admitted(sec, nanosec):
    check_stamp(Time(sec=sec, nanosec=nanosec))


@pytest.mark.parametrize(("sec", "nanosec"), [(-5, 0), (3, 1_000_000_000)])
def test_a_stamp_that_cannot_head_an_output_is_refused_naming_the_field(sec, nanosec):
    stamp = Time(sec=sec, nanosec=0)
    stamp.nanosec = nanosec
    with pytest.raises(HeaderError, match=r"header\.stamp") as error:
        check_stamp(stamp)
    assert error.value.field == "header.stamp"


def test_the_output_frame_is_the_camera_infos_then_the_images():
    assert output_frame_id("/image_frame", "") == "image_frame"  # tf2 refuses a leading '/'
    assert output_frame_id("image_frame", "//info_frame") == "info_frame"
    assert output_frame_id("image_frame", "info_frame") == "info_frame"
    assert output_frame_id("", "info_frame") == "info_frame"
    assert output_frame_id("image_frame", "") == "image_frame"
    with pytest.raises(HeaderError, match=r"header\.frame_id is empty") as error:
        output_frame_id("/", "")
    assert error.value.field == "header.frame_id"
