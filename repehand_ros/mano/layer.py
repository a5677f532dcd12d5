"""MANO hand layers (smplx) built from the user's MANO files, with joints in RepeHand order."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.utils import Struct
from torch import nn

from repehand_ros.hands import FINGERS, WRIST
from repehand_ros.mano.safe_pickle import ManoFileError, load_mano_pickle

logger = logging.getLogger(__name__)

MANO_URL = "https://mano.is.tue.mpg.de"

MANO_FILENAMES: dict[str, str] = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}

NUM_VERTICES = 778

MANO_ARRAY_SHAPES: dict[str, tuple[int, ...]] = {
    "v_template": (NUM_VERTICES, 3),
    "f": (1538, 3),
    "shapedirs": (NUM_VERTICES, 3, 10),
    "posedirs": (NUM_VERTICES, 3, 135),
    "J_regressor": (16, NUM_VERTICES),
    "weights": (NUM_VERTICES, 16),
    "kintree_table": (2, 16),
    "hands_components": (45, 45),
    "hands_mean": (45,),
}
"""The arrays a MANO layer is built from, with the shapes every MANO file has."""

FINGERTIP_VERTICES: dict[str, int] = {
    "thumb": 745,
    "index": 317,
    "middle": 445,
    "ring": 556,
    "pinky": 673,
}
"""The mesh vertex taken as each fingertip (MANO's own joints stop at the last knuckle):
the official model's joints, which its checkpoints were trained on."""

EVALUATION_FINGERTIP_VERTICES: dict[str, int] = {**FINGERTIP_VERTICES, "middle": 444}
"""The fingertips of the official InterHand2.6M evaluation, which takes vertex 444 (not
445) as the middle fingertip: its numbers need exactly these."""

# MANO's 16 joints: wrist, then index, middle, pinky, ring, thumb (joints 1-3 each).
_MANO_FINGER_ORDER = ("index", "middle", "pinky", "ring", "thumb")


def _joint_selection() -> tuple[int, ...]:
    selection = [0]
    for finger in FINGERS:
        knuckle = 1 + 3 * _MANO_FINGER_ORDER.index(finger)
        selection += [knuckle, knuckle + 1, knuckle + 2, 16 + FINGERS.index(finger)]
    return tuple(selection)


JOINT_SELECTION: tuple[int, ...] = _joint_selection()
"""For each RepeHand joint, its index in MANO's 16 joints followed by the 5 fingertips."""


def joint_regressor(
    mano_regressor: np.ndarray, fingertips: Mapping[str, int] = FINGERTIP_VERTICES
) -> np.ndarray:
    """The (21, 778) matrix R whose product with a posed mesh gives the 21 joints (R @ V).

    The rows of MANO's own regressor (16, 778) in RepeHand's joint order,
    plus one one-hot row per fingertip vertex. Joints regressed from the
    posed mesh are what the official model trained on and is evaluated
    with; MANO's kinematic skeleton (smplx `output.joints`) differs from
    them by up to ~15 mm on bent fingers.
    """
    mano_regressor = np.asarray(mano_regressor, dtype=np.float64)
    if mano_regressor.shape != MANO_ARRAY_SHAPES["J_regressor"]:
        raise ValueError(
            f"MANO's joint regressor must be {MANO_ARRAY_SHAPES['J_regressor']}, "
            f"got {mano_regressor.shape}"
        )
    tips = np.zeros((len(FINGERS), NUM_VERTICES))
    for row, finger in enumerate(FINGERS):
        tips[row, fingertips[finger]] = 1.0
    return np.concatenate((mano_regressor, tips))[list(JOINT_SELECTION)]


class ManoFileNotFoundError(FileNotFoundError):
    """A MANO model file is not where it was looked for."""


@dataclass
class ManoHandOutput:
    """One hand's mesh from the MANO layer, relative to its wrist, and where that wrist is.

    Attributes:
        vertices: (B, 778, 3) mesh vertices in metres, wrist at the origin.
        joints: (B, 21, 3) joints regressed from the posed mesh (`joint_regressor`),
            metres, wrist at the origin, `repehand_ros.mano.joints.JOINT_NAMES` order.
        root: (B, 3) the regressed wrist in MANO's own frame before it was subtracted
            (the official `root_cam`); `joints + root` are the joints in MANO's
            frame, which the network's weak-perspective camera projects.
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    root: torch.Tensor

    @property
    def mano_frame_joints(self) -> torch.Tensor:
        """(B, 21, 3) the joints in MANO's own frame (its origin is not the wrist)."""
        return self.joints + self.root[:, None]


def find_mano_file(mano_dir: str | Path, hand: str) -> Path:
    """Path of the `hand` ("right" or "left") MANO file in `mano_dir`, or a clear error."""
    if hand not in MANO_FILENAMES:
        raise ValueError(f"hand must be 'right' or 'left', got {hand!r}")
    mano_dir = Path(mano_dir).expanduser()
    path = mano_dir / MANO_FILENAMES[hand]
    if not path.is_file():
        where = "folder does not exist" if not mano_dir.is_dir() else "no such file in it"
        raise ManoFileNotFoundError(
            f"MANO model file {MANO_FILENAMES[hand]} not found: looked for {path} ({where}). "
            f"Download MANO from {MANO_URL} (free registration; the 'Models & Code' archive) "
            f"and put {MANO_FILENAMES['right']} and {MANO_FILENAMES['left']} in {mano_dir}."
        )
    return path


def read_mano_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a MANO file (official or cleaned), checked against `MANO_ARRAY_SHAPES`."""
    content = load_mano_pickle(path)
    arrays: dict[str, np.ndarray] = {}
    for key, shape in MANO_ARRAY_SHAPES.items():
        if key not in content:
            raise ManoFileError(f"{path} is not a MANO model file: no {key!r} array")
        array = np.asarray(content[key])
        if array.shape != shape:
            raise ManoFileError(
                f"{path} is not a MANO model file: {key!r} has shape {array.shape}, "
                f"expected {shape}"
            )
        arrays[key] = array
    return arrays


class ManoHand(nn.Module):
    """smplx MANO for one hand: full 45-D axis-angle pose (no PCA), mean pose added.

    `flat_hand_mean=False` matches the official training: a zero pose is MANO's
    mean hand, not a flat one. The 21 joints are regressed from the posed mesh
    with the file's own joint regressor (`joint_regressor`), as the official
    `get_coord` does. (The official code takes the right file's regressor for
    both hands, noting that the released files hold the same one.)
    """

    def __init__(self, arrays: dict[str, np.ndarray], is_right: bool) -> None:
        super().__init__()
        self.is_right = is_right
        # smplx prints a warning for MANO's 10 shape coefficients (its only size): keep it quiet.
        with contextlib.redirect_stdout(io.StringIO()):
            self.layer = smplx.MANO(
                model_path="",
                is_rhand=is_right,
                data_struct=Struct(**arrays),
                use_pca=False,
                flat_hand_mean=False,
                create_global_orient=False,
                create_hand_pose=False,
                create_betas=False,
                create_transl=False,
            )
        # MANO's own (16, 778) joint regressor; the evaluation builds its joints from it too.
        self.mano_regressor = np.asarray(arrays["J_regressor"], dtype=np.float64)
        self.register_buffer(
            "joint_regressor",
            torch.tensor(joint_regressor(self.mano_regressor), dtype=torch.float32),
            persistent=False,
        )

    @property
    def faces(self) -> np.ndarray:
        """(1538, 3) vertex indices of the mesh triangles."""
        return np.asarray(self.layer.faces, dtype=np.int64)

    def forward(
        self, root_pose: torch.Tensor, hand_pose: torch.Tensor, shape: torch.Tensor
    ) -> ManoHandOutput:
        """Mesh and joints for root_pose (B, 3), hand_pose (B, 45) axis-angle and shape (B, 10).

        The official order: the posed mesh V in MANO's frame (no translation),
        joints J = R @ V, root = J[wrist]; then both made wrist-relative.
        """
        vertices = self.layer(betas=shape, global_orient=root_pose, hand_pose=hand_pose).vertices
        joints = torch.einsum("jv,bvc->bjc", self.joint_regressor.to(vertices.dtype), vertices)
        root = joints[:, WRIST]
        return ManoHandOutput(
            vertices=vertices - root[:, None], joints=joints - root[:, None], root=root
        )


class ManoPair(nn.Module):
    """Right and left MANO layers, with the known left-model shape fix applied.

    The left MANO file ships with the x component of its shape directions
    equal to the right one's, where it should be mirrored; when that is
    detected the left x component is negated, as the official code does.
    """

    def __init__(self, right: ManoHand, left: ManoHand) -> None:
        super().__init__()
        self.right = right
        self.left = left
        with torch.no_grad():
            right_x = right.layer.shapedirs[:, 0, :]
            left_x = left.layer.shapedirs[:, 0, :]
            if torch.sum(torch.abs(left_x - right_x)) < 1:
                left_x.neg_()
                logger.debug("left MANO shapedirs x component negated (known MANO bug)")

    @classmethod
    def from_dir(cls, mano_dir: str | Path) -> ManoPair:
        """Both layers from MANO_RIGHT.pkl and MANO_LEFT.pkl in `mano_dir`."""
        right_path = find_mano_file(mano_dir, "right")
        left_path = find_mano_file(mano_dir, "left")
        return cls(
            ManoHand(read_mano_arrays(right_path), is_right=True),
            ManoHand(read_mano_arrays(left_path), is_right=False),
        )
