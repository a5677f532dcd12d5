"""One hand's 21 joints (camera frame, metres) to robot-hand joint positions, with dex-retargeting.

ROS-free. `HandRetargeter` loads a dex-retargeting YAML config and the robot URDF it names,
builds dex-retargeting's optimiser, and maps the joints of one `HandMesh` (or of any hand in
MediaPipe/MANO joint order) to the robot's joint positions.

Frames. dex-retargeting's configs are tuned for joints expressed in a wrist-centred "operator"
frame, which its video example builds from MediaPipe's landmarks (and which this module builds
the same way from the camera-frame joints):

1. subtract the wrist, so the wrist is the origin;
2. estimate the hand's orientation from three palm joints, wrist (0), index_1 (5) and
   middle_1 (9), in the MANO convention: x from middle_1 to the wrist, y the normal of the palm
   plane, z across the palm towards the index finger (`wrist_frame`);
3. express the joints in that frame and apply dex-retargeting's `OPERATOR2MANO` matrix for the
   side: `joints @ R @ OPERATOR2MANO[side]` (`operator_frame_joints`).

The result, for a right hand: +z from the wrist along the middle finger's knuckle, +y towards
the thumb, +x out of the palm on the palm side; for a left hand, the mirror image (+y towards
the little finger), which is how dex-urdf's left hands are built. Robot URDFs put their
wrist/base link in this frame, so the retargeter sees the same vectors whatever the camera and
however the hand is turned in front of it. Only the joints are used (not HandMesh.wrist's
orientation): that works the same for the full RepeHand model and for the keypoint backend.
The camera's optical frame is right-handed, like MediaPipe's, which is all this needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

NUM_HAND_JOINTS = 21
SIDES = ("right", "left")
# Palm joints that fix the hand's orientation (MediaPipe/MANO order).
_WRIST, _INDEX_1, _MIDDLE_1 = 0, 5, 9
# Below this (metres), the palm joints are too close or too nearly collinear to define a frame.
_DEGENERATE_M = 1e-4


class RetargetingError(ValueError):
    """A config, URDF or hand that the retargeter cannot use; the message says which and why."""


def operator_to_mano(side: str) -> np.ndarray:
    """dex-retargeting's OPERATOR2MANO matrix for "right" or "left"."""
    from dex_retargeting.constants import OPERATOR2MANO, HandType

    if side not in SIDES:
        raise RetargetingError(f"side must be 'right' or 'left', not {side!r}")
    return np.asarray(OPERATOR2MANO[HandType[side]], dtype=np.float64)


def check_joints(joints: Any) -> np.ndarray:
    """The joints as a float64 (21, 3) array; RetargetingError when malformed or not finite."""
    array = np.asarray(joints, dtype=np.float64)
    if array.shape != (NUM_HAND_JOINTS, 3):
        raise RetargetingError(
            f"expected {NUM_HAND_JOINTS} hand joints as a (21, 3) array, got shape {array.shape}"
        )
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise RetargetingError(
            f"hand joints {np.flatnonzero(bad).tolist()} are not finite (NaN or inf)"
        )
    return array


def wrist_frame(joints: np.ndarray) -> np.ndarray:
    """The hand's orientation in the joints' frame, MANO convention, as a 3x3 matrix of columns.

    Column 0 (x): from middle_1 towards the wrist, within the palm plane; column 1 (y): the
    normal of the plane through wrist, index_1 and middle_1; column 2 (z): x cross y, turned to
    point from middle_1 towards index_1 (the normal's sign follows it). The same construction as
    dex-retargeting's MediaPipe example.
    """
    palm = check_joints(joints)[[_WRIST, _INDEX_1, _MIDDLE_1]]
    along = palm[0] - palm[2]
    centred = palm - palm.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred)
    if np.linalg.norm(along) < _DEGENERATE_M or singular[1] < _DEGENERATE_M:
        raise RetargetingError(
            "the wrist, index_1 and middle_1 joints coincide or lie on a line: no palm to "
            "orient the hand by"
        )
    normal = vt[2]
    x = along - np.dot(along, normal) * normal
    x /= np.linalg.norm(x)
    z = np.cross(x, normal)
    if np.dot(z, palm[1] - palm[2]) < 0.0:
        normal, z = -normal, -z
    return np.stack([x, normal, z], axis=1)


def operator_frame_joints(joints: Any, side: str) -> np.ndarray:
    """The joints in dex-retargeting's wrist-centred operator frame (see the module docstring)."""
    array = check_joints(joints)
    centred = array - array[_WRIST]
    return centred @ wrist_frame(array) @ operator_to_mano(side)


