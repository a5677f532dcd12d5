"""The GPU paths of the network backends: one copy each way per frame, TensorRT's engine
cache key and options, which file runs where; the tests marked `cuda` run them on a GPU.

Without a GPU the copies are counted on PyTorch's `meta` device, which runs the
torch backend's whole code path (upload, network, packing, download) on shapes
alone; only the copy out of it, which has no data to copy, is answered with zeros
by the counter (see transfer_count). Nothing here stands in for TensorRT.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch
from transfer_count import TransferCount

from repehand_ros.model import RepeHandNet
from repehand_ros.model.outputs import OUTPUT_NAMES
from repehand_ros.pipeline import backends
from repehand_ros.pipeline.backends import (
    ENGINE_BATCHES,
    BackendError,
    FlatLayout,
    OnnxRuntimeBackend,
    TorchBackend,
    create_network_backend,
    onnxruntime_backend,
    tensorrt_cache_folder,
    tensorrt_provider_options,
)
from repehand_ros.pipeline.config import ReconstructorConfig

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU PyTorch sees")


def cuda_test(function):
    """Marked `cuda` (bench/gpu_check.sh selects these) and skipped without a GPU."""
    return pytest.mark.cuda(CUDA(function))


@pytest.fixture(scope="module")
def network() -> RepeHandNet:
    torch.manual_seed(0)
    return RepeHandNet("5m").eval()


@pytest.fixture(scope="module")
def onnx_file(network, tmp_path_factory):
    from repehand_ros.model.onnx_export import export_onnx

    return export_onnx(network, tmp_path_factory.mktemp("onnx") / "repehand.onnx")


def crops(batch: int, seed: int = 0, size: int = 224) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, 3, size, size), dtype=np.float32)


def test_the_flat_layout_packs_every_output_in_one_buffer_and_back():
    layout = FlatLayout()
    generator = torch.Generator().manual_seed(0)
    for batch in ENGINE_BATCHES:
        named = {
            name: torch.randn((batch, *tail), generator=generator)
            for name, tail in layout.tails.items()
        }
        flat = layout.pack(named)
        assert flat.shape == (layout.length(batch),) and flat.dtype == torch.float32
        back = layout.unpack(flat.numpy(), batch)
        assert list(back) == list(OUTPUT_NAMES)
        for name in OUTPUT_NAMES:
            np.testing.assert_array_equal(back[name], named[name].numpy())
        spans = [layout.span(name, batch) for name in OUTPUT_NAMES]
        assert spans[0][0] == 0 and spans[-1][1] == layout.length(batch)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        # The unpacked arrays are copies: the buffer can take the next frame.
        flat.zero_()
        assert np.any(back["right_cam"] != 0)
    with pytest.raises(BackendError, match="right_cam has shape"):
        layout.pack({**named, "right_cam": torch.zeros(2, 4)})


def test_the_torch_backend_copies_once_each_way_per_frame(network):
    """Every frame's crops go to the device in one copy and all 15 outputs come back in one."""
    backend = TorchBackend(copy.deepcopy(network), "meta")
    for batch in (*ENGINE_BATCHES, 1):
        with TransferCount(meta_reads_as_zeros=True) as count:
            output = backend(crops(batch))
        assert [(c.source, c.target) for c in count.copies] == [("cpu", "meta"), ("meta", "cpu")]
        assert count.to_device[0].shape == (batch, 3, 224, 224)
        assert count.to_host[0].shape == (backend.layout.length(batch),)
        assert output.right.pose_rotmat.shape == (batch, 15, 3, 3)


def test_the_counter_sees_every_kind_of_copy():
    """The counter itself: .to, .cpu, copy_ (and under inference mode) in both directions."""
    host, device = torch.zeros(4), torch.zeros(4, device="meta")
    with TransferCount(meta_reads_as_zeros=True) as count:
        host.to("meta")
        device.cpu()
        torch.empty(4).copy_(device)
        device.copy_(host)
        with torch.inference_mode():
            host.to("meta")
            device.to("cpu")
        host.to("cpu")  # no crossing: not counted
        device.clone()
    assert (len(count.to_device), len(count.to_host)) == (3, 3)


