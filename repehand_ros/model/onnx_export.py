"""ONNX export of the RepeHand network, with a dynamic batch size, and TensorRT engines.

The input size is the network's own (a checkpoint's architecture): the file's
input is (batch, 3, S, S) with S fixed, and whoever runs the file reads S from
it (`onnx_input_size`), so nothing downstream assumes 224.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from repehand_ros.model.network import RepeHandNet
from repehand_ros.model.outputs import OUTPUT_NAMES
from repehand_ros.model.variants import VARIANT_METADATA_KEY, input_size_of_shape

logger = logging.getLogger(__name__)

INPUT_NAME = "images"
DEFAULT_OPSET = 17


class _FlatOutputs(nn.Module):
    """The network with its dataclass output flattened to a tuple in `OUTPUT_NAMES` order."""

    def __init__(self, network: RepeHandNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        named = self.network(images, validate=False).to_named()
        return tuple(named[name] for name in OUTPUT_NAMES)


@contextmanager
def _eval_mode_restored(module: nn.Module) -> Iterator[None]:
    """Runs the block in eval mode, then gives every submodule back its own earlier mode.

    The exporter restores the mode of the module it was given, recursively:
    a wrapper created in training mode (the nn.Module default) would flip the
    wrapped network back into training mode afterwards. Restoring each
    submodule's own flag avoids that and any other mixed-mode surprise.
    """
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for submodule, training in modes:
            submodule.training = training


@contextmanager
def _exporter_logs_quiet() -> Iterator[None]:
    """The exporter's graph passes log every rewrite at INFO: keep only their warnings."""
    loggers = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(max(log.level, logging.WARNING))
    try:
        yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


def export_onnx(
    network: RepeHandNet,
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    example_batch: int = 2,
) -> Path:
    """Writes `network` as one self-contained ONNX file at `path`; returns the path.

    Input `images` (batch, 3, S, S), S = network.input_size, float32 RGB in [0, 1]; outputs named as
    `repehand_ros.model.outputs.OUTPUT_NAMES`, batch dimension dynamic. The
    network's training/eval modes are the same after the call as before.
    """
    path = Path(path)
    wrapper = _FlatOutputs(network)
    device = next(network.parameters()).device
    size = network.input_size
    example = torch.rand(example_batch, 3, size, size, device=device)
    with (
        _eval_mode_restored(wrapper),
        torch.no_grad(),
        _exporter_logs_quiet(),
        warnings.catch_warnings(),
    ):
        # One eager run first: it proves the network runs on the example, and it fills
        # timm's attention-bias cache so the exporter does not see it assigned mid-trace.
        wrapper(example)
        # The TorchScript-based exporter: ONNX Runtime fuses its graph of this network
        # better (about 19 ms against 24 ms per frame on a 2-core CPU, bench/model_speed.py)
        # than the graph of the dynamo-based one. Its tracer warns about TinyViT's padding
        # test, which depends only on the fixed input size: a constant here.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            opset_version=opset,
            dynamic_axes={
                INPUT_NAME: {0: "batch"},
                **{name: {0: "batch"} for name in OUTPUT_NAMES},
            },
            dynamo=False,
        )
    _add_metadata(path, {VARIANT_METADATA_KEY: network.variant.name})
    logger.info("exported RepeHand %s network to %s", network.architecture.describe(), path)
    return path


def _add_metadata(path: Path, entries: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    for key, value in entries.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


class ExportCheckError(RuntimeError):
    """An exported network that does not reproduce PyTorch's outputs."""


def _check_images(network: RepeHandNet) -> torch.Tensor:
    size = network.input_size
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))


def _reference_outputs(network: RepeHandNet, images: torch.Tensor) -> dict[str, np.ndarray]:
    device = next(network.parameters()).device
    with _eval_mode_restored(network), torch.no_grad():
        named = network(images.to(device), validate=False).to_named()
    return {name: value.detach().float().cpu().numpy() for name, value in named.items()}


def _compare(got: dict[str, np.ndarray], want: dict[str, np.ndarray], what: str, atol: float):
    worst = {name: float(np.max(np.abs(got[name] - want[name]))) for name in OUTPUT_NAMES}
    name, error = max(worst.items(), key=lambda item: item[1])
    if not error <= atol:
        raise ExportCheckError(
            f"{what} disagrees with PyTorch: {name} differs by {error:.3g} (allowed {atol})"
        )
    return error


def check_onnx(network: RepeHandNet, path: str | Path, atol: float = 1e-3) -> float:
    """Runs the ONNX file in ONNX Runtime (CPU) against PyTorch on random crops.

    Returns the largest absolute difference over all outputs; raises
    ExportCheckError above `atol` (1e-3: soft-argmax amplifies float32
    rounding, see the model specification).
    """
    import onnxruntime

    images = _check_images(network)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {INPUT_NAME: images.numpy()})
    names = [output.name for output in session.get_outputs()]
    got = dict(zip(names, outputs, strict=True))
    return _compare(got, _reference_outputs(network, images), "the ONNX export", atol)


def build_tensorrt_engine(
    onnx_path: str | Path, engine_path: str | Path, fp16: bool = False, max_batch: int = 2
) -> Path:
    """A TensorRT engine from the ONNX file (dynamic batch 1..max_batch, the file's crop
    size), for a Jetson.

    Needs the `tensorrt` Python package and a CUDA GPU (NVIDIA's JetPack has both).
    """
    try:
        import tensorrt as trt
    except ImportError as error:
        raise ExportCheckError(
            "TensorRT engines need the tensorrt Python package (JetPack on a Jetson, or "
            "pip install tensorrt on a CUDA machine); the ONNX file works with ONNX Runtime"
        ) from error
    logger_trt = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger_trt)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger_trt)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportCheckError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    try:
        size = input_size_of_shape(tuple(network.get_input(0).shape), str(onnx_path))
    except ValueError as error:
        raise ExportCheckError(str(error)) from error
    shape = (3, size, size)
    profile.set_shape(INPUT_NAME, (1, *shape), (1, *shape), (max_batch, *shape))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportCheckError("TensorRT could not build an engine (see its log above)")
    Path(engine_path).write_bytes(bytes(serialized))
    return Path(engine_path)


def check_tensorrt_engine(network: RepeHandNet, engine_path: str | Path, atol: float) -> float:
    """Runs the engine on the GPU against PyTorch on the same random crops (see check_onnx)."""
    import tensorrt as trt

    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
    context = engine.create_execution_context()
    images = _check_images(network)
    device_images = images.cuda().contiguous()
    context.set_input_shape(INPUT_NAME, tuple(device_images.shape))
    context.set_tensor_address(INPUT_NAME, device_images.data_ptr())
    outputs = {}
    for name in OUTPUT_NAMES:
        buffer = torch.empty(tuple(context.get_tensor_shape(name)), device="cuda")
        context.set_tensor_address(name, buffer.data_ptr())
        outputs[name] = buffer
    stream = torch.cuda.current_stream()
    if not context.execute_async_v3(stream.cuda_stream):
        raise ExportCheckError("the TensorRT engine failed to run")
    stream.synchronize()
    got = {name: value.float().cpu().numpy() for name, value in outputs.items()}
    return _compare(got, _reference_outputs(network, images), "the TensorRT engine", atol)
