"""The one place that decides what runs: RepeHand or the keypoints, and why."""

from __future__ import annotations

import pytest

from repehand_ros.pipeline.choice import MissingModelFilesError, choose_backend, missing_files
from repehand_ros.pipeline.config import ReconstructorConfig


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "repehand_5m.pth"
    path.write_bytes(b"weights")  # only its presence is looked at here
    return path


def test_auto_runs_repehand_when_its_files_are_there(mano_dir, checkpoint):
    choice = choose_backend(
        ReconstructorConfig(backend="auto", mano_dir=mano_dir, checkpoint=checkpoint)
    )
    assert (choice.backend, choice.gives_mesh, choice.missing) == ("torch", True, ())
    assert str(checkpoint) in choice.reason


def test_auto_falls_back_to_keypoints_naming_what_is_missing(tmp_path, checkpoint):
    config = ReconstructorConfig(backend="auto", mano_dir=tmp_path / "mano", checkpoint=checkpoint)
    choice = choose_backend(config)
    assert (choice.backend, choice.gives_mesh) == ("keypoints", False)
    assert [(f.setting, f.path.name) for f in choice.missing] == [
        ("mano_dir", "MANO_RIGHT.pkl"),
        ("mano_dir", "MANO_LEFT.pkl"),
    ]
    assert "keypoint backend" in choice.reason and "no hand mesh" in choice.reason
    assert choice.applied_to(config).backend == "keypoints"


def test_auto_without_a_checkpoint_runs_random_weights_only_when_allowed(mano_dir):
    refused = choose_backend(ReconstructorConfig(backend="auto", mano_dir=mano_dir))
    assert refused.backend == "keypoints"
    assert [(f.setting, f.path) for f in refused.missing] == [("checkpoint", None)]
    allowed = ReconstructorConfig(backend="auto", mano_dir=mano_dir, allow_random_weights=True)
    assert choose_backend(allowed).backend == "torch"
    assert "random weights" in choose_backend(allowed).reason


@pytest.mark.parametrize("backend", ["torch", "onnxruntime", "tensorrt"])
def test_an_explicit_repehand_backend_without_its_files_is_an_error_naming_them(tmp_path, backend):
    config = ReconstructorConfig(
        backend=backend, mano_dir=tmp_path / "mano", checkpoint=tmp_path / "no.pth"
    )
    with pytest.raises(MissingModelFilesError) as error:
        choose_backend(config)
    message = str(error.value)
    assert f"checkpoint file not found: {tmp_path / 'no.pth'}" in message
    assert "MANO_LEFT.pkl" in message and "https://mano.is.tue.mpg.de" in message
    assert len(error.value.missing) == 3 == len(missing_files(config))


def test_keypoints_need_no_files(tmp_path):
    choice = choose_backend(ReconstructorConfig(backend="keypoints", mano_dir=tmp_path / "x"))
    assert (choice.backend, choice.gives_mesh, choice.missing) == ("keypoints", False, ())
