from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from repehand_ros.model.onnx_export import INPUT_NAME, export_onnx
from repehand_ros.model.outputs import OUTPUT_NAMES, RepeHandOutput


@pytest.fixture(scope="session")
def onnx_path(network, tmp_path_factory) -> Path:
    return export_onnx(network, tmp_path_factory.mktemp("onnx") / "repehand.onnx")


@pytest.fixture(scope="session")
def session(onnx_path) -> ort.InferenceSession:
    return ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])


def test_export_leaves_the_network_in_eval_mode(onnx_path, network):
    assert not any(module.training for module in network.modules())


def test_exported_graph_has_named_io_a_dynamic_batch_and_names_its_variant(onnx_path):
    model = onnx.load(str(onnx_path))
    assert {p.key: p.value for p in model.metadata_props} == {"repehand_variant": "5m"}
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert shape == [3, 224, 224]
    assert [i.name for i in model.graph.input] == [INPUT_NAME]
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.HasField("dim_value")


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runtime_matches_pytorch(session, network, batch):
    images = torch.rand(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch))
    outputs = session.run(None, {INPUT_NAME: images.numpy()})
    onnx_result = RepeHandOutput.from_named(dict(zip(OUTPUT_NAMES, outputs, strict=True)))
    with torch.inference_mode():
        torch_result = network(images).to_named()
    for name, value in onnx_result.to_named().items():
        np.testing.assert_allclose(value, torch_result[name].numpy(), atol=1e-3, err_msg=name)


def test_training_mode_is_restored_per_module(tmp_path, monkeypatch):
    """The exporter must not leave a wrapper's mode on the network (checked without exporting)."""
    from repehand_ros.model import onnx_export
    from repehand_ros.model.network import RepeHandNet

    network = RepeHandNet("5m").eval()
    network.ihpe.train()  # a deliberately mixed state must come back unchanged
    before = [m.training for m in network.modules()]
    seen: list[bool] = []

    class _FakeProgram:
        def save(self, path, external_data):
            Path(path).write_bytes(b"")

    def fake_export(wrapper, *args, **kwargs):
        seen.extend(m.training for m in wrapper.modules())
        wrapper.train()  # what torch's exporter does when it restores a training wrapper
        return _FakeProgram()

    monkeypatch.setattr(onnx_export.torch.onnx, "export", fake_export)
    monkeypatch.setattr(onnx_export, "_add_metadata", lambda path, entries: None)
    export_onnx(network, tmp_path / "x.onnx")
    assert not any(seen)
    assert [m.training for m in network.modules()] == before
