"""InterHand2.6M as official training records: train + val, 3D validity, skips, MANO joints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from fixtures.interhand import INTERHAND_INDEX_OF, write_interhand_fixture

from repehand_ros.data.interhand import InterHandDataset
from repehand_ros.mano.layer import ManoPair
from repehand_ros.training.crop_box import hands_box, training_crop_box
from repehand_ros.training.interhand_records import (
    DEFAULT_SPLITS,
    InterHandRecords,
    record_from_interhand,
    training_box,
)

INTERACTING_FRAME, RIGHT_FRAME = "1000", "1007"  # the fixture's first two frames of a capture
INDEX_1 = 5  # RepeHand joint index of index_1
WRIST = 0


def _set_3d_validity(root: Path, frame: str, side: int, joints: list[int], value: int) -> None:
    """Changes `_joint_3d.json` alone (not `_data.json`) for RepeHand joints of one hand."""
    path = root / "annotations" / "train" / "InterHand2.6M_train_joint_3d.json"
    content = json.loads(path.read_text())
    entry = content["0"][frame]
    for joint in joints:
        entry["joint_valid"][21 * side + INTERHAND_INDEX_OF[joint]] = [value]
    path.write_text(json.dumps(content))


@pytest.fixture(scope="module")
def interhand_root(tmp_path_factory) -> Path:
    """train: capture 0, one camera, frames interacting, right, left, interacting; val: two more.

    In `_joint_3d.json` only: the interacting frame's right index_1 and left wrist are
    invalid, and the right-hand frame has no valid joint at all.
    """
    root = tmp_path_factory.mktemp("interhand")
    write_interhand_fixture(root, split="train", captures=(0,), cameras=("400262",))
    write_interhand_fixture(
        root, split="val", seed=1, captures=(1,), cameras=("400263",), frames_per_capture=2
    )
    _set_3d_validity(root, INTERACTING_FRAME, 0, [INDEX_1], 0)
    _set_3d_validity(root, INTERACTING_FRAME, 1, [WRIST], 0)
    _set_3d_validity(root, RIGHT_FRAME, 0, list(range(21)), 0)
    return root


@pytest.fixture(scope="module")
def mano(mano_dir) -> ManoPair:
    return ManoPair.from_dir(mano_dir)


def test_the_training_set_is_train_then_val(interhand_root, mano) -> None:
    assert DEFAULT_SPLITS == ("train", "val")
    records = InterHandRecords(interhand_root, mano)
    train_only = InterHandRecords(interhand_root, mano, splits=("train",))
    # train: 4 annotations, the one without any valid 3D joint dropped; val: 2.
    assert (len(train_only), len(records)) == (3, 5)
    assert [split for split, _ in records.index] == [0, 0, 0, 1, 1]
    assert records[4].image.parts[-5] == "val"


def test_3d_validity_is_joint_3d_json_times_the_wrist(interhand_root, mano) -> None:
    sample = InterHandDataset(interhand_root, "train")[0]
    assert sample.hand_type == "interacting"
    record = record_from_interhand(sample, mano)
    assert sample.joint_valid[0, INDEX_1] and not record.joints_valid[0, INDEX_1]
    assert sample.joint_valid[1].all()  # _data.json: the whole left hand
    assert not record.joints_valid[1].any()  # _joint_3d.json: no left wrist, no left hand
    # Joints invalid in both files stay invalid (the fixture's right joints 2 and 3).
    assert not record.joints_valid[0, 2:4].any() and record.joints_valid[0, 4]


def test_annotations_the_official_reader_skips(interhand_root) -> None:
    dataset = InterHandDataset(interhand_root, "train")
    assert training_box(dataset[1]) is None  # no valid joint in _joint_3d.json
    usable = dataset[2]
    assert training_box(usable) is not None
    no_2d = dataclasses.replace(usable, joint_valid=np.zeros_like(usable.joint_valid))
    assert training_box(no_2d) is None  # none in _data.json
    off_image = dataclasses.replace(usable, image_size=(1, 1))
    assert training_box(off_image) is None


def test_record_is_in_the_camera_frame_with_the_mano_fits_joints(interhand_root, mano) -> None:
    sample = InterHandDataset(interhand_root, "train")[0]  # both hands have a MANO fit
    record = record_from_interhand(sample, mano)
    camera = sample.camera
    np.testing.assert_allclose(record.joints_cam, sample.joints_camera / 1000.0)
    np.testing.assert_allclose(record.joints_img, camera.project(sample.joints_camera), atol=1e-6)
    for side, (fit, layer) in enumerate(zip(sample.mano, (mano.right, mano.left), strict=True)):
        with torch.no_grad():
            mesh = layer(
                torch.tensor(fit.root_pose, dtype=torch.float32)[None],
                torch.tensor(fit.hand_pose, dtype=torch.float32)[None],
                torch.tensor(fit.shape, dtype=torch.float32)[None],
            )
        world_mm = (mesh.mano_frame_joints[0].numpy() + fit.translation) * 1000.0
        in_camera_mm = camera.world_to_camera(world_mm)
        np.testing.assert_allclose(record.mano_joints_cam[side], in_camera_mm / 1000.0, atol=1e-6)
        np.testing.assert_allclose(
            record.mano_joints_img[side], camera.project(in_camera_mm), atol=1e-3
        )
        world_root, _ = cv2.Rodrigues(np.asarray(fit.root_pose).reshape(3, 1))
        camera_root, _ = cv2.Rodrigues(record.mano_pose[side, :3].reshape(3, 1))
        np.testing.assert_allclose(camera_root, camera.rotation @ world_root, atol=1e-6)
        np.testing.assert_allclose(record.mano_pose[side, 3:], fit.hand_pose)
    assert record.mano_valid.tolist() == [1.0, 1.0]


def test_crop_box_is_the_official_one(interhand_root, mano) -> None:
    for sample in InterHandDataset(interhand_root, "train"):
        if training_box(sample) is None:
            continue
        record = record_from_interhand(sample, mano)
        pixels = sample.camera.project(sample.joints_camera)
        hands = hands_box(pixels, sample.joint_valid_3d, sample.hand_type)
        width, height = sample.image_size
        assert record.crop_box == training_crop_box(hands, width, height)


def test_a_hand_without_a_mano_fit_has_no_mano_targets(interhand_root, mano) -> None:
    sample = InterHandDataset(interhand_root, "train")[3]  # the fixture's left fit is null
    assert sample.mano[1] is None
    record = record_from_interhand(sample, mano)
    assert record.mano_valid.tolist() == [1.0, 0.0]
    assert not record.mano_joints_cam[1].any() and not record.mano_pose[1].any()
