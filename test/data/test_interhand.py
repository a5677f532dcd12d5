"""Reading InterHand2.6M as released, on a tiny dataset written in its layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures.interhand import FOCAL, IMAGE_SIZE, PRINCIPAL_POINT, write_interhand_fixture

from repehand_ros.data.interhand import InterHandDataset
from repehand_ros.data.interhand_layout import InterHandLayoutError


@pytest.fixture(scope="module")
def interhand(tmp_path_factory):
    return write_interhand_fixture(tmp_path_factory.mktemp("interhand") / "InterHand2.6M")


@pytest.fixture
def fresh(tmp_path):
    """A fixture dataset of its own, for tests that damage it."""
    return write_interhand_fixture(tmp_path / "InterHand2.6M", captures=(0,), cameras=("400262",))


def test_reads_every_annotation_with_joints_in_repehand_order(interhand):
    dataset = InterHandDataset(interhand.root, "test")
    assert len(dataset) == len(interhand.frames) == 16
    for written in interhand.frames:
        sample = dataset[written.annotation_id]
        assert sample.hand_type == written.hand_type
        assert sample.hand_type_valid == written.hand_type_valid
        assert (sample.capture, sample.frame) == (written.capture, written.frame)
        assert sample.camera_name == written.camera
        assert sample.image_path == interhand.root / "images" / "test" / written.file_name
        np.testing.assert_allclose(sample.joints_world, written.joints_world, atol=1e-9)
        np.testing.assert_allclose(sample.joints_camera, written.joints_camera, atol=1e-9)
        np.testing.assert_array_equal(sample.joint_valid, written.joint_valid)
        np.testing.assert_allclose(sample.camera.focal, FOCAL)
        np.testing.assert_allclose(sample.camera.principal_point, PRINCIPAL_POINT)
        for side, hand in enumerate(("right", "left")):
            fit, expected = sample.mano[side], written.mano[hand]
            if expected is None:
                assert fit is None
                assert not dataset.has_mano(written.annotation_id, hand)
            else:
                np.testing.assert_allclose(fit.root_pose, expected["pose"][:3])
                np.testing.assert_allclose(fit.hand_pose, expected["pose"][3:])
                np.testing.assert_allclose(fit.shape, expected["shape"])
                np.testing.assert_allclose(fit.translation, expected["trans"])


def test_wrist_of_the_reader_is_the_last_interhand_joint(interhand):
    sample = InterHandDataset(interhand.root)[0]
    raw = json.loads((interhand.annotation_dir / "InterHand2.6M_test_joint_3d.json").read_text())[
        str(sample.capture)
    ][str(sample.frame)]["world_coord"]
    np.testing.assert_allclose(sample.joints_world[0, 0], raw[20])  # right wrist
    np.testing.assert_allclose(sample.joints_world[1, 0], raw[41])  # left wrist
    np.testing.assert_allclose(sample.joints_world[0, 4], raw[0])  # right thumb tip
    np.testing.assert_allclose(sample.joints_world[1, 9], raw[32])  # left middle_1


def test_hand_boxes_hold_the_projected_valid_joints(interhand):
    dataset = InterHandDataset(interhand.root)
    for written in interhand.frames:
        sample = dataset[written.annotation_id]
        boxes = sample.hand_boxes()
        assert set(boxes) == set(sample.hands)
        for hand, box in boxes.items():
            side = ("right", "left").index(hand)
            pixels = sample.camera.project(written.joints_camera[side][written.joint_valid[side]])
            assert pixels[:, 0].min() == pytest.approx(box.x_min)
            assert pixels[:, 1].max() == pytest.approx(box.y_max)


def test_image_loads_as_rgb_with_the_right_hand_dots_red(interhand):
    sample = InterHandDataset(interhand.root)[2]  # a right-hand-only frame
    assert sample.hand_type == "right"
    image = sample.load_image()
    assert image.shape == (IMAGE_SIZE[1], IMAGE_SIZE[0], 3) and image.dtype == np.uint8
    u, v = np.round(sample.camera.project(sample.joints_camera[0, 0])).astype(int)
    red, green, blue = image[v, u].astype(int)
    assert red > 150 and blue < 100 and green < 100


def test_wrist_invalid_makes_the_whole_hand_invalid(fresh):
    path = fresh.annotation_dir / "InterHand2.6M_test_data.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["joint_valid"][20] = [0]  # right wrist
    path.write_text(json.dumps(data))
    sample = InterHandDataset(fresh.root)[0]
    assert not sample.joint_valid[0].any()
    assert sample.joint_valid[1].all()


# --- wrong files: one clear message naming what is wrong ---


def test_missing_root(tmp_path):
    with pytest.raises(InterHandLayoutError, match=r"InterHand2\.6M folder not found"):
        InterHandDataset(tmp_path / "nowhere")


def test_missing_image_file(fresh):
    (fresh.root / "images" / "test" / fresh.frames[0].file_name).unlink()
    dataset = InterHandDataset(fresh.root)
    with pytest.raises(InterHandLayoutError, match=r"image not found: .*Capture0/.*image1000\.jpg"):
        dataset.check_first_image()
    with pytest.raises(InterHandLayoutError, match="image not found"):
        dataset[0].load_image()


def test_unreadable_image_file(fresh):
    (fresh.root / "images" / "test" / fresh.frames[0].file_name).write_bytes(b"not a jpeg")
    with pytest.raises(InterHandLayoutError, match="not a readable image"):
        InterHandDataset(fresh.root)[0].load_image()


def test_truncated_json(fresh):
    path = fresh.annotation_dir / "InterHand2.6M_test_camera.json"
    path.write_text(path.read_text()[:50])
    with pytest.raises(InterHandLayoutError, match=r"_camera.json is not readable JSON"):
        InterHandDataset(fresh.root)


def test_data_file_that_is_not_coco_style(fresh):
    path = fresh.annotation_dir / "InterHand2.6M_test_data.json"
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(InterHandLayoutError, match=r"no 'annotations' list"):
        InterHandDataset(fresh.root)


def test_annotation_lacking_fields_is_named(fresh):
    path = fresh.annotation_dir / "InterHand2.6M_test_data.json"
    data = json.loads(path.read_text())
    del data["annotations"][0]["hand_type"]
    path.write_text(json.dumps(data))
    with pytest.raises(InterHandLayoutError, match=r"lacks hand_type"):
        InterHandDataset(fresh.root)


def test_camera_missing_for_a_sample(fresh):
    path = fresh.annotation_dir / "InterHand2.6M_test_camera.json"
    cameras = json.loads(path.read_text())
    del cameras["0"]["focal"]["400262"]
    path.write_text(json.dumps(cameras))
    with pytest.raises(InterHandLayoutError, match=r"no 'focal' for camera 400262"):
        InterHandDataset(fresh.root)[0]
