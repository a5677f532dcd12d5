"""Where the network runs: PyTorch (CPU, CUDA, fp16 on CUDA) or ONNX Runtime.

A backend takes a batch of crops (N, 3, S, S) float32 RGB in [0, 1] as a
numpy array and returns the network's outputs as numpy arrays in a
`RepeHandOutput`, so every later stage is the same whatever ran the network.
S is the network's input size (`input_size`: the checkpoint's, or the
exported file's), and its heatmap grid has S / 32 cells per axis.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from repehand_ros.io.files import write_atomically
from repehand_ros.model.outputs import OUTPUT_NAMES, RepeHandOutput
from repehand_ros.model.variants import (
    HEATMAP_STRIDE,
    VARIANT_METADATA_KEY,
    input_size_of_shape,
)
from repehand_ros.pipeline.config import NETWORK_BACKENDS, ReconstructorConfig

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

ORT_PROVIDERS = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


class BackendError(RuntimeError):
    """A backend that cannot run here: not installed, no GPU, a bad model file."""


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


class TorchBackend:
    """The network in PyTorch; fp16 (autocast) only on CUDA, where it pays off."""

    def __init__(self, network, device: str | torch.device, fp16: bool = False) -> None:
        import torch

        self.device = torch.device(device)
        if fp16 and self.device.type != "cuda":
            raise BackendError("fp16 needs device 'cuda' (half precision is slower on the CPU)")
        self._torch = torch
        self.network = network.to(self.device).eval()
        self.fp16 = fp16
        self.name = f"torch-{self.device}" + ("-fp16" if fp16 else "")
        self.input_size: int = network.input_size
        self.heatmap_size: int = network.heatmap_size
        self.variant_name: str = network.variant.name

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        torch = self._torch
        images = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device)
        with torch.inference_mode(), torch.autocast("cuda", enabled=self.fp16):
            output = self.network(images, validate=False)
        return RepeHandOutput.from_named(
            {name: value.float().cpu().numpy() for name, value in output.to_named().items()}
        )


class OnnxRuntimeBackend:
    """An exported network in ONNX Runtime, on the CPU, CUDA or TensorRT."""

    def __init__(self, onnx_path: Path, provider: str = "cpu", threads: int = 0) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise BackendError(
                "backend 'onnxruntime' needs the onnxruntime package (pip install onnxruntime, "
                "or onnxruntime-gpu for CUDA/TensorRT)"
            ) from error
        if provider not in ORT_PROVIDERS:
            raise BackendError(f"provider must be one of {sorted(ORT_PROVIDERS)}, got {provider!r}")
        available = onnxruntime.get_available_providers()
        wanted = ORT_PROVIDERS[provider]
        if wanted[0] not in available:
            raise BackendError(
                f"ONNX Runtime provider {wanted[0]} is not available here "
                f"(available: {', '.join(available)})"
            )
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        try:
            self.session = onnxruntime.InferenceSession(
                str(onnx_path), options, providers=[p for p in wanted if p in available]
            )
        except Exception as error:  # ORT raises its own exception types for bad files
            raise BackendError(f"ONNX Runtime cannot load {onnx_path}: {error}") from error
        names = [output.name for output in self.session.get_outputs()]
        if sorted(names) != sorted(OUTPUT_NAMES):
            raise BackendError(
                f"{onnx_path} is not a RepeHand export: outputs {names}, expected {OUTPUT_NAMES}"
            )
        network_input = self.session.get_inputs()[0]
        self.input_name = network_input.name
        try:
            self.input_size = input_size_of_shape(network_input.shape, str(onnx_path))
        except ValueError as error:
            raise BackendError(str(error)) from error
        self.heatmap_size = self.input_size // HEATMAP_STRIDE
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.variant_name = metadata.get(VARIANT_METADATA_KEY, "unknown")
        self.name = f"onnxruntime-{provider}"

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        outputs = self.session.run(None, {self.input_name: np.ascontiguousarray(crops)})
        names = [output.name for output in self.session.get_outputs()]
        return RepeHandOutput.from_named(dict(zip(names, outputs, strict=True)))


def cached_onnx_export(network, checkpoint: Path | None, cache_dir: Path) -> Path:
    """The network exported to ONNX once per checkpoint file, reused afterwards.

    The cache key is the checkpoint's content hash and the architecture, so a
    new checkpoint is exported again and an unchanged one is not.
    """
    from repehand_ros.model.onnx_export import export_onnx

    architecture = network.architecture
    digest = hashlib.sha256(f"{architecture.describe()} {architecture.backbone.timm_name}".encode())
    if checkpoint is not None:
        with open(checkpoint, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(b"random-weights")
        for value in network.state_dict().values():
            digest.update(value.detach().cpu().numpy().tobytes())
    name = f"repehand-{network.variant.name}-{network.input_size}-{digest.hexdigest()[:16]}.onnx"
    path = Path(cache_dir) / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        logger.info("exporting the network to %s (once per checkpoint)", path)
        write_atomically(path, lambda temporary: export_onnx(network, temporary))
    return path


def create_network_backend(config: ReconstructorConfig) -> NetworkBackend:
    """The network of a RepeHand backend ("torch", "onnxruntime", "tensorrt") as `config`
    describes it: its checkpoint (random weights without one), device, precision, ONNX file."""
    import torch

    from repehand_ros.model.checkpoint import load_model
    from repehand_ros.model.devices import DeviceError, resolve_device

    if config.backend not in NETWORK_BACKENDS:
        raise BackendError(f"backend {config.backend!r} runs no network")
    try:
        device = resolve_device(config.device)
    except DeviceError as error:
        raise BackendError(str(error)) from error
    if config.backend == "torch":
        network = load_model(config.checkpoint, config.variant, device, config.input_size)
        return TorchBackend(network, device, fp16=config.fp16)
    if config.fp16:
        raise BackendError("fp16 applies to the torch backend; export for TensorRT instead")
    provider = "tensorrt" if config.backend == "tensorrt" else device.type
    if provider == "cpu":
        # PyTorch now only runs MANO (tiny); its thread pool would compete with
        # ONNX Runtime's for the same cores and slow the network down.
        torch.set_num_threads(1)
    onnx_file = config.onnx_file
    if onnx_file is None:
        network = load_model(config.checkpoint, config.variant, input_size=config.input_size)
        onnx_file = cached_onnx_export(network, config.checkpoint, config.cache_dir)
    elif not onnx_file.is_file():
        raise BackendError(f"ONNX file not found: {onnx_file} (write one with repehand export)")
    return OnnxRuntimeBackend(onnx_file, provider)
