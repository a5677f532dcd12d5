"""An exported network in ONNX Runtime: its CPU, CUDA and TensorRT providers.

With the TensorRT provider an ONNX file's engine is cached in `cache_dir` under a
key of the file's hash, the TensorRT and ONNX Runtime versions and the GPU, so a
restart loads it instead of building it again; it is checked in millimetres on
the MANO joints when it is built (`engine_check`).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from repehand_ros.io.files import write_atomically, write_bytes_atomically
from repehand_ros.model.outputs import OUTPUT_NAMES, RepeHandOutput
from repehand_ros.model.variants import (
    HEATMAP_STRIDE,
    VARIANT_METADATA_KEY,
    input_size_of_shape,
)
from repehand_ros.pipeline.backends.base import ENGINE_BATCHES, BackendError
from repehand_ros.pipeline.backends.engine_check import ENGINE_CHECK_FILE, check_engine
from repehand_ros.pipeline.backends.transfer import FlatLayout, PinnedBuffer

if TYPE_CHECKING:
    import torch

    from repehand_ros.model.network import RepeHandNet
    from repehand_ros.pipeline.config import ReconstructorConfig

logger = logging.getLogger(__name__)

ORT_PROVIDERS = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


class _DeviceBoundSession:
    """An ONNX Runtime session run with its input and outputs in PyTorch's device memory.

    Plain `session.run` copies each of the 15 outputs to the host on its own;
    here the outputs are bound to their `FlatLayout` places in one device
    buffer, which then comes back in one copy, and the crops go up in one copy
    from pinned memory. `device` is "cuda" for the GPU providers; on "cpu" the
    same bindings run (the tests check them against `session.run` there).
    """

    def __init__(self, session, input_name: str, device: torch.device) -> None:
        import torch

        self._torch = torch
        self.session = session
        self.input_name = input_name
        self.device = device
        self.layout = FlatLayout()
        self._ort_device = ("cuda" if device.type == "cuda" else "cpu", device.index or 0)
        self._pinned = device.type == "cuda"
        self._host_input = PinnedBuffer()
        self._host_output = PinnedBuffer()
        self._outputs: torch.Tensor | None = None

    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        host = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
        batch = host.shape[0]
        length = self.layout.length(batch)
        if self._pinned:
            staging = self._host_input.view(tuple(host.shape))
            staging.copy_(host)
            host = staging
        images = host.to(self.device, non_blocking=self._pinned)
        if self._outputs is None or self._outputs.numel() < length:
            self._outputs = torch.empty(length, device=self.device)
        outputs = self._outputs
        kind, index = self._ort_device
        binding = self.session.io_binding()
        binding.bind_input(
            self.input_name,
            kind,
            index,
            np.float32,
            tuple(images.shape),
            images.data_ptr(),
        )
        item = outputs.element_size()
        for name in OUTPUT_NAMES:
            start, _ = self.layout.span(name, batch)
            binding.bind_output(
                name,
                kind,
                index,
                np.float32,
                (batch, *self.layout.tails[name]),
                outputs.data_ptr() + start * item,
            )
        if self._pinned:
            # ONNX Runtime runs on a stream of its own: the upload must be done first.
            torch.cuda.current_stream(self.device).synchronize()
        self.session.run_with_iobinding(binding)
        if not self._pinned:
            return self.layout.unpack(outputs[:length].numpy(), batch)
        back = self._host_output.view((length,))
        back.copy_(outputs[:length], non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return self.layout.unpack(back.numpy(), batch)


def tensorrt_library_version() -> str | None:
    """The TensorRT version ONNX Runtime's TensorRT provider would load, or None if there is none.

    From the tensorrt Python package when installed, otherwise from the library
    itself (`getInferLibVersion`, the number TensorRT encodes its version in).
    """
    try:
        import tensorrt
    except ImportError:
        pass
    else:
        return str(tensorrt.__version__)
    for name in ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so"):
        try:
            library = ctypes.CDLL(name)
            return f"lib{int(library.getInferLibVersion())}"
        except (OSError, AttributeError):
            continue
    return None


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def tensorrt_cache_folder(
    cache_dir: Path, onnx_path: Path, fp16: bool, gpu: str, tensorrt: str | None
) -> Path:
    """The folder of ONNX Runtime's TensorRT engine for one network file on one machine.

    The engine is valid only for the same network, precision and batch
    range, the same TensorRT and ONNX Runtime versions and the same GPU
    (ONNX Runtime's documentation asks to clear the cache when any of them
    changes): all of them are in the folder's name, so a change builds a new
    engine in a new folder and never loads a stale one.
    """
    import onnxruntime

    key = "-".join(
        (
            f"repehand-{file_digest(onnx_path)[:16]}",
            "fp16" if fp16 else "fp32",
            f"b{ENGINE_BATCHES[0]}-{ENGINE_BATCHES[1]}",
            f"trt{tensorrt or '-unknown'}",
            f"ort{onnxruntime.__version__}",
            gpu,
        )
    )
    return Path(cache_dir) / "tensorrt" / _slug(key)


def require_provider(provider: str) -> None:
    """BackendError unless ONNX Runtime is installed with `provider`'s execution provider."""
    try:
        import onnxruntime
    except ImportError as error:
        raise BackendError(
            "backend 'onnxruntime' needs the onnxruntime package (pip install onnxruntime, "
            "or onnxruntime-gpu for CUDA/TensorRT)"
        ) from error
    available = onnxruntime.get_available_providers()
    wanted = ORT_PROVIDERS[provider][0]
    if wanted not in available:
        raise BackendError(
            f"ONNX Runtime provider {wanted} is not available here "
            f"(available: {', '.join(available)})"
        )


