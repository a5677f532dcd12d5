"""The network backends give the same outputs, and the ONNX export is made once per checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repehand_ros.model import RepeHandNet, save_checkpoint
from repehand_ros.model.outputs import OUTPUT_NAMES
from repehand_ros.pipeline.reconstructor import HandReconstructor, ReconstructorConfig


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    return save_checkpoint(RepeHandNet("5m"), tmp_path_factory.mktemp("ckpt") / "repehand_5m.pth")


@pytest.mark.timeout(600)
def test_onnxruntime_matches_torch_and_reuses_its_export(
    tmp_path, mano_dir, mano_arrays, checkpoint
):
    def reconstructor(backend: str) -> HandReconstructor:
        config = ReconstructorConfig(
            mano_dir=mano_dir,
            checkpoint=checkpoint,
            backend=backend,
            device="cpu",
            cache_dir=tmp_path,
        )
        return HandReconstructor(config)

    crops = np.random.default_rng(0).random((2, 3, 224, 224), dtype=np.float32)
    with reconstructor("torch") as eager, reconstructor("onnxruntime") as exported:
        assert exported.backend_name == "repehand-5m/onnxruntime-cpu"
        assert eager.backend_name == "repehand-5m/torch-cpu"
        want, got = eager.backend(crops).to_named(), exported.backend(crops).to_named()
    for name in OUTPUT_NAMES:
        np.testing.assert_allclose(got[name], want[name], atol=1e-3, err_msg=name)

    (export,) = tmp_path.glob("repehand-5m-*.onnx")
    written = export.stat().st_mtime_ns
    with reconstructor("onnxruntime"):
        pass
    assert list(tmp_path.glob("*.onnx")) == [export]
    assert export.stat().st_mtime_ns == written, "an unchanged checkpoint was exported again"
