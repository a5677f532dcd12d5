"""`repehand eval` on a tiny dataset in InterHand2.6M's layout: known answers, outputs, errors."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from fixtures.interhand import write_interhand_fixture
from scipy.spatial.transform import Rotation

from repehand_ros.data.interhand import InterHandDataset
from repehand_ros.data.metrics import PROTOCOLS
from repehand_ros.mano.layer import ManoPair
from repehand_ros.model import RepeHandNet, save_checkpoint
from repehand_ros.tools import cli
from repehand_ros.tools import eval as eval_tool

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def interhand(tmp_path_factory):
    return write_interhand_fixture(tmp_path_factory.mktemp("interhand") / "InterHand2.6M")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(RepeHandNet("5m"), tmp_path_factory.mktemp("ckpt") / "random.pth")


@pytest.fixture(scope="module")
def mano(mano_dir):
    return ManoPair.from_dir(mano_dir).eval()


@pytest.fixture
def repehand(monkeypatch):
    """`repehand` with the eval sub-command registered, as the installed command runs it."""
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("repehand_ros.tools.eval",))
    return cli.main


def _eval_argv(interhand, checkpoint, mano_dir, out, *extra):
    return [
        "eval",
        "--data",
        str(interhand.root),
        "--checkpoint",
        str(checkpoint),
        "--mano-dir",
        str(mano_dir),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--workers",
        "1",
        *extra,
    ]


# --- known answers through the evaluation's own ground truth ---


def _wrist_world_m(arrays, fit) -> np.ndarray:
    """MANO's wrist in world metres, straight from the model arrays: the wrist joint does not
    move with the pose, so it is J_regressor[0] (v_template + shapedirs beta) + transl."""
    shaped = arrays["v_template"] + arrays["shapedirs"] @ np.asarray(fit.shape)
    return arrays["J_regressor"][0] @ shaped + fit.translation


def _oracle(samples, mano_arrays, extra_rotation=None, relative_offset_mm=(0.0, 0.0, 0.0)):
    """Predictions equal to the ground truth, seen from each sample's camera."""
    left_arrays = dict(mano_arrays["left"])
    shapedirs = left_arrays["shapedirs"].copy()
    shapedirs[:, 0, :] *= -1.0  # the fixture's left file has the known MANO bug the layer fixes
    left_arrays["shapedirs"] = shapedirs
    arrays = (mano_arrays["right"], left_arrays)
    hands, relative = [], []
    for side in range(2):
        roots, poses, shapes = [], [], []
        for sample in samples:
            fit = sample.mano[side]
            rotation = sample.camera.rotation @ Rotation.from_rotvec(fit.root_pose).as_matrix()
            if extra_rotation is not None:
                rotation = extra_rotation @ rotation
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
    for sample in samples:
        right, left = (_wrist_world_m(arrays[s], sample.mano[s]) for s in range(2))
        relative.append(
            sample.camera.rotation @ (left - right) + np.array(relative_offset_mm) / 1e3
        )
    return SimpleNamespace(
        right=hands[0],
        left=hands[1],
        relative_translation=torch.tensor(np.array(relative), dtype=torch.float32),
    )


def _interacting_samples(interhand):
    dataset = InterHandDataset(interhand.root)
    selection = eval_tool.select_samples(dataset)
    return [dataset[i] for i in selection.indices if dataset[i].is_interacting]


def test_ground_truth_as_prediction_scores_zero(interhand, mano, mano_arrays):
    samples = _interacting_samples(interhand)
    assert len(samples) == 4
    errors = eval_tool.batch_errors(samples, _oracle(samples, mano_arrays), mano)
    assert errors.hand_valid.all() and errors.interacting.all()
    for protocol in PROTOCOLS:
        np.testing.assert_allclose(errors.joint_errors[protocol], 0.0, atol=0.02)
        np.testing.assert_allclose(errors.vertex_errors[protocol], 0.0, atol=0.02)
    np.testing.assert_allclose(errors.mrrpe, 0.0, atol=0.02)


def test_known_relative_translation_offset_gives_that_mrrpe(interhand, mano, mano_arrays):
    samples = _interacting_samples(interhand)
    output = _oracle(samples, mano_arrays, relative_offset_mm=(30.0, 0.0, 40.0))
    errors = eval_tool.batch_errors(samples, output, mano)
    np.testing.assert_allclose(errors.mrrpe, 50.0, atol=0.02)
    summary = eval_tool.summarize(errors)
    assert summary["mrrpe"]["mm"] == pytest.approx(50.0, abs=0.02)


def test_rotated_prediction_is_exact_only_after_procrustes(interhand, mano, mano_arrays):
    samples = _interacting_samples(interhand)
    turn = Rotation.from_euler("y", 25.0, degrees=True).as_matrix()
    errors = eval_tool.batch_errors(samples, _oracle(samples, mano_arrays, turn), mano)
    valid = errors.joint_valid
    np.testing.assert_allclose(errors.joint_errors["procrustes"][valid], 0.0, atol=0.05)
    np.testing.assert_allclose(errors.vertex_errors["procrustes"], 0.0, atol=0.05)
    assert errors.joint_errors["interwild"][valid].mean() > 1.0
    assert errors.joint_errors["paper"][valid].mean() > 1.0


def test_sample_selection_counts_what_it_leaves_out(interhand):
    dataset = InterHandDataset(interhand.root)
    selection = eval_tool.select_samples(dataset)
    # 16 annotations: frame 3 of capture 0 has hand_type_valid = 0 (2 cameras); frame 3 of
    # capture 1 has no left MANO fit (2 cameras).
    assert len(selection.indices) == 12
    assert selection.skipped == {"hand_type_invalid": 2, "unknown_hand_type": 0, "no_mano_fit": 2}
    assert eval_tool.select_samples(dataset, limit=5).indices == selection.indices[:5]