def test_the_cpu_torch_backend_gives_the_networks_outputs_unchanged(network):
    backend = TorchBackend(copy.deepcopy(network), "cpu")
    images = crops(2, seed=3)
    with TransferCount() as count:
        got = backend(images).to_named()
    assert count.copies == []
    with torch.inference_mode():
        want = network(torch.from_numpy(images)).to_named()
    for name in OUTPUT_NAMES:
        np.testing.assert_array_equal(got[name], want[name].numpy(), err_msg=name)


def test_onnxruntime_outputs_bound_in_one_buffer_match_a_plain_run(onnx_file):
    """The bindings the GPU providers use (input and outputs at their FlatLayout places in one
    buffer), run on the CPU provider against session.run."""
    plain = OnnxRuntimeBackend(onnx_file, "cpu")
    bound = backends._DeviceBoundSession(plain.session, plain.input_name, torch.device("cpu"))
    for batch in (2, 1, 2):
        images = crops(batch, seed=batch)
        want = plain(images).to_named()
        got = bound(images)
        for name in OUTPUT_NAMES:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_the_tensorrt_cache_folder_changes_with_everything_an_engine_depends_on(tmp_path):
    network_a, network_b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    network_a.write_bytes(b"network a")
    network_b.write_bytes(b"network b")
    base = dict(cache_dir=tmp_path, onnx_path=network_a, fp16=False, gpu="Orin sm_87")
    folder = tensorrt_cache_folder(**base, tensorrt="10.3.0")
    assert folder == tensorrt_cache_folder(**base, tensorrt="10.3.0")
    assert folder.parent == tmp_path / "tensorrt"
    import onnxruntime

    assert "10.3.0" in folder.name and f"ort{onnxruntime.__version__}" in folder.name
    assert "orin-sm-87" in folder.name and "fp32" in folder.name and "b1-2" in folder.name
    others = [
        tensorrt_cache_folder(**{**base, "onnx_path": network_b}, tensorrt="10.3.0"),
        tensorrt_cache_folder(**{**base, "fp16": True}, tensorrt="10.3.0"),
        tensorrt_cache_folder(**{**base, "gpu": "NVIDIA Thor sm_110"}, tensorrt="10.3.0"),
        tensorrt_cache_folder(**base, tensorrt="10.13.3"),
        tensorrt_cache_folder(**base, tensorrt=None),
    ]
    assert len({folder, *others}) == 6
    network_a.write_bytes(b"network a, retrained")
    assert tensorrt_cache_folder(**base, tensorrt="10.3.0") != folder


def test_the_tensorrt_provider_caches_its_engine_and_keeps_layer_norm_in_fp32(tmp_path):
    fp32 = tensorrt_provider_options(0, False, tmp_path, "images", 256)
    fp16 = tensorrt_provider_options(1, True, tmp_path, "images", 256)
    assert fp32["trt_engine_cache_enable"] and fp32["trt_engine_cache_path"] == str(tmp_path)
    assert fp32["trt_timing_cache_enable"] and fp32["trt_timing_cache_path"] == str(tmp_path)
    assert not fp32["trt_fp16_enable"] and not fp32["trt_layer_norm_fp32_fallback"]
    assert fp16["trt_fp16_enable"] and fp16["trt_layer_norm_fp32_fallback"]
    assert fp16["device_id"] == 1
    assert fp16["trt_profile_min_shapes"] == "images:1x3x256x256"
    assert fp16["trt_profile_opt_shapes"] == "images:1x3x256x256"
    assert fp16["trt_profile_max_shapes"] == "images:2x3x256x256"


def test_which_file_runs_where_and_which_options_fit_which_backend(tmp_path, mano_dir):
    engine = tmp_path / "repehand.engine"
    engine.write_bytes(b"not checked")
    base = ReconstructorConfig(mano_dir=mano_dir, device="cpu", allow_random_weights=True)
    cases = [
        (dict(backend="onnxruntime", onnx_file=engine), "is a TensorRT engine: it runs with"),
        (dict(backend="torch", cuda_graphs=True), "cuda_graphs needs device 'cuda'"),
        (dict(backend="onnxruntime", torch_compile=True), "apply to the torch backend"),
        (dict(backend="onnxruntime", fp16=True), "fp16 applies to the torch and tensorrt"),
    ]
    for change, message in cases:
        with pytest.raises(BackendError, match=message):
            create_network_backend(dataclasses.replace(base, **change))


