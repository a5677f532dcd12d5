"""Rotation matrices and unit quaternions, in ROS's (x, y, z, w) order.

tf_transformations (the usual ROS helper) is used when it is installed; it is
not on PyPI, so the same conventions are implemented here and checked against
it, and against SciPy, by the tests.
"""

from __future__ import annotations

import numpy as np

try:
    import tf_transformations as _tf
except ImportError:
    _tf = None


def quaternion_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a 3x3 rotation matrix, with w >= 0.

    A quaternion and its negation are the same rotation; w >= 0 makes the
    result unique so that consecutive messages do not flip sign.
    """
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape != (3, 3):
        raise ValueError(f"expected a 3x3 rotation matrix, got shape {rotation.shape}")
    if not np.all(np.isfinite(rotation)):
        raise ValueError("rotation matrix contains NaN or infinity")
    if _tf is not None:
        matrix = np.eye(4)
        matrix[:3, :3] = rotation
        quaternion = np.asarray(_tf.quaternion_from_matrix(matrix), dtype=np.float64)
    else:
        quaternion = _quaternion_from_matrix(rotation)
    quaternion /= np.linalg.norm(quaternion)
    return -quaternion if quaternion[3] < 0 else quaternion


def _quaternion_from_matrix(m: np.ndarray) -> np.ndarray:
    """Shepperd's method: divide by the largest of the four diagonal combinations."""
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0.0:
        s = 2.0 * np.sqrt(trace + 1.0)
        return np.array(
            [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
        )
    i = int(np.argmax(np.diag(m)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
    quaternion = np.empty(4)
    quaternion[i] = 0.25 * s
    quaternion[j] = (m[j, i] + m[i, j]) / s
    quaternion[k] = (m[k, i] + m[i, k]) / s
    quaternion[3] = (m[k, j] - m[j, k]) / s
    return quaternion


def matrix_from_quaternion(quaternion: np.ndarray) -> np.ndarray:
    """3x3 rotation matrix of a quaternion (x, y, z, w); it need not be normalised."""
    q = np.asarray(quaternion, dtype=np.float64)
    if q.shape != (4,):
        raise ValueError(f"expected a quaternion (x, y, z, w), got shape {q.shape}")
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError(f"quaternion {q.tolist()} has no rotation (zero or not finite)")
    x, y, z, w = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
