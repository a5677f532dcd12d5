"""InterHand2.6M as training records, selected and prepared as the official `load_data` does.

The official training set is the train split followed by the val split
(`datalist = load_data('train') + load_data('val')`), which `DEFAULT_SPLITS`
reproduces. An annotation is kept, as there, only if

- some joint is valid in `_data.json` (with its hand's wrist: the official
  `joint_trunc`), and
- some joint is valid in `_joint_3d.json` (likewise: the official `joint_valid`), and
- its crop box (`repehand_ros.training.crop_box`) is not off the image.

The 3D validity is what the losses use; the `_data.json` one only selects.
Joints and MANO fits are put in the camera frame (metres): the camera's
world-to-camera rotation R and centre C give X_cam = R (X_world - C). Each
MANO fit's 21 joints are regressed from its posed mesh (the layer of
`repehand_ros.mano.layer`) with the fit's translation, then moved to the
camera frame the same way, which is where the official code puts them too
(it turns the root orientation into the camera frame before making the mesh
and re-places the wrist, which is the same up to MANO's pose blend shapes at
the wrist); the root orientation in the camera frame is R R_world.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from repehand_ros.data.interhand import InterHandDataset, InterHandSample
from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import NUM_JOINTS
from repehand_ros.mano.layer import ManoPair
from repehand_ros.training.augmentation import (
    NUM_POSE_PARAMS,
    NUM_SHAPE_PARAMS,
    RecordError,
    TrainingRecord,
)
from repehand_ros.training.crop_box import hands_box, training_crop_box

logger = logging.getLogger(__name__)

DEFAULT_SPLITS: tuple[str, ...] = ("train", "val")
"""The official training set: InterHand2.6M's train and val splits together."""

MM_PER_M = 1000.0


def _project(sample: InterHandSample, points_mm: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) to pixels; points not in front of the camera go to the
    principal point (the official code moves invalid joints to 1 mm for the same reason)."""
    in_front = points_mm[..., 2:3] > 0
    safe = np.where(in_front, points_mm, np.array([0.0, 0.0, 1.0]))
    return sample.camera.project(safe)


def training_box(sample: InterHandSample, reproduce_union_quirk: bool = False) -> Box | None:
    """The official training crop box of an annotation, or None where the official reader
    skips the annotation (no valid joint in either file, or no box on the image)."""
    if not sample.joint_valid.any() or not sample.joint_valid_3d.any():
        return None
    width, height = sample.image_size
    hands = hands_box(
        _project(sample, sample.joints_camera),
        sample.joint_valid_3d,
        sample.hand_type,
        reproduce_union_quirk,
    )
    return None if hands is None else training_crop_box(hands, width, height)


def _mano_targets(
    sample: InterHandSample, mano: ManoPair
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per hand: camera-frame pose, shape, valid, joints in pixels and in metres (camera frame)."""
    pose = np.zeros((2, NUM_POSE_PARAMS))
    shape = np.zeros((2, NUM_SHAPE_PARAMS))
    valid = np.zeros(2)
    joints_img = np.zeros((2, NUM_JOINTS, 2))
    joints_cam = np.zeros((2, NUM_JOINTS, 3))
    layers = (mano.right, mano.left)
    rotation, centre_m = sample.camera.rotation, sample.camera.position / MM_PER_M
    for side, fit in enumerate(sample.mano):
        if fit is None:
            continue
        with torch.no_grad():
            mesh = layers[side](
                torch.as_tensor(fit.root_pose, dtype=torch.float32)[None],
                torch.as_tensor(fit.hand_pose, dtype=torch.float32)[None],
                torch.as_tensor(fit.shape, dtype=torch.float32)[None],
            )
        world = mesh.mano_frame_joints[0].double().numpy() + fit.translation
        joints_cam[side] = (world - centre_m) @ rotation.T
        joints_img[side] = _project(sample, joints_cam[side] * MM_PER_M)
        world_root, _ = cv2.Rodrigues(np.asarray(fit.root_pose, dtype=np.float64).reshape(3, 1))
        camera_root, _ = cv2.Rodrigues(rotation @ world_root)
        pose[side, :3] = camera_root.reshape(3)
        pose[side, 3:] = fit.hand_pose
        shape[side] = fit.shape
        valid[side] = 1.0
    return pose, shape, valid, joints_img, joints_cam


def record_from_interhand(
    sample: InterHandSample, mano: ManoPair, reproduce_union_quirk: bool = False
) -> TrainingRecord:
    """A `repehand_ros.data.interhand.InterHandSample` as a TrainingRecord; RecordError for an
    annotation the official reader skips (see `training_box`)."""
    crop_box = training_box(sample, reproduce_union_quirk)
    if crop_box is None:
        raise RecordError(
            f"annotation {sample.annotation_id} is not a training sample: no valid joint or "
            f"no crop box on the image"
        )
    joints_mm = sample.joints_camera
    pose, shape, mano_valid, mano_joints_img, mano_joints_cam = _mano_targets(sample, mano)
    return TrainingRecord(
        image=sample.image_path,
        crop_box=crop_box,
        joints_img=_project(sample, joints_mm),
        joints_cam=joints_mm / MM_PER_M,
        joints_valid=sample.joint_valid_3d.astype(np.float32),
        mano_pose=pose,
        mano_shape=shape,
        mano_valid=mano_valid,
        mano_joints_img=mano_joints_img,
        mano_joints_cam=mano_joints_cam,
    )


class InterHandRecords:
    """The official training annotations of InterHand2.6M's `splits`, as TrainingRecords.

    The selection is made once, when constructed (it reads every annotation,
    as the official reader does); records are built on access.
    """

    def __init__(
        self,
        root: str | Path,
        mano: ManoPair,
        splits: Sequence[str] = DEFAULT_SPLITS,
        reproduce_union_quirk: bool = False,
    ) -> None:
        self.mano = mano
        self.reproduce_union_quirk = reproduce_union_quirk
        self.datasets = [InterHandDataset(root, split) for split in splits]
        self.index: list[tuple[int, int]] = []
        for number, dataset in enumerate(self.datasets):
            dataset.check_first_image()
            kept = [
                (number, position)
                for position, sample in enumerate(dataset)
                if training_box(sample, reproduce_union_quirk) is not None
            ]
            logger.info(
                "InterHand2.6M %s: %d of %d annotations kept for training",
                dataset.split,
                len(kept),
                len(dataset),
            )
            self.index += kept

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> TrainingRecord:
        number, position = self.index[index]
        return record_from_interhand(
            self.datasets[number][position], self.mano, self.reproduce_union_quirk
        )


__all__ = [
    "DEFAULT_SPLITS",
    "InterHandRecords",
    "record_from_interhand",
    "training_box",
]
