"""The camera model built from CameraInfo's fields: projection, undistortion, validation."""

from __future__ import annotations

import numpy as np
import pytest

from repehand_ros.geometry.camera import PinholeCamera

K = np.array([[610.0, 0.0, 322.5], [0.0, 605.0, 238.0], [0.0, 0.0, 1.0]])

MODELS = {
    "plumb_bob": [-0.1, 0.02, 0.001, -0.0005, 0.003],
    "rational_polynomial": [0.4, -0.1, 0.001, 0.0005, 0.01, 0.7, -0.05, 0.02],
    "equidistant": [0.1, -0.02, 0.005, -0.001],
    "": [],
}


def _camera(model: str) -> PinholeCamera:
    return PinholeCamera(K, np.array(MODELS[model]), model, 640, 480)


def _image_grid() -> np.ndarray:
    u, v = np.meshgrid(np.linspace(-0.5, 639.5, 17), np.linspace(-0.5, 479.5, 13))
    return np.stack([u.ravel(), v.ravel()], axis=1)


@pytest.mark.parametrize("model", list(MODELS))
def test_undistort_then_project_returns_the_pixels(model):
    camera = _camera(model)
    pixels = _image_grid()  # corners included, where distortion is strongest
    rays = camera.undistort_points(pixels)
    depth = np.linspace(0.3, 2.0, len(rays))[:, None]
    np.testing.assert_allclose(
        camera.project(np.hstack([rays, np.ones_like(depth)]) * depth), pixels, atol=1e-3
    )


@pytest.mark.parametrize("model", list(MODELS))
def test_project_then_undistort_returns_the_rays(model):
    rng = np.random.default_rng(2)
    points = np.column_stack(
        [rng.uniform(-0.4, 0.4, 40), rng.uniform(-0.3, 0.3, 40), rng.uniform(0.5, 1.5, 40)]
    )
    rays = _camera(model).undistort_points(_camera(model).project(points))
    np.testing.assert_allclose(rays, points[:, :2] / points[:, 2:], atol=1e-7)


def test_plumb_bob_coefficients_are_read_in_ros_order():
    """D = (k1, k2, t1, t2, k3), as CameraInfo documents, checked against the formula."""
    k1, k2, p1, p2, k3 = MODELS["plumb_bob"]
    point = np.array([[0.21, -0.13, 0.8]])
    x, y = point[0, :2] / point[0, 2]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    want = [[K[0, 0] * xd + K[0, 2], K[1, 1] * yd + K[1, 2]]]
    np.testing.assert_allclose(_camera("plumb_bob").project(point), want, atol=1e-9)


def test_distortion_moves_corner_pixels():
    """A guard that the distortion is really applied (k1 = -0.1 shifts corners by pixels)."""
    point = np.array([[0.3, 0.2, 0.6]])
    shift = np.linalg.norm(_camera("plumb_bob").project(point) - _camera("").project(point))
    assert shift > 3.0


def test_points_behind_the_camera_have_no_image():
    pixels = _camera("plumb_bob").project(
        np.array([[0.0, 0.0, 1.0], [0.1, 0.0, -1.0], [0.0, 0.0, 0.0]])
    )
    assert np.all(np.isfinite(pixels[0]))
    assert np.all(np.isnan(pixels[1:]))


def test_k_as_camera_info_gives_it_nine_numbers():
    camera = PinholeCamera(K.ravel().tolist(), [0.0] * 5, "plumb_bob", 640, 480)
    np.testing.assert_array_equal(camera.k, K)
    assert (camera.fx, camera.fy, camera.cx, camera.cy) == (610.0, 605.0, 322.5, 238.0)
    assert not camera.k.flags.writeable


def test_default_camera_is_centred_with_focal_of_the_long_side():
    camera = PinholeCamera.default(640, 480)
    assert (camera.fx, camera.fy) == (640.0, 640.0)
    assert (camera.cx, camera.cy) == (319.5, 239.5)
    assert not camera.has_distortion
    np.testing.assert_allclose(camera.project(np.array([[0.0, 0.0, 1.0]])), [[319.5, 239.5]])


def _k_with(**entries: float) -> np.ndarray:
    k = K.copy()
    for name, value in entries.items():
        k[{"fx": (0, 0), "fy": (1, 1), "cx": (0, 2), "skew": (0, 1), "k22": (2, 2)}[name]] = value
    return k


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": np.zeros((3, 3))}, "camera k: focal lengths must be positive"),
        ({"k": _k_with(fx=0.0)}, "camera k: focal lengths must be positive"),
        ({"k": _k_with(fy=-500.0)}, "camera k: focal lengths must be positive"),
        ({"k": _k_with(fx=np.nan)}, "camera k contains NaN"),
        ({"k": _k_with(cx=np.inf)}, "camera k contains NaN"),
        ({"k": np.eye(4)}, r"camera k must have 9 entries"),
        ({"k": _k_with(skew=1.0)}, "skew"),
        ({"k": _k_with(k22=0.0)}, r"camera k: expected"),
        ({"d": [0.1, 0.0, np.nan, 0.0, 0.0]}, "camera d contains NaN"),
        ({"d": [0.1, 0.0, 0.0]}, "camera d: distortion_model 'plumb_bob' takes"),
        ({"distortion_model": "equidistant"}, "camera d: distortion_model 'equidistant' takes"),
        ({"distortion_model": "fisheye"}, "camera distortion_model 'fisheye' is not supported"),
        ({"distortion_model": "", "d": [0.1, 0, 0, 0, 0]}, "camera d"),
        ({"width": 0}, "camera width must be a positive integer"),
        ({"height": 480.0}, "camera height must be a positive integer"),
    ],
)
def test_bad_intrinsics_are_refused_naming_the_field(kwargs, message):
    fields = {"k": K, "d": [-0.1, 0.02, 0.0, 0.0, 0.0], "distortion_model": "plumb_bob"}
    fields.update(width=640, height=480)
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        PinholeCamera(**fields)


@pytest.mark.parametrize("points", [np.zeros((4, 3)), np.array([[np.nan, 1.0]])])
def test_undistort_refuses_points_of_the_wrong_shape_or_not_finite(points):
    with pytest.raises(ValueError, match="pixels"):
        _camera("plumb_bob").undistort_points(points)