def test_an_engine_needs_tensorrt_and_a_gpu(tmp_path, mano_dir):
    engine = tmp_path / "repehand.plan"
    engine.write_bytes(b"not an engine")
    config = ReconstructorConfig(
        mano_dir=mano_dir, device="cpu", backend="tensorrt", onnx_file=engine
    )
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(BackendError, match="python3-libnvinfer"):
            create_network_backend(config)
    else:
        with pytest.raises(BackendError, match="runs on a CUDA GPU"):
            create_network_backend(config)


@cuda_test
@pytest.mark.parametrize(
    "options",
    [{}, {"fp16": True}, {"cuda_graphs": True}, {"fp16": True, "cuda_graphs": True}],
    ids=["fp32", "fp16", "graphs", "fp16-graphs"],
)
def test_on_cuda_each_frame_crosses_once_each_way_and_stays_near_fp32(network, mano_dir, options):
    from repehand_ros.mano.layer import ManoPair
    from repehand_ros.pipeline.backends import MAX_JOINT_DEVIATION_MM, compare_on_mano

    backend = TorchBackend(copy.deepcopy(network), "cuda", **options)
    mano = ManoPair.from_dir(mano_dir).eval()
    for batch in (*ENGINE_BATCHES, 1):
        images = crops(batch, seed=batch)
        with TransferCount() as count:
            got = backend(images).to_named()
        assert [(c.source, c.target) for c in count.copies] == [("cpu", "cuda"), ("cuda", "cpu")]
        with torch.inference_mode():
            want = {k: v.numpy() for k, v in network(torch.from_numpy(images)).to_named().items()}
        check = compare_on_mano(got, want, mano, backend.name, "PyTorch fp32 (CPU)")
        assert check.passed, check.describe()
        assert check.max_joint_mm <= MAX_JOINT_DEVIATION_MM


@cuda_test
def test_cuda_graphs_replay_what_the_eager_network_computes(network):
    eager = TorchBackend(copy.deepcopy(network), "cuda")
    graphed = TorchBackend(copy.deepcopy(network), "cuda", cuda_graphs=True)
    for batch in (2, 1, 2):
        images = crops(batch, seed=10 + batch)
        want, got = eager(images).to_named(), graphed(images).to_named()
        for name in OUTPUT_NAMES:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, err_msg=name)


@cuda_test
def test_onnxruntime_cuda_crosses_once_each_way(onnx_file):
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        pytest.skip("ONNX Runtime here has no CUDA provider (onnxruntime-gpu)")
    plain = OnnxRuntimeBackend(onnx_file, "cpu")
    gpu = OnnxRuntimeBackend(onnx_file, "cuda", device=torch.device("cuda", 0))
    for batch in ENGINE_BATCHES:
        images = crops(batch, seed=batch)
        with TransferCount() as count:
            got = gpu(images).to_named()
        assert (len(count.to_device), len(count.to_host)) == (1, 1)
        want = plain(images).to_named()
        for name in OUTPUT_NAMES:
            np.testing.assert_allclose(got[name], want[name], atol=1e-3, err_msg=name)


@cuda_test
def test_the_tensorrt_provider_builds_checks_and_caches_its_engine(tmp_path, mano_dir, network):
    import onnxruntime

    if "TensorrtExecutionProvider" not in onnxruntime.get_available_providers():
        pytest.skip("ONNX Runtime here has no TensorRT provider")
    onnx_file = backends.cached_onnx_export(network, None, tmp_path / "onnx", 16)
    config = ReconstructorConfig(
        mano_dir=mano_dir, backend="tensorrt", onnx_file=onnx_file, cache_dir=tmp_path, fp16=True
    )
    first = create_network_backend(config)
    (folder,) = (tmp_path / "tensorrt").iterdir()
    assert list(folder.glob("*.engine")) and (folder / backends.ENGINE_CHECK_FILE).is_file()
    engines = {path: path.stat().st_mtime_ns for path in folder.glob("*.engine")}
    second = create_network_backend(config)
    assert {path: path.stat().st_mtime_ns for path in folder.glob("*.engine")} == engines
    images = crops(2)
    for name, value in second(images).to_named().items():
        np.testing.assert_array_equal(value, first(images).to_named()[name])


