"""The player's CameraInfo for a camera: K, R identity, P = [K | 0], D as calibrated."""

from __future__ import annotations

from repehand_ros.io.calibration import CameraChoice, read_calibration
from repehand_ros.ros.player import camera_info_message


def test_camera_info_of_a_calibration(tmp_path):
    calibration = tmp_path / "camera.yaml"
    calibration.write_text(
        "image_width: 320\nimage_height: 240\ncamera_name: test\n"
        "camera_matrix: {rows: 3, cols: 3, data: [300, 0, 160, 0, 301, 120, 0, 0, 1]}\n"
        "distortion_model: plumb_bob\n"
        "distortion_coefficients: {rows: 1, cols: 5, data: [0.1, 0, 0, 0, 0]}\n"
    )
    intrinsics = CameraChoice(read_calibration(calibration).camera)
    info = camera_info_message(intrinsics.camera(320, 240), header=None)
    assert list(info.p) == [300, 0, 160, 0, 0, 301, 120, 0, 0, 0, 1, 0]
    assert list(info.d) == [0.1, 0, 0, 0, 0]


def test_an_uncalibrated_camera_is_sent_without_distortion():
    info = camera_info_message(CameraChoice(focal=500.0).camera(64, 48), header=None)
    assert (info.width, info.height, info.k[0], info.distortion_model) == (
        64,
        48,
        500.0,
        "plumb_bob",
    )
    assert list(info.d) == [0.0] * 5
