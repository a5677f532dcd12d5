"""The network in PyTorch: on the CPU, on CUDA (fp16 there), with CUDA graphs or
torch.compile as options."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from repehand_ros.model.outputs import RepeHandOutput
from repehand_ros.pipeline.backends.base import ENGINE_BATCHES, BackendError
from repehand_ros.pipeline.backends.transfer import FlatLayout, PinnedBuffer

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


class _CudaGraphs:
    """A function of one device tensor, captured as one CUDA graph per input shape.

    Replaying a graph launches the network's few hundred kernels with one call,
    which saves their launch time when the GPU is fast and the CPU is not (a
    Jetson). A graph reads a fixed input tensor and writes a fixed output
    tensor: the frame's crops are copied straight into its input (the one
    upload), and its output is overwritten by the next replay.
    """

    WARMUP_RUNS = 3
    """Runs before a capture, on a side stream, as PyTorch's CUDA graph notes ask."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor], device) -> None:
        self._function = function
        self._device = device
        self._graphs: dict[tuple[int, ...], tuple[Any, torch.Tensor, torch.Tensor]] = {}

    def __call__(self, host_images: torch.Tensor, non_blocking: bool) -> torch.Tensor:
        shape = tuple(host_images.shape)
        if shape not in self._graphs:
            self._graphs[shape] = self._capture(shape)
        graph, images, output = self._graphs[shape]
        images.copy_(host_images, non_blocking=non_blocking)
        graph.replay()
        return output

    def _capture(self, shape: tuple[int, ...]) -> tuple[Any, torch.Tensor, torch.Tensor]:
        import torch

        started = time.perf_counter()
        images = torch.zeros(shape, device=self._device)
        side = torch.cuda.Stream(self._device)
        side.wait_stream(torch.cuda.current_stream(self._device))
        with torch.cuda.stream(side):
            for _ in range(self.WARMUP_RUNS):
                self._function(images)
        torch.cuda.current_stream(self._device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            output = self._function(images)
        logger.info(
            "captured a CUDA graph for %d crop(s) in %.2f s",
            shape[0],
            time.perf_counter() - started,
        )
        return graph, images, output


class TorchBackend:
    """The network in PyTorch; fp16 (autocast) only on CUDA, where it pays off.

    Options for CUDA, off by default because only a measurement on the GPU
    at hand says whether they pay (bench/gpu_check.sh measures them):
    `cuda_graphs` replays the network as captured CUDA graphs (one per batch
    size), `compile` runs it through torch.compile (compiled for batch 1 and 2
    when the backend is made, which takes a while).
    """

    def __init__(
        self,
        network,
        device: str | torch.device,
        fp16: bool = False,
        cuda_graphs: bool = False,
        compile: bool = False,
    ) -> None:
        import torch

        self.device = torch.device(device)
        on_cuda = self.device.type == "cuda"
        if fp16 and not on_cuda:
            raise BackendError("fp16 needs device 'cuda' (half precision is slower on the CPU)")
        if cuda_graphs and not on_cuda:
            raise BackendError("cuda_graphs needs device 'cuda' (CUDA graphs exist only there)")
        self._torch = torch
        self.network = network.to(self.device).eval()
        self.fp16 = fp16
        self.name = (
            f"torch-{self.device}"
            + ("-fp16" if fp16 else "")
            + ("-compiled" if compile else "")
            + ("-graphs" if cuda_graphs else "")
        )
        self.input_size: int = network.input_size
        self.heatmap_size: int = network.heatmap_size
        self.variant_name: str = network.variant.name
        self.layout = FlatLayout()
        self._pinned = on_cuda
        self._host_input = PinnedBuffer()
        self._host_output = PinnedBuffer()
        self._forward: Callable[[torch.Tensor], torch.Tensor] = self._packed_forward
        if compile:
            self._forward = torch.compile(self._packed_forward, dynamic=False)
        self._graphs = _CudaGraphs(self._forward, self.device) if cuda_graphs else None
        if compile or cuda_graphs:
            self.warm_up()

    def _packed_forward(self, images: torch.Tensor) -> torch.Tensor:
        """The network on device images, its outputs packed (`FlatLayout`) on the device."""
        # The autocast weight cache must be off for CUDA graph capture (PyTorch's notes); a
        # fresh autocast region per frame would empty it anyway.
        with self._torch.autocast("cuda", enabled=self.fp16, cache_enabled=False):
            output = self.network(images, validate=False)
        return self.layout.pack(output.to_named())

    def warm_up(self, batches: tuple[int, ...] = ENGINE_BATCHES) -> None:
        """Runs each batch size once: compiles (torch.compile) and captures (CUDA graphs) now,
        not on the first frames."""
        started = time.perf_counter()
        size = self.input_size
        for batch in batches:
            self(np.zeros((batch, 3, size, size), np.float32))
        logger.info(
            "%s ready for batches %s in %.1f s", self.name, batches, time.perf_counter() - started
        )

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        torch = self._torch
        host = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
        batch = host.shape[0]
        if self._pinned:
            staging = self._host_input.view(tuple(host.shape))
            staging.copy_(host)
            host = staging
        with torch.inference_mode():
            if self._graphs is not None:
                flat = self._graphs(host, non_blocking=self._pinned)
            else:
                flat = self._forward(host.to(self.device, non_blocking=self._pinned))
            packed = self._to_host(flat)
        return RepeHandOutput.from_named(self.layout.unpack(packed, batch))

    def _to_host(self, flat: torch.Tensor) -> np.ndarray:
        """The packed outputs in host memory: one copy from the GPU, none on the CPU."""
        if self.device.type == "cpu":
            return flat.numpy()
        if not self._pinned:
            return flat.cpu().numpy()
        host = self._host_output.view(tuple(flat.shape))
        host.copy_(flat, non_blocking=True)
        self._torch.cuda.current_stream(self.device).synchronize()
        return host.numpy()
