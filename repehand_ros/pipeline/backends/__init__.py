"""Where the network runs: PyTorch (CPU, CUDA, fp16 on CUDA), ONNX Runtime, or TensorRT.

A backend takes a batch of crops (N, 3, S, S) float32 RGB in [0, 1] as a
numpy array and returns the network's outputs as numpy arrays in a
`RepeHandOutput`, so every later stage is the same whatever ran the network.
S is the network's input size (`input_size`: the checkpoint's, or the
exported file's), and its heatmap grid has S / 32 cells per axis.

Backend "tensorrt" runs the network file it is given (`onnx_file`) one of two ways:

- a serialized engine (ENGINE_SUFFIXES, written and checked by
  `repehand export --tensorrt`) with TensorRT's own Python API, no ONNX Runtime;
- an ONNX file with ONNX Runtime's TensorRT provider, whose engine is cached in
  `cache_dir` under a key of the file's hash, the TensorRT and ONNX Runtime
  versions and the GPU, so a restart loads it instead of building it again.

The modules, one job each (this one is the public API, and re-exports theirs):

- `base`: BackendError and the batch sizes an engine takes (ENGINE_BATCHES);
- `transfer`: one copy each way between host and GPU (FlatLayout, pinned buffers);
- `engine_check`: an engine against the network in fp32, in millimetres on MANO;
- `torch_backend`: the network in PyTorch (CUDA graphs, torch.compile);
- `onnxruntime_backend`: an ONNX file in ONNX Runtime, its TensorRT provider included;
- `tensorrt_engine`: a serialized engine in TensorRT.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from repehand_ros.model.outputs import RepeHandOutput
from repehand_ros.pipeline.backends.base import ENGINE_BATCHES, BackendError
from repehand_ros.pipeline.backends.engine_check import (
    ENGINE_CHECK_FILE,
    MAX_JOINT_DEVIATION_MM,
    EngineCheck,
    check_engine,
    compare_on_mano,
    mano_joints,
)
from repehand_ros.pipeline.backends.onnxruntime_backend import (
    ORT_PROVIDERS,
    OnnxRuntimeBackend,
    _DeviceBoundSession,
    cached_onnx_export,
    create_onnxruntime_backend,
    file_digest,
    onnx_input,
    onnx_op_types,
    profile_shapes,
    require_provider,
    tensorrt_cache_folder,
    tensorrt_library_version,
    tensorrt_provider_options,
)
from repehand_ros.pipeline.backends.tensorrt_engine import (
    ENGINE_SUFFIXES,
    TensorRTBackend,
    import_tensorrt,
    is_engine_file,
)
from repehand_ros.pipeline.backends.torch_backend import TorchBackend
from repehand_ros.pipeline.backends.transfer import OUTPUT_TAIL_SHAPES, FlatLayout
from repehand_ros.pipeline.config import NETWORK_BACKENDS, ReconstructorConfig

__all__ = [
    "ENGINE_BATCHES",
    "ENGINE_CHECK_FILE",
    "ENGINE_SUFFIXES",
    "MAX_JOINT_DEVIATION_MM",
    "ORT_PROVIDERS",
    "OUTPUT_TAIL_SHAPES",
    "BackendError",
    "EngineCheck",
    "FlatLayout",
    "NetworkBackend",
    "OnnxRuntimeBackend",
    "TensorRTBackend",
    "TorchBackend",
    "_DeviceBoundSession",
    "cached_onnx_export",
    "check_engine",
    "compare_on_mano",
    "create_network_backend",
    "create_onnxruntime_backend",
    "file_digest",
    "import_tensorrt",
    "is_engine_file",
    "mano_joints",
    "onnx_input",
    "onnx_op_types",
    "profile_shapes",
    "require_provider",
    "tensorrt_cache_folder",
    "tensorrt_library_version",
    "tensorrt_provider_options",
]


class NetworkBackend(Protocol):
    name: str
    """For TwoHandMesh.backend, e.g. "torch-cuda-fp16" or "onnxruntime-tensorrt"."""
    input_size: int
    """Side S of the square crops the network takes, pixels."""
    heatmap_size: int
    """Cells per axis of its heatmap grid (S / 32): 2D outputs are in these units."""
    variant_name: str
    """The network's size, e.g. "5m" ("unknown" for an exported file that does not say)."""

    def __call__(self, crops: np.ndarray) -> RepeHandOutput: ...


def create_network_backend(config: ReconstructorConfig) -> NetworkBackend:
    """The network of a RepeHand backend ("torch", "onnxruntime", "tensorrt") as `config`
    describes it: its checkpoint (random weights without one), device, precision, network
    file (ONNX, or for "tensorrt" also a serialized engine)."""
    from repehand_ros.model.checkpoint import load_model
    from repehand_ros.model.devices import DeviceError, resolve_device

    if config.backend not in NETWORK_BACKENDS:
        raise BackendError(f"backend {config.backend!r} runs no network")
    try:
        device = resolve_device(config.device)
    except DeviceError as error:
        raise BackendError(str(error)) from error
    if config.backend == "torch":
        return TorchBackend(
            load_model(config.checkpoint, config.variant, device, config.input_size),
            device,
            fp16=config.fp16,
            cuda_graphs=config.cuda_graphs,
            compile=config.torch_compile,
        )
    if config.cuda_graphs or config.torch_compile:
        raise BackendError("cuda_graphs and torch_compile apply to the torch backend")
    if config.backend == "tensorrt" and is_engine_file(config.onnx_file):
        assert config.onnx_file is not None
        if not config.onnx_file.is_file():
            raise BackendError(f"TensorRT engine not found: {config.onnx_file}")
        backend = TensorRTBackend(config.onnx_file, device)
        if config.fp16 != backend.fp16:
            built = "fp16" if backend.fp16 else "fp32"
            raise BackendError(
                f"{config.onnx_file} is an {built} engine but fp16 is {config.fp16}: an engine's "
                "precision is chosen when it is built (repehand export --tensorrt [--fp16])"
            )
        return backend
    if is_engine_file(config.onnx_file):
        raise BackendError(
            f"{config.onnx_file} is a TensorRT engine: it runs with backend tensorrt"
        )
    if config.fp16 and config.backend != "tensorrt":
        raise BackendError("fp16 applies to the torch and tensorrt backends")
    return create_onnxruntime_backend(config, device)