def onnx_input(onnx_path: Path) -> tuple[str, int]:
    """The input name and crop size of an exported network, read from the file (onnx)."""
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
        network_input = model.graph.input[0]
    except Exception as error:  # onnx raises protobuf's and its own errors for bad files
        raise BackendError(f"{onnx_path} is not an ONNX file: {error}") from error
    dims = network_input.type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]
    try:
        return network_input.name, input_size_of_shape(shape, str(onnx_path))
    except ValueError as error:
        raise BackendError(str(error)) from error


def onnx_op_types(onnx_path: Path) -> set[str]:
    """The operator types in an exported network's graph."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return {node.op_type for node in model.graph.node}


def profile_shapes(input_name: str, input_size: int) -> dict[str, str]:
    """ONNX Runtime's explicit TensorRT profile (min, opt, max input shapes) for ENGINE_BATCHES,
    in its "name:NxCxHxW" notation."""
    low, high = ENGINE_BATCHES
    crop = f"3x{input_size}x{input_size}"
    return {
        "trt_profile_min_shapes": f"{input_name}:{low}x{crop}",
        "trt_profile_opt_shapes": f"{input_name}:{low}x{crop}",
        "trt_profile_max_shapes": f"{input_name}:{high}x{crop}",
    }


def tensorrt_provider_options(
    device_index: int, fp16: bool, cache_folder: Path, input_name: str, input_size: int
) -> dict[str, Any]:
    """The options of ONNX Runtime's TensorRT provider (names from its documentation)."""
    return {
        "device_id": device_index,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(cache_folder),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache_folder),
        "trt_fp16_enable": fp16,
        # LayerNorm's Pow and ReduceMean in fp32: a variance of 16-bit values under- and
        # overflows. ONNX Runtime has no such switch for softmax (TensorRT chooses there).
        "trt_layer_norm_fp32_fallback": fp16,
        **profile_shapes(input_name, input_size),
    }


