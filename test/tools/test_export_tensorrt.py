"""`repehand export --tensorrt`: the engine's name, and on a GPU with TensorRT the whole way
from export to the node's backend (tests marked `cuda`)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from repehand_ros.tools import export
from repehand_ros.tools.command import CommandError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="repehand")
    export.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["export", *argv])


def test_an_engine_is_named_so_the_backend_knows_it_for_one(tmp_path):
    args = _parse(["--onnx", str(tmp_path / "r.onnx"), "--tensorrt", str(tmp_path / "r.onnx2")])
    with pytest.raises(CommandError, match=r"name the engine with one of \.engine, \.plan"):
        args.func(args)
    assert list(tmp_path.iterdir()) == []


def _tensorrt_or_skip():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU PyTorch sees")
    pytest.importorskip("tensorrt", reason="needs the tensorrt Python package")


@pytest.mark.cuda
@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_an_exported_engine_is_checked_recorded_and_runs_in_the_reconstructor(
    tmp_path, mano_dir, fp16
):
    _tensorrt_or_skip()
    from repehand_ros import HandReconstructor, ReconstructorConfig
    from repehand_ros.geometry.camera import PinholeCamera

    engine = tmp_path / "repehand.engine"
    argv = ["--onnx", str(tmp_path / "r.onnx"), "--tensorrt", str(engine)]
    argv += ["--mano-dir", str(mano_dir)] + (["--fp16"] if fp16 else [])
    args = _parse(argv)
    assert args.func(args) == 0
    record = json.loads((tmp_path / "repehand.engine.json").read_text())
    assert record["check"]["passed"] and record["fp16"] is fp16
    assert record["check"]["max_joint_mm"] <= record["check"]["bound_mm"]
    config = ReconstructorConfig(
        mano_dir=mano_dir, backend="tensorrt", onnx_file=engine, fp16=fp16, min_confidence=0.0
    )
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    with HandReconstructor(config) as reconstructor:
        assert reconstructor.backend_name.endswith("tensorrt" + ("-fp16" if fp16 else ""))
        result = reconstructor.reconstruct(image, PinholeCamera.default(640, 480), 0.0)
    assert result.times.network_ms > 0
    wrong = ReconstructorConfig(
        mano_dir=mano_dir, backend="tensorrt", onnx_file=engine, fp16=not fp16
    )
    from repehand_ros.pipeline.backends import BackendError

    with pytest.raises(BackendError, match="precision is chosen when it is built"):
        HandReconstructor(wrong)
