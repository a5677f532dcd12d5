"""Engines are checked in millimetres on the MANO joints and refused above the bound; their
check records; which GPU an engine is for; which layers an fp16 engine keeps in fp32."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from repehand_ros.mano.layer import ManoPair
from repehand_ros.model import devices
from repehand_ros.model.devices import DeviceError, cuda_device_identity
from repehand_ros.model.onnx_export import (
    ExportCheckError,
    _keep_in_fp32,
    engine_record,
    engine_record_path,
    export_onnx,
    read_engine_record,
    reference_outputs,
)
from repehand_ros.pipeline.backends import MAX_JOINT_DEVIATION_MM, check_engine, compare_on_mano


@pytest.fixture(scope="module")
def mano(mano_dir) -> ManoPair:
    return ManoPair.from_dir(mano_dir).eval()


@pytest.fixture(scope="module")
def outputs(network) -> dict[str, np.ndarray]:
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(4))
    return reference_outputs(network, images)


def test_the_same_outputs_are_zero_millimetres_apart(outputs, mano):
    check = compare_on_mano(outputs, outputs, mano, "same", "itself")
    assert check.max_joint_mm == check.mean_joint_mm == check.max_relative_translation_mm == 0.0
    assert check.passed and set(check.output_differences) == set(outputs)


def test_a_pose_change_shows_in_millimetres_and_a_large_one_is_refused(outputs, mano):
    small = {**outputs, "left_hand_pose": outputs["left_hand_pose"] + 1e-3}
    large = {**outputs, "left_hand_pose": outputs["left_hand_pose"] + 0.3}
    small_check = compare_on_mano(small, outputs, mano, "small", "fp32")
    large_check = compare_on_mano(large, outputs, mano, "large", "fp32")
    assert 0.0 < small_check.max_joint_mm < large_check.max_joint_mm
    assert small_check.passed
    assert large_check.max_joint_mm > MAX_JOINT_DEVIATION_MM and not large_check.passed
    assert large_check.output_differences["left_hand_pose"] == pytest.approx(0.3, rel=1e-5)


def test_the_two_hands_offset_counts_and_nan_never_passes(outputs, mano):
    shifted = {**outputs, "relative_translation": outputs["relative_translation"] + [0.003, 0, 0]}
    check = compare_on_mano(shifted, outputs, mano, "shifted", "fp32")
    assert check.max_joint_mm == 0.0
    assert check.max_relative_translation_mm == pytest.approx(3.0, rel=1e-4)
    assert not check.passed
    broken = {**outputs, "right_shape": np.full_like(outputs["right_shape"], np.nan)}
    assert not compare_on_mano(broken, outputs, mano, "nan", "fp32").passed


def test_an_engine_is_checked_on_both_batch_sizes_and_refused_above_the_bound(
    network, mano, tmp_path
):
    """ONNX Runtime plays the engine (a real second implementation of the network); a copy
    of it with the pose shifted is refused."""
    import onnxruntime

    path = export_onnx(network, tmp_path / "repehand.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    batches: list[int] = []

    def engine(crops):
        batches.append(len(crops))
        return dict(zip(names, session.run(None, {"images": crops}), strict=True))

    def reference(crops):
        return reference_outputs(network, torch.from_numpy(crops))

    check = check_engine(engine, reference, 224, mano, "onnxruntime-cpu", "PyTorch fp32")
    assert batches == [2, 1] and check.batches == (2, 1)
    assert check.passed and check.max_joint_mm < 0.01, check.describe()
    assert check.to_dict()["passed"] is True

    def shifted(crops):
        named = engine(crops)
        return {**named, "right_root_pose": named["right_root_pose"] + 0.2}

    with pytest.raises(ExportCheckError, match=r"onnxruntime-cpu.*mm.*above the bound, refused"):
        check_engine(shifted, reference, 224, mano, "onnxruntime-cpu", "PyTorch fp32")


def test_an_engines_record_says_what_it_was_built_for_and_that_it_passed(outputs, mano, tmp_path):
    engine = tmp_path / "repehand.engine"
    assert engine_record_path(engine) == tmp_path / "repehand.engine.json"
    assert read_engine_record(engine) is None
    check = compare_on_mano(outputs, outputs, mano, "tensorrt-fp16", "PyTorch fp32 (CPU)")
    record = engine_record(check.to_dict(), "10.3.0", "Orin sm_87", True, "5m", 123.0)
    engine_record_path(engine).write_text(json.dumps(record))
    read = read_engine_record(engine)
    assert read is not None
    assert (read["tensorrt"], read["gpu"], read["fp16"], read["variant"]) == (
        "10.3.0",
        "Orin sm_87",
        True,
        "5m",
    )
    assert read["check"]["passed"] and read["check"]["bound_mm"] == MAX_JOINT_DEVIATION_MM
    record["check"]["passed"] = False
    engine_record_path(engine).write_text(json.dumps(record))
    with pytest.raises(ExportCheckError, match="did not pass its check"):
        read_engine_record(engine)
    engine_record_path(engine).write_text("{}")
    with pytest.raises(ExportCheckError, match="not an engine's check record"):
        read_engine_record(engine)


def test_an_fp16_engine_keeps_normalisation_softmax_and_reductions_in_fp32():
    """The layer selection on a stand-in network (TensorRT is not needed to test which layers
    are chosen; the engine itself is built and checked on the GPU)."""

    class Layer:
        def __init__(self, kind, dtype):
            self.type, self.num_outputs = kind, 1
            self._output = SimpleNamespace(dtype=dtype)
            self.precision, self.output_types = None, {}

        def get_output(self, index):
            return self._output

        def set_output_type(self, index, dtype):
            self.output_types[index] = dtype

    trt = SimpleNamespace(
        LayerType=SimpleNamespace(
            NORMALIZATION="norm", SOFTMAX="softmax", REDUCE="reduce", CONVOLUTION="conv"
        ),
        float32="f32",
        float16="f16",
        int32="i32",
    )
    layers = [
        Layer("conv", "f32"),
        Layer("norm", "f32"),
        Layer("softmax", "f32"),
        Layer("reduce", "f32"),
        Layer("reduce", "i32"),  # a reduction over shapes: not a float layer, left alone
    ]
    network = SimpleNamespace(num_layers=len(layers), get_layer=layers.__getitem__)
    assert _keep_in_fp32(network, trt) == 3
    assert [layer.precision for layer in layers] == [None, "f32", "f32", "f32", None]
    assert [layer.output_types for layer in layers] == [{}, {0: "f32"}, {0: "f32"}, {0: "f32"}, {}]


def test_a_gpu_is_named_with_its_compute_capability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"NVIDIA Thor {index}")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: (11, 0))
    assert cuda_device_identity(1) == "NVIDIA Thor 1 sm_110"
    with pytest.raises(DeviceError, match="GPU 2: there are 2 CUDA devices"):
        cuda_device_identity(2)


def test_without_pytorchs_cuda_the_driver_is_asked_or_it_is_a_clear_error(monkeypatch):
    import ctypes

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        with pytest.raises(DeviceError, match="no CUDA driver here"):
            cuda_device_identity(0)
    else:
        try:
            name = devices._driver_device_identity(0)
        except DeviceError as error:  # a driver without a usable GPU
            assert "the CUDA driver's" in str(error)
        else:
            assert " sm_" in name
