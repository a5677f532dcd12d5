from __future__ import annotations

import argparse

import numpy as np
import onnxruntime as ort
import pytest
import torch
from fixtures.checkpoints import (
    make_official_state,
    official_keys_path,
    read_official_keys,
    write_official_snapshot,
)

from repehand_ros.model.checkpoint import load_model
from repehand_ros.tools import export
from repehand_ros.tools.command import CommandError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="repehand")
    export.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["export", *argv])


def test_every_option_has_help():
    parser = argparse.ArgumentParser(prog="repehand")
    subparsers = parser.add_subparsers(dest="command")
    export.register(subparsers)
    for action in subparsers.choices["export"]._actions:
        assert action.help, action.dest


def test_export_from_a_checkpoint_runs_in_onnx_runtime(tmp_path):
    keys_path = official_keys_path()
    if not keys_path.is_file():
        pytest.skip(f"official key list not found at {keys_path}")
    snapshot = write_official_snapshot(
        tmp_path / "snapshot.pth", make_official_state(read_official_keys(keys_path), seed=5)
    )
    out = tmp_path / "repehand.onnx"
    args = _parse(["--onnx", str(out), "--checkpoint", str(snapshot)])
    assert args.func(args) == 0
    images = torch.rand(1, 3, 224, 224)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (shape,) = session.run(["right_shape"], {"images": images.numpy()})
    with torch.inference_mode():
        expected = load_model(snapshot)(images).right.shape.numpy()
    np.testing.assert_allclose(shape, expected, atol=1e-3)


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "repehand.onnx"
    out.write_bytes(b"keep me")
    args = _parse(["--onnx", str(out)])
    with pytest.raises(CommandError, match=r"already exists.*--force"):
        args.func(args)
    assert out.read_bytes() == b"keep me"


def test_bad_checkpoint_is_a_user_error(tmp_path):
    args = _parse(["--onnx", str(tmp_path / "x.onnx"), "--checkpoint", str(tmp_path / "no.pth")])
    with pytest.raises(CommandError, match="checkpoint file not found"):
        args.func(args)


def test_unknown_variant_is_rejected_by_the_parser():
    with pytest.raises(SystemExit):
        _parse(["--onnx", "x.onnx", "--variant", "7m"])


def test_an_export_that_disagrees_with_pytorch_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    from repehand_ros.model import onnx_export

    real = onnx_export._reference_outputs

    def shifted(network, images):
        outputs = real(network, images)
        outputs["right_cam"] = outputs["right_cam"] + 1.0
        return outputs

    monkeypatch.setattr(onnx_export, "_reference_outputs", shifted)
    out = tmp_path / "repehand.onnx"
    args = _parse(["--onnx", str(out)])
    with pytest.raises(CommandError, match="right_cam differs by 1"):
        args.func(args)
    assert list(tmp_path.iterdir()) == []


def test_tensorrt_without_tensorrt_says_what_is_needed(tmp_path):
    pytest.importorskip("onnxruntime")
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("tensorrt is installed here: the engine path is checked on the device")
    args = _parse(["--onnx", str(tmp_path / "r.onnx"), "--tensorrt", str(tmp_path / "r.engine")])
    with pytest.raises(CommandError, match="TensorRT engines need the tensorrt Python package"):
        args.func(args)
    assert (tmp_path / "r.onnx").is_file() and not (tmp_path / "r.engine").exists()
