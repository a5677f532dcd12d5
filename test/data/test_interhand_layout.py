"""Where InterHand2.6M's files are, in both releases' layouts, and one clear message naming
what is missing when they are not there."""

from __future__ import annotations

import shutil

import pytest
from fixtures.interhand import write_interhand_fixture

from repehand_ros.data.interhand import InterHandDataset
from repehand_ros.data.interhand_layout import InterHandLayoutError, locate_files


@pytest.fixture
def fresh(tmp_path):
    """A fixture dataset of its own, for tests that damage it."""
    return write_interhand_fixture(tmp_path / "InterHand2.6M", captures=(0,), cameras=("400262",))


def test_v0_layout_with_one_folder_per_annotation_subset(tmp_path):
    written = write_interhand_fixture(tmp_path / "ih", captures=(0,), layout="v0")
    assert written.annotation_dir.name == "all"
    assert len(InterHandDataset(tmp_path / "ih", "test")) == len(written.frames)
    assert locate_files(tmp_path / "ih", "test", "all").data.parent.name == "all"


def test_root_without_annotations_folder(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(
        InterHandLayoutError, match=r"no annotations/ folder.*expected .*_\{data,camera"
    ):
        locate_files(tmp_path, "test")


def test_passing_the_annotations_folder_gets_a_hint(fresh):
    with pytest.raises(InterHandLayoutError, match="pass the folder that holds annotations/"):
        locate_files(fresh.root / "annotations", "test")


def test_dataset_one_level_down_gets_a_hint(fresh):
    with pytest.raises(InterHandLayoutError, match="one level down"):
        locate_files(fresh.root.parent, "test")


def test_missing_split_folder(fresh):
    with pytest.raises(InterHandLayoutError, match=r"no annotations for split 'val'.*test"):
        locate_files(fresh.root, "val")


def test_missing_mano_file_is_named(fresh):
    (fresh.annotation_dir / "InterHand2.6M_test_MANO_NeuralAnnot.json").unlink()
    with pytest.raises(InterHandLayoutError, match=r"lacks InterHand2.6M_test_MANO_NeuralAnnot"):
        locate_files(fresh.root, "test")


def test_missing_images_folder(fresh):
    shutil.rmtree(fresh.root / "images")
    with pytest.raises(InterHandLayoutError, match=r"image folder not found: .*images/test"):
        locate_files(fresh.root, "test")