def _load_yaml(config_path: Path) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(config_path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RetargetingError(f"cannot read retargeting config {config_path}: {error}") from error
    if not isinstance(document, Mapping) or not isinstance(document.get("retargeting"), Mapping):
        raise RetargetingError(
            f"retargeting config {config_path} has no 'retargeting:' section "
            "(expected dex-retargeting's YAML format)"
        )
    return dict(document["retargeting"])


def resolve_urdf(config_path: Path, section: Mapping[str, Any], urdf: Path | None) -> Path:
    """The URDF file to load: `urdf` itself when it is a file, else the config's urdf_path
    resolved against `urdf` when it is a directory (for example dex-urdf's robots/hands), else
    against the config file's own directory."""
    named = section.get("urdf_path")
    if urdf is not None and not urdf.is_dir():
        if not urdf.is_file():
            raise RetargetingError(f"URDF not found: {urdf}")
        return urdf.resolve()
    if not named:
        raise RetargetingError(
            f"retargeting config {config_path} names no urdf_path: pass the robot's URDF file"
        )
    base = urdf if urdf is not None else config_path.parent
    path = Path(named) if Path(named).is_absolute() else base / named
    if not path.is_file():
        where = f"directory {urdf}" if urdf is not None else "the config's directory"
        raise RetargetingError(
            f"URDF not found: {path} (config {config_path} names {named!r}, looked in {where}); "
            "dex-retargeting ships configs without URDFs: pass the URDF file, or the directory "
            "that holds it such as dex-urdf's robots/hands"
        )
    return path.resolve()


class HandRetargeter:
    """dex-retargeting for one hand: camera-frame joints in, robot joint positions out.

    `config` is a dex-retargeting YAML file; `urdf` the robot's URDF file, or a directory
    against which the config's relative urdf_path is resolved (default: the config's
    directory). `side` is the person's hand that drives the robot: "right" or "left".
    Stateful, like dex-retargeting's SeqRetargeting: each solution warm-starts the next and
    the config's low-pass filter smooths the output; `reset()` forgets both.
    """

    def __init__(self, config: Path | str, urdf: Path | str | None = None, side: str = "right"):
        self.config_path = Path(config)
        self.side = side
        self._operator_to_mano = operator_to_mano(side)
        if not self.config_path.is_file():
            raise RetargetingError(f"retargeting config not found: {self.config_path}")
        section = _load_yaml(self.config_path)
        self.urdf_path = resolve_urdf(
            self.config_path, section, None if urdf is None else Path(urdf)
        )
        section["urdf_path"] = str(self.urdf_path)
        self._retargeting = self._build(section)
        optimizer = self._retargeting.optimizer
        self.retargeting_type: str = optimizer.retargeting_type
        self.human_indices = np.asarray(optimizer.target_link_human_indices, dtype=int)
        self.joint_names: list[str] = list(self._retargeting.joint_names)
        self.joint_limits: np.ndarray = np.asarray(optimizer.robot.joint_limits, dtype=np.float64)

    def _build(self, section: dict[str, Any]):
        from dex_retargeting.retargeting_config import RetargetingConfig

        try:
            config = RetargetingConfig.from_dict(section)
        except (TypeError, ValueError, KeyError) as error:
            raise RetargetingError(
                f"invalid retargeting config {self.config_path}: {error}"
            ) from error
        try:
            return config.build()
        except Exception as error:  # yourdfpy, pinocchio and the optimisers raise many kinds
            raise RetargetingError(
                f"cannot build the retargeter from config {self.config_path} and URDF "
                f"{self.urdf_path}: {type(error).__name__}: {error}"
            ) from error

    def reference(self, joints: Any) -> np.ndarray:
        """The optimiser's input for these camera-frame joints: operator-frame positions of the
        config's human joints (position retargeting) or the vectors between them (vector and
        DexPilot retargeting)."""
        array = check_joints(joints)
        centred = array - array[_WRIST]
        operator = centred @ wrist_frame(array) @ self._operator_to_mano
        if self.retargeting_type == "POSITION":
            return operator[self.human_indices]
        return operator[self.human_indices[1]] - operator[self.human_indices[0]]

    def retarget(self, joints: Any) -> np.ndarray:
        """Robot joint positions (radians or metres, order `joint_names`) for one hand's 21
        joints (metres, any right-handed frame such as the camera's optical frame), clipped to
        the URDF's limits (the optimiser may overshoot them by its 1e-3 tolerance)."""
        positions = self._retargeting.retarget(self.reference(joints))
        positions = np.asarray(positions, dtype=np.float64)
        if not np.isfinite(positions).all():
            raise RetargetingError("the optimiser returned non-finite joint positions")
        return np.clip(positions, self.joint_limits[:, 0], self.joint_limits[:, 1])

    def reset(self) -> None:
        """Forget the last solution (warm start) and the low-pass filter's state."""
        self._retargeting.reset()
        if self._retargeting.filter is not None:
            self._retargeting.filter.reset()
