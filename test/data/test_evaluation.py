"""The official test pipeline on the fixture dataset: samples, RootNet crops, meshes scored."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from fixtures.interhand import to_interhand_order, write_interhand_fixture
from scipy.spatial.transform import Rotation

from repehand_ros.data import evaluation
from repehand_ros.data.interhand import InterHandDataset
from repehand_ros.data.interhand_layout import InterHandLayoutError
from repehand_ros.data.protocols import PROTOCOLS
from repehand_ros.data.rootnet import read_rootnet_boxes, rootnet_path
from repehand_ros.data.scoring_rules import official_scores
from repehand_ros.geometry.boxes import Box
from repehand_ros.mano.layer import ManoPair
from repehand_ros.model import RepeHandNet


@pytest.fixture(scope="module")
def interhand(tmp_path_factory):
    return write_interhand_fixture(tmp_path_factory.mktemp("interhand") / "InterHand2.6M")


@pytest.fixture
def fresh(tmp_path):
    """One capture, two cameras: 8 annotations, frame 1021 (the last two) hand_type_valid 0."""
    return write_interhand_fixture(tmp_path / "InterHand2.6M", captures=(0,))


@pytest.fixture(scope="module")
def mano(mano_dir):
    return ManoPair.from_dir(mano_dir).eval()


def _edit_json(path, change) -> None:
    content = json.loads(path.read_text())
    change(content)
    path.write_text(json.dumps(content))


# --- which samples ---


def test_selection_keeps_hand_type_invalid_and_drops_only_all_invalid_joints(fresh):
    data = fresh.annotation_dir / "InterHand2.6M_test_data.json"
    joints = fresh.annotation_dir / "InterHand2.6M_test_joint_3d.json"

    def no_wrists_in_image(content):  # annotation 0: both wrists invalid, all else valid
        for index in (20, 41):
            content["annotations"][0]["joint_valid"][index] = [0]

    def no_right_wrist_in_3d(content):  # frame 1007 (right hand only, 2 cameras)
        content["0"]["1007"]["joint_valid"][20] = [0]

    _edit_json(data, no_wrists_in_image)
    _edit_json(joints, no_right_wrist_in_3d)
    dataset = InterHandDataset(fresh.root)
    assert [dataset.hand_type(i)[1] for i in (6, 7)] == [False, False]
    selection = evaluation.select_samples(dataset)
    assert selection.indices == [1, 4, 5, 6, 7]  # 6, 7: hand_type_valid 0, kept
    assert selection.annotation_ids == [dataset[i].annotation_id for i in selection.indices]
    assert selection.skipped == {"no_valid_joint_in_image": 1, "no_valid_3d_joint": 2}
    assert evaluation.select_samples(dataset, limit=2).indices == [1, 4]
    assert selection.describe_skipped() == "no_valid_joint_in_image: 1, no_valid_3d_joint: 2"


def test_a_selection_that_cannot_be_evaluated_is_one_clear_error():
    box = Box(0.0, 0.0, 10.0, 10.0)
    nothing = evaluation.Selection()
    assert nothing.describe_skipped() == "none"
    with pytest.raises(evaluation.EvaluationError, match=r"no usable samples in ROOT \(skipped"):
        nothing.check({}, "ROOT")
    selection = evaluation.Selection(indices=[0, 1], annotation_ids=[5, 9])
    selection.check({5: box, 9: box}, "ROOT")
    with pytest.raises(evaluation.EvaluationError, match=r"no box for 1 selected .*first: 9"):
        selection.check({5: box}, "ROOT")


def test_selection_keeps_samples_whose_hand_has_no_mano_fit(interhand):
    dataset = InterHandDataset(interhand.root)
    selection = evaluation.select_samples(dataset)
    assert selection.indices == list(range(16))
    assert any(dataset[i].mano[1] is None for i in selection.indices)


# --- the RootNet boxes and the crop the network sees ---


def test_rootnet_boxes_are_read_by_annotation_id_as_xywh(interhand):
    boxes = read_rootnet_boxes(interhand.root, "test")
    for frame in interhand.frames:
        x, y, w, h = frame.rootnet_box
        assert boxes[frame.annotation_id] == Box(x, y, x + w, y + h)


def test_missing_rootnet_file_names_where_it_was_looked_for(fresh):
    path = rootnet_path(fresh.root, "test")
    path.unlink()
    with pytest.raises(InterHandLayoutError, match="RootNet boxes not found: looked for") as error:
        read_rootnet_boxes(fresh.root, "test")
    assert str(fresh.root / "rootnet" / "rootnet_interhand2.6m_output_test.json") in str(
        error.value
    )


def test_rootnet_entry_without_a_box_is_refused(fresh):
    _edit_json(rootnet_path(fresh.root, "test"), lambda entries: entries[0].pop("bbox"))
    with pytest.raises(InterHandLayoutError, match="no 4-number 'bbox'"):
        read_rootnet_boxes(fresh.root, "test")


def test_crop_is_the_box_stretched_to_the_network_size(interhand):
    image = InterHandDataset(interhand.root)[0].load_image()
    expected = image[10:234, 50:274].transpose(2, 0, 1) / 255.0
    # a 224 x 224 box at an integer offset: the crop is that part of the image
    square = evaluation.network_input(image, Box(50.0, 10.0, 274.0, 234.0), 224)
    assert square.shape == (3, 224, 224) and square.dtype == np.float32
    np.testing.assert_allclose(square, expected, atol=1e-6)
    # a 112 x 224 box: stretched twice horizontally, every other column an image column
    tall = evaluation.network_input(image, Box(50.0, 10.0, 162.0, 234.0), 224)
    np.testing.assert_allclose(tall[:, :, ::2], expected[:, :, :112], atol=1e-6)
    # outside the image: black
    outside = evaluation.network_input(image, Box(-400.0, -400.0, -176.0, -176.0), 224)
    assert outside.max() == 0.0


def test_network_sees_the_rootnet_crop_at_its_own_input_size(interhand, mano):
    path = rootnet_path(interhand.root, "test")
    original = path.read_text()
    entries = json.loads(original)
    entries[0]["bbox"] = [50.0, 10.0, 256.0, 128.0]  # stretched 2x vertically at 256
    path.write_text(json.dumps(entries))
    try:
        boxes = read_rootnet_boxes(interhand.root, "test")
    finally:
        path.write_text(original)
    dataset = InterHandDataset(interhand.root)
    torch.manual_seed(0)
    network = RepeHandNet("5m", input_size=256).eval()
    seen = []
    network.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].clone()))
    scores, complete = evaluation.evaluate(
        dataset, [0, 1], boxes, network, mano, PROTOCOLS["official"], batch_size=2, workers=1
    )
    assert complete and len(scores) == 2
    assert seen[0].shape == (2, 3, 256, 256)
    image = dataset[0].load_image()
    expected = image[10:138, 50:306].transpose(2, 0, 1) / 255.0  # rows 10..137, cols 50..305
    np.testing.assert_allclose(seen[0][0, :, ::2, :].numpy(), expected, atol=1e-6)


def test_sample_without_a_rootnet_box_is_named(interhand):
    sample = InterHandDataset(interhand.root)[3]
    with pytest.raises(InterHandLayoutError, match=f"no box for annotation {sample.annotation_id}"):
        evaluation.crop_box_for(sample, {})


# --- the meshes scored ---


def test_evaluation_regressor_takes_vertex_444_as_the_middle_fingertip(mano):
    regressors = evaluation.evaluation_regressors(mano)
    assert regressors.shape == (2, 21, 778)
    for side, hand in enumerate((mano.right, mano.left)):
        tips = {4: 745, 8: 317, 12: 444, 16: 556, 20: 673}  # RepeHand joint: vertex
        for joint, vertex in tips.items():
            assert regressors[side, joint, vertex] == 1.0 and regressors[side, joint].sum() == 1.0
        np.testing.assert_array_equal(regressors[side, 0], hand.mano_regressor[0])
        np.testing.assert_array_equal(regressors[side, 9], hand.mano_regressor[4])  # middle_1


def _oracle(samples):
    """The network's output equal to the ground truth: each fit's root rotation turned into
    the camera frame, the annotated wrists' offset as the relative translation (metres)."""
    hands = []
    for side in range(2):
        roots, poses, shapes = [], [], []
        for sample in samples:
            fit = sample.mano[side] or SimpleNamespace(
                root_pose=np.zeros(3), hand_pose=np.zeros(45), shape=np.zeros(10)
            )
            rotation = sample.camera.rotation @ Rotation.from_rotvec(fit.root_pose).as_matrix()
            roots.append(Rotation.from_matrix(rotation).as_rotvec())
            poses.append(fit.hand_pose)
            shapes.append(fit.shape)
        hands.append(
            SimpleNamespace(
                root_pose=torch.tensor(np.array(roots), dtype=torch.float32),
                hand_pose=torch.tensor(np.array(poses), dtype=torch.float32),
                shape=torch.tensor(np.array(shapes), dtype=torch.float32),
            )
        )
    relative = [(s.joints_camera[1, 0] - s.joints_camera[0, 0]) / 1000.0 for s in samples]
    return SimpleNamespace(
        right=hands[0],
        left=hands[1],
        relative_translation=torch.tensor(np.array(relative), dtype=torch.float32),
    )


