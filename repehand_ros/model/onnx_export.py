"""ONNX export of the RepeHand network, with a dynamic batch size."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from repehand_ros.model.network import RepeHandNet
from repehand_ros.model.outputs import OUTPUT_NAMES
from repehand_ros.model.variants import INPUT_SIZE

logger = logging.getLogger(__name__)

INPUT_NAME = "images"
DEFAULT_OPSET = 18


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

    Input `images` (batch, 3, 224, 224) float32 RGB in [0, 1]; outputs named as
    `repehand_ros.model.outputs.OUTPUT_NAMES`, batch dimension dynamic. The
    network's training/eval modes are the same after the call as before.
    """
    path = Path(path)
    wrapper = _FlatOutputs(network)
    device = next(network.parameters()).device
    example = torch.rand(example_batch, 3, INPUT_SIZE, INPUT_SIZE, device=device)
    batch = torch.export.Dim("batch", min=1, max=1024)
    with _eval_mode_restored(wrapper), torch.no_grad(), _exporter_logs_quiet():
        # One eager run first: it proves the network runs on the example, and it fills
        # timm's attention-bias cache so the exporter does not see it assigned mid-trace.
        wrapper(example)
        program = torch.onnx.export(
            wrapper,
            (example,),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            opset_version=opset,
            dynamic_shapes={"images": {0: batch}},
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        program.save(str(path), external_data=False)
    logger.info("exported RepeHand %s network to %s", network.variant.name, path)
    return path
