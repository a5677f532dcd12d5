"""One calibration reader for OpenCV files, ROS calibration YAML and CameraInfo as YAML; the
camera chosen for each image size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from repehand_ros.io.calibration import (
    CAMERA_INFO,
    OPENCV,
    ROS_CALIBRATION,
    CalibrationError,
    CameraChoice,
    read_calibration,
)

K = np.array([[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])


def test_camera_info_yaml_is_read(tmp_path):
    path = tmp_path / "camera.yaml"
    path.write_text(
        "image_width: 640\nimage_height: 480\ncamera_name: test\n"
        "camera_matrix: {rows: 3, cols: 3, data: [600, 0, 320, 0, 610, 240, 0, 0, 1]}\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients: {rows: 1, cols: 5, data: [-0.1, 0.01, 0, 0, 0]}\n"
    )
    calibration = read_calibration(path)
    camera = calibration.camera
    assert (camera.width, camera.height, camera.fy, camera.distortion_model) == (
        640,
        480,
        610.0,
        "plumb_bob",
    )
    assert calibration.format == ROS_CALIBRATION and calibration.frame_id is None
    message = tmp_path / "camera_info.yaml"
    message.write_text("height: 480\nwidth: 640\nk: [500, 0, 320, 0, 500, 240, 0, 0, 1]\nd: []\n")
    assert read_calibration(message).camera.fx == 500.0


def test_a_camera_info_echoed_by_ros2_topic_gives_its_frame_id(tmp_path):
    path = tmp_path / "echo.yaml"
    path.write_text(
        "header:\n  stamp: {sec: 1, nanosec: 2}\n  frame_id: wrist_cam_optical\n"
        "height: 480\nwidth: 640\ndistortion_model: rational_polynomial\n"
        "d: [0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]\n"
        "k: [600.0, 0.0, 320.0, 0.0, 610.0, 240.0, 0.0, 0.0, 1.0]\n"
        "r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]\n"
        "binning_x: 0\nbinning_y: 0\n"
        "roi: {x_offset: 0, y_offset: 0, height: 0, width: 0, do_rectify: false}\n---\n"
    )
    calibration = read_calibration(path)
    assert calibration.format == CAMERA_INFO and calibration.frame_id == "wrist_cam_optical"
    assert calibration.camera.distortion_model == "rational_polynomial"
    np.testing.assert_array_equal(calibration.camera.k, K)
    binned = tmp_path / "binned.yaml"
    binned.write_text(path.read_text().replace("binning_x: 0", "binning_x: 2"))
    with pytest.raises(CalibrationError, match="binning"):
        read_calibration(binned)


@pytest.mark.parametrize("suffix", [".yaml", ".xml"])
def test_opencv_calibration_files_are_read(tmp_path, suffix):
    path = tmp_path / f"opencv{suffix}"
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    storage.write("image_width", 640)
    storage.write("image_height", 480)
    storage.write("camera_matrix", K)
    storage.write("distortion_coefficients", np.array([[-0.2], [0.05], [0.0], [0.0], [0.01]]))
    storage.release()
    calibration = read_calibration(path)
    camera = calibration.camera
    assert calibration.format == OPENCV and calibration.frame_id is None
    assert (camera.width, camera.height, camera.distortion_model) == (640, 480, "plumb_bob")
    np.testing.assert_array_equal(camera.k, K)
    assert camera.d.tolist() == [-0.2, 0.05, 0.0, 0.0, 0.01]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "file not found"),
        ("just text", "expected a YAML mapping"),
        ("width: 640\nk: [1, 0, 0, 0, 1, 0, 0, 0, 1]\n", "has no height"),
        ("width: 640\nheight: 480\nk: [0, 0, 0, 0, 0, 0, 0, 0, 0]\n", "focal lengths"),
        ("a: [1, 2\n", "cannot read camera info"),
    ],
    ids=["missing", "not-a-mapping", "incomplete", "uncalibrated", "not-yaml"],
)
def test_a_bad_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "camera.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(CalibrationError, match=message) as caught:
        read_calibration(path)
    assert str(path) in str(caught.value)


def test_intrinsics_default_focal_and_calibration_file(tmp_path):
    default = CameraChoice().camera(640, 480)
    assert default.fx == default.fy == 640.0 and (default.cx, default.cy) == (319.5, 239.5)
    assert CameraChoice(focal=500.0).camera(320, 240).fx == 500.0
    calibration = tmp_path / "camera.yaml"
    calibration.write_text(
        "image_width: 320\nimage_height: 240\ncamera_name: test\n"
        "camera_matrix: {rows: 3, cols: 3, data: [300, 0, 160, 0, 301, 120, 0, 0, 1]}\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients: {rows: 1, cols: 5, data: [0.1, 0, 0, 0, 0]}\n"
    )
    intrinsics = CameraChoice(read_calibration(calibration).camera)
    assert intrinsics.camera(320, 240).fy == 301.0
    with pytest.raises(CalibrationError, match="320x240"):
        intrinsics.camera(640, 480)


def test_each_size_gets_one_camera_and_given_intrinsics_win(caplog):
    cameras = CameraChoice(intrinsics=(500.0, 501.0, 100.0, 80.0))
    assert cameras.source == "intrinsics"
    first = cameras.camera(200, 160)
    assert cameras.camera(200, 160) is first and (first.fy, first.cx) == (501.0, 100.0)
    assert cameras.camera(400, 300) is not first
    warned = CameraChoice(default_warning="no intrinsics given")
    warned.camera(64, 48)
    warned.camera(64, 48)
    assert [r.message for r in caplog.records].count(
        "no intrinsics given: using a default camera for 64x48 images, focal length 64 px; "
        "hand depths are only approximate"
    ) == 1
    assert warned.source == "default"