def test_ground_truth_as_prediction_scores_zero_under_the_official_protocol(interhand, mano):
    dataset = InterHandDataset(interhand.root)
    samples = [dataset[i] for i in range(len(dataset))]
    batch = evaluation.evaluation_batch(samples, _oracle(samples), mano)
    written = {f.annotation_id: f for f in interhand.frames}
    for row, sample in enumerate(samples):
        frame = written[sample.annotation_id]
        expected = to_interhand_order(frame.joint_valid[..., None].astype(int))[:, 0] > 0
        np.testing.assert_array_equal(batch.joint_trunc[row], expected)
        assert batch.mano_fitted[row].tolist() == [m is not None for m in sample.mano]
    no_fit = ~batch.mano_fitted
    assert no_fit.sum() == 2  # the last frame's left hand, seen by two cameras
    np.testing.assert_array_equal(batch.gt_vertices[no_fit], 0.0)
    scores = official_scores(batch, evaluation.evaluation_regressors(mano))
    np.testing.assert_allclose(scores.joint_errors[scores.joint_scored], 0.0, atol=0.01)
    np.testing.assert_allclose(scores.vertex_errors[scores.vertex_scored], 0.0, atol=0.01)
    np.testing.assert_allclose(scores.pa_joint_errors[scores.pa_joint_scored], 0.0, atol=0.01)
    np.testing.assert_allclose(scores.mrrpe[~np.isnan(scores.mrrpe)], 0.0, atol=0.01)
    assert (~np.isnan(scores.mrrpe)).sum() == 8  # interacting samples: both wrists valid


def test_a_ground_truth_left_in_the_world_frame_is_not_zero_error(interhand, mano):
    dataset = InterHandDataset(interhand.root)
    samples = [dataset[i] for i in range(4)]
    output = _oracle(samples)
    for side, hand in enumerate((output.right, output.left)):  # world rotations, not turned
        hand.root_pose = torch.tensor(
            np.array([s.mano[side].root_pose for s in samples]), dtype=torch.float32
        )
    scores = official_scores(
        evaluation.evaluation_batch(samples, output, mano), evaluation.evaluation_regressors(mano)
    )
    assert scores.joint_errors[scores.joint_scored].mean() > 1.0
