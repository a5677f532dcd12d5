"""Benchmark: RepeHand network latency on this machine's CPU, per backend, in one run.

Milliseconds per frame (224x224 by default, --input-size) at batch 1 for
PyTorch eager, PyTorch with the best CPU settings found (inference mode,
channels_last, and torch.compile as a separate row), and ONNX Runtime; plus
parameters, multiply-accumulates and the peak resident memory of each backend.
Each backend runs in its own fresh process so its peak memory is its own.
Prints a table, writes JSON.

    .venv/bin/python bench/model_speed.py --json model_speed.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from repehand_ros.model.network import RepeHandNet

BACKENDS = ("eager", "tuned", "compiled", "onnxruntime")


def _time_calls(call, warmup: int, iterations: int) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, unlike ru_maxrss, is not carried
    over from the parent across fork + exec, so each backend reports its own."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _measure(
    backend: str,
    variant: str,
    input_size: int,
    onnx_path: str,
    warmup: int,
    iterations: int,
    queue,
):
    """Runs in a child process: builds one backend, times it, reports timings and peak RSS."""
    torch.manual_seed(0)
    images = torch.rand(1, 3, input_size, input_size)
    try:
        if backend == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = _cpu_count()
            session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
            feed = {"images": images.numpy()}

            def call():
                session.run(None, feed)

        else:
            network = RepeHandNet(variant, input_size).eval()
            if backend == "eager":

                def call():
                    with torch.no_grad():
                        network(images, validate=False)

            else:
                network = network.to(memory_format=torch.channels_last)
                fast_images = images.contiguous(memory_format=torch.channels_last)
                model = torch.compile(network) if backend == "compiled" else network

                def call():
                    with torch.inference_mode():
                        model(fast_images, validate=False)

        times = _time_calls(call, warmup, iterations)
        peak_mb = _peak_rss_mb()
        queue.put({"backend": backend, "times_ms": times, "peak_rss_mb": peak_mb})
    except Exception as error:  # a backend that cannot run here is reported, not fatal
        queue.put({"backend": backend, "error": f"{type(error).__name__}: {error}"[:300]})


def _run_isolated(backend: str, args: argparse.Namespace, onnx_path: str) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_measure,
        args=(
            backend,
            args.variant,
            args.input_size,
            onnx_path,
            args.warmup,
            args.iterations,
            queue,
        ),
    )
    process.start()
    result = queue.get()
    process.join()
    return result


def _macs(network: RepeHandNet) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    size = network.input_size
    with counter, torch.no_grad():
        network(torch.rand(1, 3, size, size), validate=False)
    return counter.get_total_flops() // 2  # FlopCounterMode counts a multiply-add as 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="5m", help="network variant (default: 5m)")
    parser.add_argument(
        "--input-size", type=int, default=224, help="crop size in pixels (default: 224)"
    )
    parser.add_argument("--iterations", type=int, default=100, help="timed frames per backend")
    parser.add_argument("--warmup", type=int, default=15, help="untimed frames per backend")
    parser.add_argument("--json", type=Path, default=Path("model_speed.json"), help="output")
    parser.add_argument(
        "--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), help="what to time"
    )
    args = parser.parse_args()

    from repehand_ros.model.onnx_export import export_onnx

    network = RepeHandNet(args.variant, args.input_size).eval()
    parameters = sum(p.numel() for p in network.parameters())
    macs = _macs(network)
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = str(Path(folder) / "repehand.onnx")
        if "onnxruntime" in args.backends:
            export_onnx(network, onnx_path)
        results = [_run_isolated(backend, args, onnx_path) for backend in args.backends]

    eager = next((r for r in results if r["backend"] == "eager" and "error" not in r), None)
    eager_ms = statistics.median(eager["times_ms"]) if eager else None
    rows = []
    for result in results:
        if "error" in result:
            rows.append(result)
            continue
        times = sorted(result["times_ms"])
        median = statistics.median(times)
        rows.append(
            {
                "backend": result["backend"],
                "median_ms": median,
                "mean_ms": statistics.fmean(times),
                "p90_ms": times[int(0.9 * (len(times) - 1))],
                "speedup_vs_eager": eager_ms / median if eager_ms else None,
                "peak_rss_mb": result["peak_rss_mb"],
            }
        )
    report = {
        "variant": args.variant,
        "batch": 1,
        "input": [1, 3, args.input_size, args.input_size],
        "parameters": parameters,
        "macs": macs,
        "machine": {
            "cpu_count": _cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "iterations": args.iterations,
        "results": rows,
    }
    args.json.write_text(json.dumps(report, indent=2))

    print(f"RepeHand {args.variant}: {parameters:,} parameters, {macs / 1e9:.3f} GMACs per frame")
    print(f"{'backend':<12} {'median ms':>10} {'p90 ms':>8} {'vs eager':>9} {'peak MB':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['backend']:<12} failed: {row['error']}")
            continue
        print(
            f"{row['backend']:<12} {row['median_ms']:>10.2f} {row['p90_ms']:>8.2f} "
            f"{row['speedup_vs_eager']:>8.2f}x {row['peak_rss_mb']:>8.0f}"
        )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
