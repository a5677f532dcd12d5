"""`repehand eval` end to end on the fixture dataset with random weights: plumbing, outputs,
errors. (The scoring rules' known answers are in test/data/test_protocols.py.)"""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import pytest
import torch
from fixtures.interhand import write_interhand_fixture

from repehand_ros.data import evaluation
from repehand_ros.data.report import results_document, write_outputs
from repehand_ros.data.scores import SampleScores
from repehand_ros.io.files import PARTIAL_MARK
from repehand_ros.model import RepeHandNet, save_checkpoint
from repehand_ros.tools import cli
from repehand_ros.tools import eval as eval_tool

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRICS = ("mpjpe_mm", "mpvpe_mm", "f5_percent", "f15_percent", "pa_mpjpe_mm", "pa_mpvpe_mm")


@pytest.fixture(scope="module")
def interhand(tmp_path_factory):
    return write_interhand_fixture(tmp_path_factory.mktemp("interhand") / "InterHand2.6M")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(RepeHandNet("5m"), tmp_path_factory.mktemp("ckpt") / "random.pth")


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


def test_every_option_has_help():
    parser = argparse.ArgumentParser(prog="repehand")
    subparsers = parser.add_subparsers(dest="command")
    eval_tool.register(subparsers)
    for action in subparsers.choices["eval"]._actions:
        assert action.help, action.dest


def test_official_protocol_by_default_writes_results_plots_and_table(
    interhand, checkpoint, mano_dir, tmp_path, repehand, capsys
):
    out = tmp_path / "out"
    assert repehand(_eval_argv(interhand, checkpoint, mano_dir, out, "--batch-size", "6")) == 0
    printed = capsys.readouterr().out
    # every annotation: hand_type_valid 0 and a hand without a MANO fit included
    assert "16 samples (8 single-hand, 8 interacting)" in printed
    assert "protocol official:" in printed
    for row in ("MPJPE (mm)", "MPVPE (mm)", "F@5 (%)", "F@15 (%)", "PA-MPJPE (mm)", "PA-MPVPE"):
        assert row in printed
    assert "MRRPE (mm, InterWild convention):" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "pck_curve.png",
        "per_joint_errors.png",
        "results.json",
    ]
    for name in ("pck_curve.png", "per_joint_errors.png"):
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE)
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"] == "official" and results["complete"] is True
    assert results["counts"] == {"samples": 16, "single": 8, "interacting": 8}
    assert sorted(results["metrics"]) == sorted(METRICS)
    for metric in METRICS:
        assert sorted(results["metrics"][metric]) == ["all", "interacting", "single"]
    assert results["mrrpe_interwild_convention"]["samples"] == 8
    assert len(results["per_joint_mpjpe_mm"]["joints"]) == 42
    assert results["settings"]["input_size"] == 224
    assert results["settings"]["crop"] == "RootNet boxes"
    assert results["settings"]["skipped"] == {"no_valid_joint_in_image": 0, "no_valid_3d_joint": 0}


@pytest.mark.parametrize("protocol", ["corrected", "interwild"])
def test_other_protocols_by_name(interhand, checkpoint, mano_dir, tmp_path, repehand, protocol):
    out = tmp_path / "out"
    argv = _eval_argv(interhand, checkpoint, mano_dir, out, "--protocol", protocol)
    assert repehand([*argv, "--limit", "4"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"] == protocol and results["counts"]["samples"] == 4
    assert (results["metrics"]["f5_percent"] is None) == (protocol == "interwild")


def test_crop_size_comes_from_the_checkpoint(interhand, mano_dir, tmp_path, repehand, monkeypatch):
    torch.manual_seed(0)
    checkpoint = save_checkpoint(RepeHandNet("5m", input_size=256), tmp_path / "256.pth")
    sizes = []
    real = evaluation.network_input

    def recording(image, box, size):
        sizes.append(size)
        return real(image, box, size)

    monkeypatch.setattr(evaluation, "network_input", recording)
    out = tmp_path / "out"
    assert repehand([*_eval_argv(interhand, checkpoint, mano_dir, out), "--limit", "2"]) == 0
    assert sizes == [256, 256]
    assert json.loads((out / "results.json").read_text())["settings"]["input_size"] == 256


def test_ctrl_c_keeps_what_finished_and_no_partial_files(
    interhand, checkpoint, mano_dir, tmp_path, repehand, monkeypatch
):
    real = evaluation.evaluation_batch
    calls = []

    def interrupted_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluation_batch", interrupted_on_second_batch)
    out = tmp_path / "out"
    argv = _eval_argv(interhand, checkpoint, mano_dir, out, "--batch-size", "1", "--limit", "3")
    assert repehand(argv) == 130
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is False
    assert results["counts"]["samples"] == 1
    assert results["settings"]["selected_samples"] == 3
    assert (out / "pck_curve.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not [p for p in out.iterdir() if PARTIAL_MARK in p.name]


def test_ctrl_c_while_writing_leaves_no_half_written_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from repehand_ros.data.summaries import summarize_official

    scores = SampleScores.empty()
    document = results_document(summarize_official(scores), scores, 50.0, True, {})

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(document, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# --- bad input: one line, exit status 2 ---


def _error_of(repehand, capsys, argv) -> str:
    assert repehand(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("repehand eval: error: ") and "\n" not in err
    return err


def test_missing_rootnet_file_names_where_it_was_looked_for(
    checkpoint, mano_dir, tmp_path, repehand, capsys
):
    bare = write_interhand_fixture(tmp_path / "ih", captures=(0,), rootnet=False)
    err = _error_of(repehand, capsys, _eval_argv(bare, checkpoint, mano_dir, tmp_path / "o"))
    expected = bare.root / "rootnet" / "rootnet_interhand2.6m_output_test.json"
    assert f"RootNet boxes not found: looked for {expected}" in err
    assert not (tmp_path / "o").exists()


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
    assert "holds RepeHand 5m" in err and "variant '11m'" in err


def test_missing_checkpoint(interhand, mano_dir, tmp_path, repehand, capsys):
    argv = _eval_argv(interhand, tmp_path / "none.pth", mano_dir, tmp_path / "o")
    assert "checkpoint file not found" in _error_of(repehand, capsys, argv)


def test_missing_mano_files(interhand, checkpoint, tmp_path, repehand, capsys):
    argv = _eval_argv(interhand, checkpoint, tmp_path / "no-mano", tmp_path / "o")
    assert "MANO_RIGHT.pkl not found" in _error_of(repehand, capsys, argv)
