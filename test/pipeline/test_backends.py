"""The network backends give the same outputs, and the ONNX export is made once per checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repehand_ros.model import RepeHandNet, save_checkpoint
from repehand_ros.model.outputs import OUTPUT_NAMES
from repehand_ros.pipeline.config import ReconstructorConfig
from repehand_ros.pipeline.reconstructor import HandReconstructor


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    return save_checkpoint(RepeHandNet("5m"), tmp_path_factory.mktemp("ckpt") / "repehand_5m.pth")


def cpu_reconstructor(backend: str, checkpoint, mano_dir, cache_dir) -> HandReconstructor:
    config = ReconstructorConfig(
        mano_dir=mano_dir,
        checkpoint=checkpoint,
        backend=backend,
        device="cpu",
        cache_dir=cache_dir,
        min_confidence=0.0,
    )
    return HandReconstructor(config)


@pytest.mark.timeout(600)
def test_onnxruntime_matches_torch_and_reuses_its_export(
    tmp_path, mano_dir, mano_arrays, checkpoint
):
    def reconstructor(backend: str) -> HandReconstructor:
        return cpu_reconstructor(backend, checkpoint, mano_dir, tmp_path)

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


@pytest.mark.timeout(600)
def test_a_256_pixel_snapshot_runs_end_to_end_on_torch_and_onnxruntime(tmp_path, mano_dir):
    """An official-layout snapshot at 256: both backends take 256-pixel crops and an 8-cell
    heatmap from the file, agree, and give hands from real footage."""
    from detection.footage import right04_rgb
    from fixtures.checkpoints import write_plumbing_checkpoint

    checkpoint = write_plumbing_checkpoint(tmp_path / "plumbing_256.pth", input_size=256)
    image = right04_rgb()
    results = {}
    for backend in ("torch", "onnxruntime"):
        with cpu_reconstructor(backend, checkpoint, mano_dir, tmp_path) as reconstructor:
            assert reconstructor.input_size == 256
            assert (reconstructor.backend.input_size, reconstructor.backend.heatmap_size) == (
                256,
                8,
            )
            results[backend] = reconstructor.reconstruct(image, None, 0.0)
    assert len(list(tmp_path.glob("repehand-5m-256-*.onnx"))) == 1
    torch_left, onnx_left = results["torch"].left, results["onnxruntime"].left
    assert torch_left.valid and onnx_left.valid, (torch_left.reason, onnx_left.reason)
    np.testing.assert_allclose(onnx_left.joints, torch_left.joints, atol=1e-3)
    assert results["onnxruntime"].backend == "repehand-5m/onnxruntime-cpu"


def test_a_variant_or_size_that_disagrees_with_the_checkpoint_is_refused(checkpoint, mano_dir):
    from repehand_ros.model.checkpoint import CheckpointError

    for wrong in ({"variant": "21m"}, {"input_size": 256}):
        config = ReconstructorConfig(
            mano_dir=mano_dir, checkpoint=checkpoint, device="cpu", **wrong
        )
        with pytest.raises(CheckpointError, match="holds RepeHand 5m at 224 px"):
            HandReconstructor(config)