def test_for_an_fp16_tensorrt_provider_layer_norm_is_exported_as_pow_and_reduce_mean(
    network, tmp_path
):
    """ONNX Runtime keeps Pow + ReduceMean in fp32 in fp16 engines, not LayerNormalization."""
    from repehand_ros.model.onnx_export import DECOMPOSED_LAYER_NORM_OPSET

    default = backends.cached_onnx_export(network, None, tmp_path)
    decomposed = backends.cached_onnx_export(network, None, tmp_path, DECOMPOSED_LAYER_NORM_OPSET)
    assert default != decomposed and decomposed.parent == tmp_path
    assert "LayerNormalization" in backends.onnx_op_types(default)
    assert "LayerNormalization" not in backends.onnx_op_types(decomposed)
    assert {"Pow", "ReduceMean"} <= backends.onnx_op_types(decomposed)
    assert backends.cached_onnx_export(network, None, tmp_path, 16) == decomposed
    images = crops(2, seed=5)
    want = OnnxRuntimeBackend(default, "cpu")(images).to_named()
    got = OnnxRuntimeBackend(decomposed, "cpu")(images).to_named()
    for name in OUTPUT_NAMES:
        np.testing.assert_allclose(got[name], want[name], atol=1e-4, err_msg=name)


def test_a_missing_provider_is_said_before_anything_is_exported(tmp_path, mano_dir, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    config = ReconstructorConfig(
        mano_dir=mano_dir,
        backend="tensorrt",
        fp16=True,
        allow_random_weights=True,
        cache_dir=tmp_path,
    )
    with pytest.raises(BackendError, match="TensorrtExecutionProvider is not available"):
        create_network_backend(config)
    assert list(tmp_path.iterdir()) == []


def test_the_tensorrt_provider_engine_is_checked_once_and_a_failed_one_deleted(
    tmp_path, mano_dir, network, monkeypatch
):
    """The orchestration around ONNX Runtime's TensorRT provider (cache folder, first build,
    check, record, reuse, deletion) with the provider played by the CPU one, which writes a
    stand-in engine file where TensorRT's cache would be. What is tested is our bookkeeping;
    TensorRT itself runs only in the test marked cuda above."""
    from repehand_ros.model import devices

    real = backends.OnnxRuntimeBackend
    built: list[str] = []

    def cpu_provider(onnx_path, provider="cpu", threads=0, device=None, fp16=False, **kwargs):
        folder = kwargs["cache_folder"]
        if not list(folder.glob("*.engine")):
            (folder / "TensorrtExecutionProvider_stand_in.engine").write_bytes(b"engine")
            built.append(folder.name)
        return real(onnx_path, "cpu")

    monkeypatch.setattr(onnxruntime_backend, "OnnxRuntimeBackend", cpu_provider)
    monkeypatch.setattr(onnxruntime_backend, "require_provider", lambda provider: None)
    monkeypatch.setattr(devices, "cuda_device_identity", lambda index=0: "Stand-in GPU sm_87")
    monkeypatch.setattr(onnxruntime_backend, "tensorrt_library_version", lambda: "10.3.0")
    onnx_file = backends.cached_onnx_export(network, None, tmp_path / "onnx", 16)
    config = ReconstructorConfig(
        mano_dir=mano_dir, backend="tensorrt", onnx_file=onnx_file, cache_dir=tmp_path, fp16=True
    )
    create_network_backend(config)
    (folder,) = (tmp_path / "tensorrt").iterdir()
    assert "10.3.0" in folder.name and "stand-in-gpu-sm-87" in folder.name
    record = json.loads((folder / backends.ENGINE_CHECK_FILE).read_text())
    assert record["check"]["passed"] and record["gpu"] == "Stand-in GPU sm_87"
    assert record["check"]["reference"] == "ONNX Runtime fp32 (CPU) on the same file"
    create_network_backend(config)  # loaded from the cache: no build, no second check
    assert built == [folder.name]

    from repehand_ros.model.onnx_export import ExportCheckError

    def failing(*args, **kwargs):
        raise ExportCheckError("3.1 mm from PyTorch: above the bound, refused")

    monkeypatch.setattr(onnxruntime_backend, "check_engine", failing)
    (folder / backends.ENGINE_CHECK_FILE).unlink()  # as if the last start died mid-check
    with pytest.raises(BackendError, match="above the bound, refused; the engine was deleted"):
        create_network_backend(config)
    assert not folder.exists()