class OnnxRuntimeBackend:
    """An exported network in ONNX Runtime, on the CPU, CUDA or TensorRT.

    With the TensorRT provider its engine cache is on, in `cache_folder` (see
    `tensorrt_cache_folder`); fp16 keeps layer normalisation in fp32; the
    profile covers batches of ENGINE_BATCHES crops. On the GPU providers, when
    PyTorch sees the GPU, input and outputs stay in device memory and cross in
    one copy each way (`_DeviceBoundSession`).
    """

    def __init__(
        self,
        onnx_path: Path,
        provider: str = "cpu",
        threads: int = 0,
        device: torch.device | None = None,
        fp16: bool = False,
        cache_folder: Path | None = None,
    ) -> None:
        if provider not in ORT_PROVIDERS:
            raise BackendError(f"provider must be one of {sorted(ORT_PROVIDERS)}, got {provider!r}")
        if fp16 and provider != "tensorrt":
            raise BackendError(
                "fp16 in ONNX Runtime needs its TensorRT provider (backend tensorrt)"
            )
        require_provider(provider)
        import onnxruntime

        available = onnxruntime.get_available_providers()
        wanted = ORT_PROVIDERS[provider]
        on_gpu = device is not None and device.type == "cuda"
        index = (device.index or 0) if device is not None and on_gpu else 0
        options_of: dict[str, dict[str, Any]] = {"CUDAExecutionProvider": {"device_id": index}}
        if provider == "tensorrt":
            if cache_folder is None:
                raise BackendError("the TensorRT provider needs a folder for its engine cache")
            name, size = onnx_input(onnx_path)
            options_of["TensorrtExecutionProvider"] = tensorrt_provider_options(
                index, fp16, cache_folder, name, size
            )
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        providers = [(name, options_of.get(name, {})) for name in wanted if name in available]
        started = time.perf_counter()
        try:
            self.session = onnxruntime.InferenceSession(
                str(onnx_path), options, providers=providers
            )
        except Exception as error:  # ORT raises its own exception types for bad files
            raise BackendError(f"ONNX Runtime cannot load {onnx_path}: {error}") from error
        self.load_s = time.perf_counter() - started
        """Seconds the session took to make (with TensorRT: to build or load its engine)."""
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
        self.provider = provider
        self.name = f"onnxruntime-{provider}" + ("-fp16" if fp16 else "")
        self._output_names = names
        self._bound: _DeviceBoundSession | None = None
        if provider != "cpu" and on_gpu:
            assert device is not None
            self._bound = _DeviceBoundSession(self.session, self.input_name, device)

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        if self._bound is not None:
            return RepeHandOutput.from_named(self._bound(crops))
        outputs = self.session.run(None, {self.input_name: np.ascontiguousarray(crops)})
        return RepeHandOutput.from_named(dict(zip(self._output_names, outputs, strict=True)))


def cached_onnx_export(
    network, checkpoint: Path | None, cache_dir: Path, opset: int | None = None
) -> Path:
    """The network exported to ONNX once per checkpoint file (and opset), reused afterwards.

    The cache key is the checkpoint's content hash and the architecture, so a
    new checkpoint is exported again and an unchanged one is not.
    """
    from repehand_ros.model.onnx_export import DEFAULT_OPSET, export_onnx

    opset = opset or DEFAULT_OPSET
    architecture = network.architecture
    digest = hashlib.sha256(f"{architecture.describe()} {architecture.backbone.timm_name}".encode())
    if opset != DEFAULT_OPSET:
        digest.update(f"opset {opset}".encode())
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
        write_atomically(path, lambda temporary: export_onnx(network, temporary, opset=opset))
    return path


def create_onnxruntime_backend(
    config: ReconstructorConfig, device: torch.device
) -> OnnxRuntimeBackend:
    """The network of backend "onnxruntime" (on `device`'s provider) or "tensorrt" (on ONNX
    Runtime's TensorRT provider) as `config` describes it: its ONNX file, or its checkpoint
    exported once into the cache folder."""
    import torch

    from repehand_ros.model.checkpoint import load_model

    provider = "tensorrt" if config.backend == "tensorrt" else device.type
    require_provider(provider)  # before an export that would be of no use
    if provider == "cpu":
        # PyTorch now only runs MANO (tiny); its thread pool would compete with
        # ONNX Runtime's for the same cores and slow the network down.
        torch.set_num_threads(1)
    onnx_file = config.onnx_file
    network: RepeHandNet | None = None
    if onnx_file is None:
        from repehand_ros.model.onnx_export import DECOMPOSED_LAYER_NORM_OPSET

        network = load_model(config.checkpoint, config.variant, input_size=config.input_size)
        # fp16 on ONNX Runtime's TensorRT provider: layer norm written so that its fp32
        # fallback reaches it.
        opset = DECOMPOSED_LAYER_NORM_OPSET if provider == "tensorrt" and config.fp16 else None
        onnx_file = cached_onnx_export(network, config.checkpoint, config.cache_dir, opset)
    elif not onnx_file.is_file():
        raise BackendError(f"ONNX file not found: {onnx_file} (write one with repehand export)")
    if provider != "tensorrt":
        return OnnxRuntimeBackend(onnx_file, provider, device=device)
    return _onnxruntime_tensorrt(config, onnx_file, device, network)


