"""ONNX export of the RepeHand network, with a dynamic batch size, and TensorRT engines.

Every export is checked against PyTorch before it is kept: the ONNX file in
ONNX Runtime on the raw outputs (`check_onnx`), a TensorRT engine in
millimetres on the MANO joints it leads to (`repehand_ros.pipeline.backends.
check_engine`, where MANO is at hand), since fp16 and TensorRT's own kernels
move raw outputs by amounts that mean nothing alone.

The input size is the network's own (a checkpoint's architecture): the file's
input is (batch, 3, S, S) with S fixed, and whoever runs the file reads S from
it (`onnx_input_size`), so nothing downstream assumes 224.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from repehand_ros.model.network import RepeHandNet
from repehand_ros.model.outputs import OUTPUT_NAMES
from repehand_ros.model.variants import VARIANT_METADATA_KEY, input_size_of_shape

logger = logging.getLogger(__name__)

INPUT_NAME = "images"
DEFAULT_OPSET = 17
DECOMPOSED_LAYER_NORM_OPSET = 16
"""The opset that writes layer normalisation as ReduceMean, Pow, ... (LayerNormalization came
in 17): ONNX Runtime's TensorRT provider keeps exactly that Pow + ReduceMean in fp32 in fp16
engines (`trt_layer_norm_fp32_fallback`), and does not reach a LayerNormalization node."""


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


def check_images(input_size: int, batch: int = 2) -> torch.Tensor:
    """The random crops (seeded, uniform in [0, 1]) every export is checked on."""
    size = input_size
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))


def _check_images(network: RepeHandNet) -> torch.Tensor:
    return check_images(network.input_size)


def _reference_outputs(network: RepeHandNet, images: torch.Tensor) -> dict[str, np.ndarray]:
    device = next(network.parameters()).device
    with _eval_mode_restored(network), torch.no_grad():
        named = network(images.to(device), validate=False).to_named()
    return {name: value.detach().float().cpu().numpy() for name, value in named.items()}


def reference_outputs(network: RepeHandNet, images: torch.Tensor) -> dict[str, np.ndarray]:
    """The network's outputs for `images` on its own device, in float32 numpy arrays."""
    return _reference_outputs(network, images)


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


FP32_LAYER_TYPES: tuple[str, ...] = ("NORMALIZATION", "SOFTMAX", "REDUCE")
"""TensorRT layer types an fp16 engine keeps in fp32: layer normalisation and softmax (sums
of exponentials and squares overflow 16 bits), and reductions (means, L2 norms of the
rotation vectors); they are a small share of the network's time."""


def _keep_in_fp32(network, trt) -> int:
    """Asks for fp32 on every layer of FP32_LAYER_TYPES with floating-point outputs; returns
    how many. Binding only with BuilderFlag.OBEY_PRECISION_CONSTRAINTS."""
    kinds = {
        getattr(trt.LayerType, name) for name in FP32_LAYER_TYPES if hasattr(trt.LayerType, name)
    }
    floats = (trt.float32, trt.float16)
    kept = 0
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        if layer.type not in kinds:
            continue
        if not all(layer.get_output(i).dtype in floats for i in range(layer.num_outputs)):
            continue
        layer.precision = trt.float32
        for output in range(layer.num_outputs):
            layer.set_output_type(output, trt.float32)
        kept += 1
    return kept


def build_tensorrt_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    fp16: bool = False,
    batches: tuple[int, int] = (1, 2),
    workspace_bytes: int = 1 << 30,
) -> float:
    """A TensorRT engine from the ONNX file (dynamic batch of batches[0]..batches[1] crops, the
    file's crop size), for this GPU and TensorRT version; returns the build's seconds.

    fp16 engines keep FP32_LAYER_TYPES in fp32 (per-layer precision, obeyed).
    Needs the `tensorrt` Python package and a CUDA GPU (NVIDIA's JetPack has both).
    """
    try:
        import tensorrt as trt
    except ImportError as error:
        raise ExportCheckError(
            "TensorRT engines need the tensorrt Python package (JetPack on a Jetson, or "
            "pip install tensorrt on a CUDA machine); the ONNX file works with ONNX Runtime"
        ) from error
    if fp16 and not hasattr(trt.BuilderFlag, "FP16"):
        raise ExportCheckError(
            f"TensorRT {trt.__version__} builds only strongly typed networks (no fp16 builder "
            "flag): an fp16 engine would need an fp16 ONNX file. Build an fp32 engine (no "
            "--fp16), or use TensorRT 10 (JetPack 6 and 7)"
        )
    started = time.perf_counter()
    logger_trt = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger_trt)
    flags = 0
    if int(trt.__version__.split(".")[0]) < 10:
        # TensorRT 8 (JetPack 6.0) parses ONNX only into explicit-batch networks; 10 has no other.
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger_trt)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportCheckError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        kept = _keep_in_fp32(network, trt)
        logger.info("fp16 engine: %d normalisation, softmax and reduction layers in fp32", kept)
    profile = builder.create_optimization_profile()
    try:
        size = input_size_of_shape(tuple(network.get_input(0).shape), str(onnx_path))
    except ValueError as error:
        raise ExportCheckError(str(error)) from error
    shape = (3, size, size)
    low, high = batches
    profile.set_shape(INPUT_NAME, (low, *shape), (low, *shape), (high, *shape))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportCheckError("TensorRT could not build an engine (see its log above)")
    Path(engine_path).write_bytes(bytes(serialized))
    seconds = time.perf_counter() - started
    logger.info("TensorRT built %s in %.1f s", engine_path, seconds)
    return seconds


ENGINE_RECORD_FORMAT = 1


def engine_record_path(engine_path: str | Path) -> Path:
    """Where an engine's check record lies: beside it, ENGINE.json."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def read_engine_record(engine_path: str | Path) -> dict[str, Any] | None:
    """The check record of an engine (what built it, for which GPU, its check), or None."""
    path = engine_record_path(engine_path)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ExportCheckError(f"{path} is not an engine's check record: {error}") from error
    if not isinstance(record, dict) or record.get("format") != ENGINE_RECORD_FORMAT:
        raise ExportCheckError(
            f"{path} is not an engine's check record (format {ENGINE_RECORD_FORMAT})"
        )
    if not record.get("check", {}).get("passed"):
        raise ExportCheckError(f"{path} records an engine that did not pass its check")
    return record


def engine_record(
    check: dict[str, Any], tensorrt: str, gpu: str, fp16: bool, variant: str, build_s: float
) -> dict[str, Any]:
    """The record written beside an engine that passed `check` (a check's `to_dict()`: see
    `repehand_ros.pipeline.backends.check_engine`)."""
    return {
        "format": ENGINE_RECORD_FORMAT,
        "tensorrt": tensorrt,
        "gpu": gpu,
        "fp16": fp16,
        "variant": variant,
        "build_s": build_s,
        "check": check,
    }
