"""Quaternions in ROS's (x, y, z, w) order, checked against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from repehand_ros.geometry import rotations
from repehand_ros.geometry.rotations import matrix_from_quaternion, quaternion_from_matrix


@pytest.fixture(params=["own", "tf_transformations"])
def implementation(request, monkeypatch):
    """Both code paths: this module's own, and tf_transformations when installed."""
    if request.param == "own":
        monkeypatch.setattr(rotations, "_tf", None)
    elif rotations._tf is None:
        pytest.skip("tf_transformations is not installed here")
    return request.param


def test_matches_scipy_on_random_rotations_including_near_half_turns(implementation):
    rng = np.random.default_rng(0)
    matrices = list(Rotation.random(200, random_state=1).as_matrix())
    for axis in np.eye(3):  # 180-degree turns: the trace is -1, the hard branch
        matrices.append(Rotation.from_rotvec(np.pi * axis).as_matrix())
        matrices.append(Rotation.from_rotvec((np.pi - 1e-6) * rng.normal(size=3)).as_matrix())
    for matrix in matrices:
        want = Rotation.from_matrix(matrix).as_quat()  # SciPy: scalar last, like ROS
        want = -want if want[3] < 0 else want
        got = quaternion_from_matrix(matrix)
        assert got[3] >= 0
        if abs(want[3]) < 1e-9:  # w == 0: q and -q both have w >= 0
            got = got if np.dot(got, want) >= 0 else -got
        np.testing.assert_allclose(got, want, atol=1e-9)
        np.testing.assert_allclose(matrix_from_quaternion(got), matrix, atol=1e-9)


def test_quarter_turn_about_z_in_ros_order():
    matrix = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    np.testing.assert_allclose(
        quaternion_from_matrix(matrix), [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12
    )


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="3x3"):
        quaternion_from_matrix(np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        quaternion_from_matrix(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="zero or not finite"):
        matrix_from_quaternion(np.zeros(4))