def _onnxruntime_tensorrt(
    config: ReconstructorConfig, onnx_file: Path, device: torch.device, network
) -> OnnxRuntimeBackend:
    """ONNX Runtime's TensorRT provider with its engine cache; the engine checked when built.

    A first start builds the engine (minutes on a Jetson): its time is logged,
    it is checked against the network in fp32 on the MANO joints, and the check
    is written beside it. A later start with the same network, TensorRT and GPU
    loads it from the cache; an engine found there without a passed check is
    checked again.
    """
    from repehand_ros.model.devices import DeviceError, cuda_device_identity
    from repehand_ros.model.onnx_export import ExportCheckError

    require_provider("tensorrt")  # said before anything is read or built
    try:
        gpu = cuda_device_identity((device.index or 0) if device.type == "cuda" else 0)
    except DeviceError as error:
        raise BackendError(str(error)) from error
    tensorrt = tensorrt_library_version()
    if tensorrt is None:
        logger.warning(
            "cannot tell the TensorRT version: its engine cache will not notice a TensorRT "
            "upgrade; clear %s after one",
            config.cache_dir / "tensorrt",
        )
    if config.fp16 and "LayerNormalization" in onnx_op_types(onnx_file):
        logger.warning(
            "%s holds LayerNormalization nodes, which ONNX Runtime's TensorRT provider does not "
            "keep in fp32 in an fp16 engine (it keeps Pow + ReduceMean): export it with "
            "repehand export --opset 16 (the engine is still checked in mm when built)",
            onnx_file,
        )
    folder = tensorrt_cache_folder(config.cache_dir, onnx_file, config.fp16, gpu, tensorrt)
    folder.mkdir(parents=True, exist_ok=True)
    cached = sorted(folder.glob("*.engine"))
    backend = OnnxRuntimeBackend(
        onnx_file, "tensorrt", device=device, fp16=config.fp16, cache_folder=folder
    )
    started = time.perf_counter()
    size = backend.input_size
    for batch in ENGINE_BATCHES:  # an engine not built when the session was made is built here
        backend(np.zeros((batch, 3, size, size), np.float32))
    ready_s = backend.load_s + time.perf_counter() - started
    check_file = folder / ENGINE_CHECK_FILE
    if cached and check_file.is_file():
        logger.info("TensorRT engine loaded from %s in %.1f s", folder, ready_s)
        return backend
    logger.info(
        "TensorRT engine %s in %.1f s (cached in %s for the next start)",
        "built" if not cached else "loaded",
        ready_s,
        folder,
    )
    try:
        check = _check_onnxruntime_engine(backend, config, onnx_file, network)
    except ExportCheckError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise BackendError(f"{error}; the engine was deleted") from error
    record = {"built_s": ready_s, "gpu": gpu, "tensorrt": tensorrt, "check": check.to_dict()}
    write_bytes_atomically(check_file, json.dumps(record, indent=2).encode())
    logger.info("TensorRT engine checked: %s", check.describe())
    return backend


def _check_onnxruntime_engine(
    backend: OnnxRuntimeBackend, config: ReconstructorConfig, onnx_file: Path, network
):
    """The TensorRT provider's engine against the network in fp32 on the CPU: PyTorch when
    the network is at hand (exported in this start), else the same file in ONNX Runtime's
    CPU provider (which `repehand export` checked against PyTorch)."""
    import onnxruntime
    import torch

    from repehand_ros.mano.layer import ManoPair
    from repehand_ros.model.onnx_export import reference_outputs

    mano = ManoPair.from_dir(config.mano_dir).eval()

    def run(images: np.ndarray) -> dict[str, np.ndarray]:
        return backend(images).to_named()

    if network is not None:

        def reference(images: np.ndarray) -> dict[str, np.ndarray]:
            return reference_outputs(network, torch.from_numpy(images))

        what = "PyTorch fp32 (CPU)"
    else:
        session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]

        def reference(images: np.ndarray) -> dict[str, np.ndarray]:
            outputs = session.run(None, {backend.input_name: images})
            return dict(zip(names, outputs, strict=True))

        what = "ONNX Runtime fp32 (CPU) on the same file"
    return check_engine(
        run, reference, backend.input_size, mano, what=backend.name, reference_name=what
    )