def test_crop_is_network_input_around_the_hands(interhand):
    sample = InterHandDataset(interhand.root)[2]  # right hand only: red dots on a dark image
    crop = eval_tool.crop_for(sample)
    assert crop.shape == (3, 224, 224) and crop.dtype == np.float32
    assert crop.min() >= 0.0 and crop.max() <= 1.0
    red = (crop[0] > 0.6) & (crop[2] < 0.4)
    assert red.sum() > 50  # the hand fills the crop, so its dots are large there
    rows, cols = np.nonzero(red)
    assert 20 < rows.mean() < 204 and 20 < cols.mean() < 204


# --- the command end to end ---


def test_every_option_has_help():
    parser = argparse.ArgumentParser(prog="repehand")
    subparsers = parser.add_subparsers(dest="command")
    eval_tool.register(subparsers)
    for action in subparsers.choices["eval"]._actions:
        assert action.help, action.dest


def test_eval_writes_results_plots_and_table(
    interhand, checkpoint, mano_dir, tmp_path, repehand, capsys
):
    out = tmp_path / "out"
    argv = _eval_argv(interhand, checkpoint, mano_dir, out, "--batch-size", "12")
    assert repehand(argv) == 0
    printed = capsys.readouterr().out
    assert "12 samples (8 single-hand, 4 interacting)" in printed
    assert "MPJPE (mm)" in printed and "MPVPE (mm)" in printed
    for title in ("joint 9 aligned + scale", "wrist-relative (InterWild)", "Procrustes"):
        assert title in printed
    assert "MRRPE (mm):" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "pck_curve.png",
        "per_joint_errors.png",
        "results.json",
    ]
    for name in ("pck_curve.png", "per_joint_errors.png"):
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE)
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is True
    assert results["counts"]["samples"] == 12
    assert results["settings"]["skipped"]["hand_type_invalid"] == 2
    for protocol in PROTOCOLS:
        for metric in ("mpjpe", "mpvpe"):
            values = results["metrics"][protocol][metric]
            assert all(values[k] > 0 for k in ("single", "interacting", "all"))
        assert len(results["per_joint"][protocol]) == 21
        assert len(results["pck"][protocol]["pck"]) == len(results["pck"]["thresholds_mm"])
    assert results["mrrpe"]["samples"] == 4 and results["mrrpe"]["mm"] > 0


def test_ctrl_c_keeps_what_finished_and_no_partial_files(
    interhand, checkpoint, mano_dir, tmp_path, repehand, monkeypatch
):
    real = eval_tool.batch_errors
    calls = []

    def interrupted_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(eval_tool, "batch_errors", interrupted_on_second_batch)
    out = tmp_path / "out"
    argv = _eval_argv(interhand, checkpoint, mano_dir, out, "--batch-size", "1", "--limit", "3")
    assert repehand(argv) == 130
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is False
    assert results["counts"]["samples"] == 1
    assert results["settings"]["selected_samples"] == 3
    assert (out / "pck_curve.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_ctrl_c_while_writing_leaves_no_half_written_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    summary = eval_tool.summarize(eval_tool.BatchErrors.concatenate([]))

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        eval_tool.write_outputs(summary, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# --- bad input: one line, exit status 2 ---


def _error_of(repehand, capsys, argv) -> str:
    assert repehand(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("repehand eval: error: ") and "\n" not in err
    return err


def test_missing_dataset_folder(checkpoint, mano_dir, tmp_path, repehand, capsys):
    fake = SimpleNamespace(root=tmp_path / "missing")
    err = _error_of(repehand, capsys, _eval_argv(fake, checkpoint, mano_dir, tmp_path / "o"))
    assert "InterHand2.6M folder not found" in err


def test_dataset_in_the_wrong_layout(interhand, checkpoint, mano_dir, tmp_path, repehand, capsys):
    wrong = SimpleNamespace(root=interhand.root / "images")
    err = _error_of(repehand, capsys, _eval_argv(wrong, checkpoint, mano_dir, tmp_path / "o"))
    assert "no annotations/ folder" in err and "annotations/test/" in err
    assert not (tmp_path / "o").exists()


def test_missing_annotation_file(checkpoint, mano_dir, tmp_path, repehand, capsys):
    broken = write_interhand_fixture(tmp_path / "ih", captures=(0,), cameras=("400262",))
    (broken.annotation_dir / "InterHand2.6M_test_joint_3d.json").unlink()
    err = _error_of(repehand, capsys, _eval_argv(broken, checkpoint, mano_dir, tmp_path / "o"))
    assert "lacks InterHand2.6M_test_joint_3d.json" in err


def test_checkpoint_of_another_variant(interhand, checkpoint, mano_dir, tmp_path, repehand, capsys):
    argv = _eval_argv(interhand, checkpoint, mano_dir, tmp_path / "o", "--variant", "11m")
    err = _error_of(repehand, capsys, argv)
    assert "looks like variant '5m'" in err


def test_missing_checkpoint(interhand, mano_dir, tmp_path, repehand, capsys):
    argv = _eval_argv(interhand, tmp_path / "none.pth", mano_dir, tmp_path / "o")
    assert "checkpoint file not found" in _error_of(repehand, capsys, argv)


def test_missing_mano_files(interhand, checkpoint, tmp_path, repehand, capsys):
    argv = _eval_argv(interhand, checkpoint, tmp_path / "no-mano", tmp_path / "o")
    assert "MANO_RIGHT.pkl not found" in _error_of(repehand, capsys, argv)
