"""A serialized TensorRT engine (`repehand export --tensorrt`), run with TensorRT's own
Python API, no ONNX Runtime."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from repehand_ros.model.outputs import OUTPUT_NAMES, RepeHandOutput
from repehand_ros.model.variants import HEATMAP_STRIDE, input_size_of_shape
from repehand_ros.pipeline.backends.base import BackendError
from repehand_ros.pipeline.backends.transfer import FlatLayout, PinnedBuffer

if TYPE_CHECKING:
    import torch

ENGINE_SUFFIXES: tuple[str, ...] = (".engine", ".plan")
"""Suffixes of a serialized TensorRT engine: such an `onnx_file` runs with TensorRT itself."""


def is_engine_file(path: Path | None) -> bool:
    """Whether `path` names a serialized TensorRT engine (by its suffix)."""
    return path is not None and path.suffix.lower() in ENGINE_SUFFIXES


def _tensorrt_logger():
    """One TensorRT logger for the process (TensorRT's advice), warnings and errors only."""
    import tensorrt as trt

    global _TRT_LOGGER
    if _TRT_LOGGER is None:
        _TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
    return _TRT_LOGGER


_TRT_LOGGER = None


def import_tensorrt():
    """The tensorrt module, or BackendError saying where to get it."""
    try:
        import tensorrt
    except ImportError as error:
        raise BackendError(
            "a TensorRT engine needs the tensorrt Python package (on a Jetson: sudo apt install "
            "python3-libnvinfer, part of JetPack; elsewhere: pip install tensorrt); an ONNX "
            "file runs with ONNX Runtime's TensorRT provider instead"
        ) from error
    return tensorrt


class TensorRTBackend:
    """A serialized TensorRT engine (`repehand export --tensorrt`), run with TensorRT's Python
    API on a CUDA GPU, with PyTorch's CUDA memory and streams.

    The engine's check record (`engine_record_path`) must be beside it and
    name this TensorRT version and this GPU: an engine that was never checked
    against PyTorch, or was built for other hardware, is refused.
    """

    def __init__(self, engine_path: Path, device: torch.device, require_record: bool = True):
        import torch

        from repehand_ros.model.devices import DeviceError, cuda_device_identity
        from repehand_ros.model.onnx_export import INPUT_NAME, ExportCheckError, read_engine_record

        trt = import_tensorrt()
        self._torch = torch
        if device.type != "cuda":
            raise BackendError(
                f"a TensorRT engine runs on a CUDA GPU, but the device is {device} (set device "
                "to cuda or auto; PyTorch must see the GPU)"
            )
        self.device = device
        try:
            gpu = cuda_device_identity(device.index or 0)
        except DeviceError as error:
            raise BackendError(str(error)) from error
        try:
            record = read_engine_record(engine_path)
        except ExportCheckError as error:
            raise BackendError(str(error)) from error
        if record is None and require_record:
            raise BackendError(
                f"{engine_path} has no check record beside it ({engine_path.name}.json): it was "
                "not built by repehand export --tensorrt, which checks an engine against "
                "PyTorch before writing it. Build it that way."
            )
        if record is not None:
            built_for = (record.get("tensorrt"), record.get("gpu"))
            if built_for != (trt.__version__, gpu):
                raise BackendError(
                    f"{engine_path} was built with TensorRT {built_for[0]} for {built_for[1]}; "
                    f"this is TensorRT {trt.__version__} on {gpu}. Engines do not move between "
                    "TensorRT versions or GPUs: build it again here with repehand export "
                    "--tensorrt."
                )
        self.record = record or {}
        with torch.cuda.device(device):
            self._runtime = trt.Runtime(_tensorrt_logger())
            self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
            if self._engine is None:
                raise BackendError(f"TensorRT cannot load {engine_path} (see its log above)")
            self._context = self._engine.create_execution_context()
        engine = self._engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if inputs != [INPUT_NAME] or sorted(outputs) != sorted(OUTPUT_NAMES):
            raise BackendError(
                f"{engine_path} is not a RepeHand engine: inputs {inputs}, outputs {outputs}"
            )
        wrong = [n for n in names if engine.get_tensor_dtype(n) != trt.float32]
        if wrong:
            raise BackendError(f"{engine_path}: {wrong} are not float32 (the export's types)")
        try:
            self.input_size = input_size_of_shape(
                tuple(engine.get_tensor_shape(INPUT_NAME)), str(engine_path)
            )
        except ValueError as error:
            raise BackendError(str(error)) from error
        smallest, _, largest = engine.get_tensor_profile_shape(INPUT_NAME, 0)
        self.batches = (int(smallest[0]), int(largest[0]))
        self.heatmap_size = self.input_size // HEATMAP_STRIDE
        self.variant_name = str(self.record.get("variant", "unknown"))
        self.fp16 = bool(self.record.get("fp16", False))
        self.name = "tensorrt" + ("-fp16" if self.fp16 else "")
        self.layout = FlatLayout()
        most = self.batches[1]
        size = self.input_size
        self._input_name = INPUT_NAME
        self._images = torch.empty((most, 3, size, size), device=device)
        self._outputs = torch.empty(self.layout.length(most), device=device)
        self._host_input = PinnedBuffer()
        self._host_output = PinnedBuffer()
        self._stream = torch.cuda.Stream(device)
        self._bound_batch = 0

    def _bind(self, batch: int) -> None:
        """Tells the engine this batch's shape and where each tensor lies: the outputs in their
        `FlatLayout` places in one device buffer."""
        context = self._context
        size = self.input_size
        context.set_input_shape(self._input_name, (batch, 3, size, size))
        context.set_tensor_address(self._input_name, self._images.data_ptr())
        base, item = self._outputs.data_ptr(), self._outputs.element_size()
        for name in OUTPUT_NAMES:
            shape = tuple(context.get_tensor_shape(name))
            if shape != (batch, *self.layout.tails[name]):
                raise BackendError(f"engine output {name} has shape {shape} for {batch} crops")
            start, _ = self.layout.span(name, batch)
            context.set_tensor_address(name, base + start * item)
        self._bound_batch = batch

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        torch = self._torch
        batch = crops.shape[0]
        low, high = self.batches
        if not low <= batch <= high:
            raise BackendError(f"this engine takes {low} to {high} crops at once, got {batch}")
        length = self.layout.length(batch)
        host_images = self._host_input.view(tuple(crops.shape))
        host_images.copy_(torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32)))
        host_outputs = self._host_output.view((length,))
        with torch.cuda.device(self.device), torch.cuda.stream(self._stream):
            self._images[:batch].copy_(host_images, non_blocking=True)
            if batch != self._bound_batch:
                self._bind(batch)
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise BackendError("TensorRT could not run the engine (see its log above)")
            host_outputs.copy_(self._outputs[:length], non_blocking=True)
        self._stream.synchronize()
        return RepeHandOutput.from_named(self.layout.unpack(host_outputs.numpy(), batch))
