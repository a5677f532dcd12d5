"""GPU check: every network backend this machine has, alone and in the whole reconstructor.

Per backend (torch fp32 / fp16 / CUDA graphs / torch.compile on CUDA; ONNX
Runtime's CUDA and TensorRT providers and TensorRT itself where installed):
milliseconds of the network alone at batch 1 and 2, the whole
HandReconstructor per stage at batch 1 (one shared crop) and 2 (hands far
apart), the copies between host and GPU per frame, and how far its hands are
from the fp32 network on the CPU in millimetres on the MANO joints. Prints a
table, writes JSON. bench/gpu_check.sh runs it after the tests marked `cuda`.

    python bench/gpu_check.py --json gpu_check.json
    python bench/gpu_check.py --dry-run --json gpu_check.json   # CPU only

Needs PyTorch, timm and numpy beyond the repository; onnx and onnxruntime for
the ONNX Runtime rows, smplx for everything MANO (deviation, reconstructor).
Hands are located by fixed regions (no MediaPipe). Without --checkpoint the
weights are random (seeded): the timings are the network's, its hands are
meaningless (the reconstructor still runs MANO and placement for each), and
the deviations are between two runs of the same random network. Without
--mano-dir MANO files of the real size with random values are written (the
tests' fixture).

--dry-run runs on the CPU what does not need the GPU (the CPU rows, the
deviation and transfer measurements on them, the reconstructor) and lists
every GPU row it skipped and why.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test"))
sys.path.insert(0, str(ROOT / "test" / "pipeline"))

from transfer_count import TransferCount  # noqa: E402

from repehand_ros.pipeline.backends import (  # noqa: E402
    ENGINE_BATCHES,
    OnnxRuntimeBackend,
    TensorRTBackend,
    TorchBackend,
)

FRAME_SIZE = (640, 480)
SHARED_REGION = (160.0, 120.0, 480.0, 380.0)
"""Both hands in one box: one crop per frame (batch 1)."""
APART_REGIONS = ((20.0, 140.0, 200.0, 360.0), (440.0, 140.0, 620.0, 360.0))
"""Right and left hand far apart: one crop each (batch 2)."""
COMPILE_BUDGET_S = 150.0
"""Seconds a torch.compile row is given at least (it compiles batch 1 and 2 first)."""
ROW_BUDGET_S = 25.0
"""Seconds any other row is given at least."""


@dataclass
class Row:
    name: str
    make: Callable[[], Any] | None
    needs_s: float = ROW_BUDGET_S
    skip: str | None = None
    counts_transfers: bool = True
    result: dict[str, Any] = field(default_factory=dict)


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[int(0.9 * (len(ordered) - 1))],
        "mean": statistics.fmean(ordered),
        "n": len(ordered),
    }


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _environment(args: argparse.Namespace) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "smplx": _have("smplx"),
        "onnx": _have("onnx"),
        "onnxruntime": None,
        "onnxruntime_providers": [],
        "tensorrt": None,
    }
    if torch.cuda.is_available():
        from repehand_ros.model.devices import cuda_device_identity

        env["gpu"] = cuda_device_identity(0)
    if _have("onnxruntime"):
        import onnxruntime

        env["onnxruntime"] = onnxruntime.__version__
        env["onnxruntime_providers"] = onnxruntime.get_available_providers()
    if _have("tensorrt"):
        import tensorrt

        env["tensorrt"] = tensorrt.__version__
    return env


def _time_network(backend, input_size: int, warmup: int, iterations: int) -> dict[str, Any]:
    timings = {}
    rng = np.random.default_rng(1)
    for batch in ENGINE_BATCHES:
        crops = rng.random((batch, 3, input_size, input_size), dtype=np.float32)
        for _ in range(warmup):
            backend(crops)
        times = []
        for _ in range(iterations):
            started = time.perf_counter()
            backend(crops)  # returns host arrays: the GPU's work is done when it returns
            times.append(1e3 * (time.perf_counter() - started))
        timings[f"batch{batch}"] = _stats(times)
    return timings


def _count_transfers(backend, input_size: int, meta: bool = False) -> dict[str, Any]:
    counted = {}
    for batch in ENGINE_BATCHES:
        crops = np.zeros((batch, 3, input_size, input_size), np.float32)
        with TransferCount(meta_reads_as_zeros=meta) as count:
            backend(crops)
        counted[f"batch{batch}"] = {
            "to_device": len(count.to_device),
            "to_host": len(count.to_host),
        }
    return counted


class _TwoRegionsFinder:
    """The right and the left hand each in a fixed box of its own (hands far apart)."""

    def find(self, image: np.ndarray):
        from repehand_ros.detection import DetectionSource, HandDetection
        from repehand_ros.geometry.boxes import Box
        from repehand_ros.hands import HandSide

        return [
            HandDetection(side, Box(*region), 1.0, DetectionSource.ROI)
            for side, region in zip(HandSide, APART_REGIONS, strict=True)
        ]

    def close(self) -> None:
        pass


def _time_reconstructor(backend, mano_dir: Path, frames: int, warmup: int) -> dict[str, Any]:
    from repehand_ros import HandReconstructor, ReconstructorConfig
    from repehand_ros.detection import DetectionConfig, HandLocator, HandTracker
    from repehand_ros.detection.finder import tracker_settings
    from repehand_ros.geometry.camera import PinholeCamera

    camera = PinholeCamera.default(*FRAME_SIZE)
    frame = np.random.default_rng(2).integers(0, 256, (*FRAME_SIZE[::-1], 3), dtype=np.uint8)
    shared = DetectionConfig(mode="roi", roi=SHARED_REGION, tracking=False)
    config = ReconstructorConfig(mano_dir=mano_dir, min_confidence=0.0, detection=shared)
    rows = {}
    for label, locator in (
        ("batch1", None),
        ("batch2", HandLocator(_TwoRegionsFinder(), HandTracker(tracker_settings(shared)))),
    ):
        with HandReconstructor(config, backend=backend, locator=locator) as reconstructor:
            stages: dict[str, list[float]] = {}
            crops: set[int] = set()
            valid = 0
            for index in range(warmup + frames):
                result = reconstructor.reconstruct(frame, camera, index / 30.0)
                if index < warmup:
                    continue
                crops.add(len(result.crops))
                valid += result.right.valid + result.left.valid
                for stage in ("detection_ms", "network_ms", "mano_ms", "total_ms"):
                    stages.setdefault(stage, []).append(getattr(result.times, stage))
        rows[label] = {
            **{stage: _stats(values) for stage, values in stages.items()},
            "crops_per_frame": sorted(crops),
            "valid_hands_per_frame": valid / frames,
        }
    return rows


def _deviation(backend, network, mano, what: str) -> dict[str, Any]:
    from repehand_ros.model.onnx_export import ExportCheckError, reference_outputs
    from repehand_ros.pipeline.backends import check_engine

    def run(crops: np.ndarray):
        return backend(crops).to_named()

    def reference(crops: np.ndarray):
        return reference_outputs(network, torch.from_numpy(crops))

    try:
        check = check_engine(
            run, reference, network.input_size, mano, what, "PyTorch fp32 (CPU)", batches=(2, 1)
        )
    except ExportCheckError as error:
        return {"passed": False, "error": str(error)}
    return check.to_dict()


def _rows(args, network, onnx_file: Path | None, env: dict[str, Any], folder: Path) -> list[Row]:
    cuda = torch.device("cuda", 0)
    gpu_skip = None
    if args.dry_run:
        gpu_skip = "dry run: GPU rows are not run (everything else runs on the CPU)"
    elif not torch.cuda.is_available():
        gpu_skip = "PyTorch sees no CUDA GPU here"
    providers = env["onnxruntime_providers"]

    def torch_row(name: str, device, **options) -> Row:
        return Row(name, lambda: TorchBackend(copy.deepcopy(network), device, **options))

    def ort_skip(provider: str) -> str | None:
        if gpu_skip:
            return gpu_skip
        if onnx_file is None:
            return "no ONNX file (onnx or onnxruntime is not installed)"
        if provider not in providers:
            return f"ONNX Runtime here has no {provider} (onnxruntime-gpu provides it)"
        return None

    def ort_tensorrt(fp16: bool) -> Callable[[], Any]:
        from repehand_ros.pipeline.backends import tensorrt_cache_folder, tensorrt_library_version

        def make():
            assert onnx_file is not None
            cache = tensorrt_cache_folder(
                folder / "cache", onnx_file, fp16, env["gpu"], tensorrt_library_version()
            )
            cache.mkdir(parents=True, exist_ok=True)
            return OnnxRuntimeBackend(
                onnx_file, "tensorrt", device=cuda, fp16=fp16, cache_folder=cache
            )

        return make

    def native_tensorrt(fp16: bool) -> Callable[[], Any]:
        def make():
            from repehand_ros.model.onnx_export import build_tensorrt_engine

            assert onnx_file is not None
            engine = folder / f"repehand{'-fp16' if fp16 else ''}.engine"
            build_tensorrt_engine(onnx_file, engine, fp16=fp16, batches=ENGINE_BATCHES)
            backend = TensorRTBackend(engine, cuda, require_record=False)
            if fp16:  # no record beside this engine to say so
                backend.fp16, backend.name = True, "tensorrt-fp16"
            return backend

        return make

    # GPU rows first, the slow-to-build ones (compile, TensorRT) after the quick ones, the CPU
    # baseline last: a row the time budget cannot fit is skipped, and says so.
    rows = [
        torch_row("torch-cuda", cuda),
        torch_row("torch-cuda-fp16", cuda, fp16=True),
        torch_row("torch-cuda-graphs", cuda, cuda_graphs=True),
        torch_row("torch-cuda-fp16-graphs", cuda, fp16=True, cuda_graphs=True),
        Row(
            "onnxruntime-cuda",
            lambda: OnnxRuntimeBackend(onnx_file, "cuda", device=cuda),
            skip=ort_skip("CUDAExecutionProvider"),
        ),
        Row(
            "onnxruntime-tensorrt",
            ort_tensorrt(False),
            skip=ort_skip("TensorrtExecutionProvider"),
            needs_s=COMPILE_BUDGET_S,
        ),
        Row(
            "onnxruntime-tensorrt-fp16",
            ort_tensorrt(True),
            skip=ort_skip("TensorrtExecutionProvider"),
            needs_s=COMPILE_BUDGET_S,
        ),
        Row("tensorrt", native_tensorrt(False), needs_s=COMPILE_BUDGET_S),
        Row("tensorrt-fp16", native_tensorrt(True), needs_s=COMPILE_BUDGET_S),
        Row(
            "torch-cuda-fp16-compiled",
            lambda: TorchBackend(copy.deepcopy(network), cuda, fp16=True, compile=True),
            needs_s=COMPILE_BUDGET_S,
        ),
        Row(
            "torch-cuda-fp16-compiled-graphs",
            lambda: TorchBackend(
                copy.deepcopy(network), cuda, fp16=True, compile=True, cuda_graphs=True
            ),
            needs_s=COMPILE_BUDGET_S,
        ),
        torch_row("torch-cpu", "cpu"),
        Row(
            "onnxruntime-cpu",
            (lambda: OnnxRuntimeBackend(onnx_file, "cpu")) if onnx_file else None,
            skip=None if onnx_file else "no ONNX file (onnx or onnxruntime is not installed)",
            counts_transfers=False,
        ),
    ]
    for row in rows:
        if row.skip is not None or row.name.endswith("-cpu"):
            continue
        if gpu_skip:
            row.skip = gpu_skip
        elif row.name.startswith("tensorrt") and env["tensorrt"] is None:
            row.skip = "the tensorrt Python package is not installed here"
        elif row.name.startswith("tensorrt") and onnx_file is None:
            row.skip = "no ONNX file (onnx or onnxruntime is not installed)"
        elif "compiled" in row.name and args.skip_compile:
            row.skip = "--skip-compile"
    return rows


def _run_row(row: Row, args, network, mano, mano_dir: Path | None, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left < row.needs_s:
        row.result = {
            "status": "skipped",
            "reason": f"time budget: {left:.0f} s left, the row needs about {row.needs_s:.0f} s",
        }
        return
    started = time.perf_counter()
    try:
        backend = row.make() if row.make else None
        assert backend is not None
        build_s = time.perf_counter() - started
        size = backend.input_size
        result: dict[str, Any] = {"status": "ran", "backend": backend.name, "build_s": build_s}
        result["network_ms"] = _time_network(backend, size, args.warmup, args.iterations)
        if row.counts_transfers:
            result["transfers_per_frame"] = _count_transfers(backend, size)
        else:
            result["transfers_per_frame"] = None
            result["transfers_note"] = "ONNX Runtime's own copies are not visible to PyTorch"
        if mano is None:
            result["deviation"] = None
            result["reconstructor_ms"] = None
        else:
            result["deviation"] = _deviation(backend, network, mano, backend.name)
            assert mano_dir is not None
            result["reconstructor_ms"] = _time_reconstructor(
                backend, mano_dir, args.frames, args.warmup
            )
        result["row_s"] = time.perf_counter() - started
        row.result = result
    except Exception as error:  # one failed row is reported, not fatal
        row.result = {
            "status": "failed",
            "error": f"{type(error).__name__}: {error}"[:600],
            "traceback": traceback.format_exc()[-2000:],
        }
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _meta_transfers(network) -> dict[str, Any]:
    """The torch backend's copies per frame, counted on the `meta` device (shapes, no data):
    the same code path as on CUDA bar pinned memory; runs without a GPU."""
    backend = TorchBackend(copy.deepcopy(network), "meta")
    return _count_transfers(backend, network.input_size, meta=True)


def _print(report: dict[str, Any]) -> None:
    print(f"mode: {report['mode']}; weights: {report['weights']}; MANO: {report['mano']}")
    env = report["environment"]
    print(
        f"torch {env['torch']} (CUDA {env['torch_cuda']}), GPU: {env.get('gpu', 'none')}, "
        f"onnxruntime {env['onnxruntime']} {env['onnxruntime_providers']}, "
        f"tensorrt {env['tensorrt']}"
    )
    tests = report.get("tests")
    if tests:
        print(f"tests marked cuda: {tests.get('summary')}")
    header = (
        f"{'backend':<32} {'b1 ms':>7} {'b2 ms':>7} {'rec b1':>7} {'rec b2':>7} "
        f"{'net':>6} {'mano+':>6} {'up/down':>7} {'max mm':>8} {'build s':>8}"
    )
    print("\nnetwork alone and whole reconstructor (median ms per frame); rec: total; net and")
    print("mano+ are the reconstructor's stages at batch 2; up/down: copies per frame at batch 2")
    print(header)
    for row in report["rows"]:
        name, result = row["name"], row
        if result["status"] == "skipped":
            print(f"{name:<32} skipped (see below)")
            continue
        if result["status"] != "ran":
            print(f"{name:<32} FAILED: {result.get('error')}")
            continue
        net = result["network_ms"]
        rec = result.get("reconstructor_ms") or {}
        transfers = (result.get("transfers_per_frame") or {}).get("batch2")
        deviation = result.get("deviation") or {}

        def cell(value, width=7, digits=2):
            return f"{value:>{width}.{digits}f}" if isinstance(value, float) else f"{'-':>{width}}"

        rec1 = rec.get("batch1", {}).get("total_ms", {}).get("median")
        rec2 = rec.get("batch2", {}).get("total_ms", {}).get("median")
        net2 = rec.get("batch2", {}).get("network_ms", {}).get("median")
        mano2 = rec.get("batch2", {}).get("mano_ms", {}).get("median")
        copies = f"{transfers['to_device']}/{transfers['to_host']}" if transfers else "-"
        print(
            f"{name:<32} {cell(net['batch1']['median'])} {cell(net['batch2']['median'])} "
            f"{cell(rec1)} {cell(rec2)} {cell(net2, 6)} {cell(mano2, 6)} {copies:>7} "
            f"{cell(deviation.get('max_joint_mm'), 8, 3)} {cell(result['build_s'], 8, 1)}"
        )
    if report.get("meta_transfers"):
        print(f"\ntorch backend copies per frame on the meta device: {report['meta_transfers']}")
    print("\nskipped:")
    for row in report["rows"]:
        if row["status"] == "skipped":
            print(f"  {row['name']}: {row['reason']}")
    for item in report["skipped"]:
        print(f"  {item['what']}: {item['why']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU only; say what is skipped")
    parser.add_argument("--checkpoint", type=Path, help="RepeHand weights; default: random")
    parser.add_argument("--mano-dir", type=Path, help="MANO files; default: fixture files")
    parser.add_argument("--json", type=Path, default=Path("gpu_check.json"), help="output")
    parser.add_argument("--frames", type=int, help="timed reconstructor frames per batch size")
    parser.add_argument("--iterations", type=int, help="timed network calls per batch size")
    parser.add_argument("--warmup", type=int, help="untimed calls before each timing")
    parser.add_argument("--budget-s", type=float, default=330.0, help="stop starting rows after")
    parser.add_argument("--skip-compile", action="store_true", help="no torch.compile rows")
    parser.add_argument("--tests-result", type=Path, help="JSON of the cuda tests' run (.sh)")
    args = parser.parse_args()
    small = args.dry_run
    args.frames = args.frames or (5 if small else 100)
    args.iterations = args.iterations or (5 if small else 100)
    args.warmup = args.warmup or (1 if small else 10)
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    deadline = started + args.budget_s
    env = _environment(args)
    skipped: list[dict[str, str]] = []

    from repehand_ros.model.checkpoint import load_model

    torch.manual_seed(0)
    network = load_model(args.checkpoint).eval()
    weights = (
        str(args.checkpoint)
        if args.checkpoint
        else "random (seed 0): timings are the network's, its hands are meaningless"
    )
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        mano = None
        mano_dir = args.mano_dir
        mano_note = str(mano_dir) if mano_dir else "fixture files (real sizes, random values)"
        if not env["smplx"]:
            mano_dir = None
            skipped.append(
                {
                    "what": "MANO (deviation in mm, whole reconstructor)",
                    "why": "smplx is not importable here (pure Python: put it on PYTHONPATH)",
                }
            )
        else:
            from repehand_ros.mano.layer import ManoPair

            if mano_dir is None:
                from fixtures.mano_files import write_official_mano_dir

                mano_dir = folder / "mano"
                write_official_mano_dir(mano_dir)
            mano = ManoPair.from_dir(mano_dir).eval()
        onnx_file = None
        if env["onnx"] and env["onnxruntime"]:
            from repehand_ros.model.onnx_export import export_onnx

            onnx_file = export_onnx(network, folder / "repehand.onnx")
        rows = _rows(args, network, onnx_file, env, folder)
        tests = None
        if args.tests_result and args.tests_result.is_file():
            tests = json.loads(args.tests_result.read_text())
        if args.dry_run:
            skipped.append(
                {
                    "what": "tests marked cuda",
                    "why": "dry run: they skip without a GPU (gpu_check.sh still runs them)",
                }
            )
        from repehand_ros.pipeline.backends import MAX_JOINT_DEVIATION_MM

        report: dict[str, Any] = {
            "mode": "dry-run" if args.dry_run else "gpu",
            "complete": False,
            "weights": weights,
            "mano": mano_note,
            "environment": env,
            "bound_mm": MAX_JOINT_DEVIATION_MM,
            "deviation_reference": "PyTorch fp32 on the CPU, same weights, seeded random crops",
            "detection": "fixed regions: one shared box (batch 1), two boxes far apart (batch 2)",
            "frames": args.frames,
            "iterations": args.iterations,
            "rows": [],
            "meta_transfers": _meta_transfers(network),
            "skipped": skipped,
            "tests": tests,
        }
        for row in rows:
            if row.skip is not None:
                row.result = {"status": "skipped", "reason": row.skip}
            else:
                _run_row(row, args, network, mano, mano_dir, deadline)
            # Written after every row: a run stopped from outside keeps what it measured.
            report["rows"].append({"name": row.name, **row.result})
            report["elapsed_s"] = time.monotonic() - started
            args.json.write_text(json.dumps(report, indent=2))
    report["complete"] = True
    report["elapsed_s"] = time.monotonic() - started
    args.json.write_text(json.dumps(report, indent=2))
    _print(report)
    print(f"\nwrote {args.json} in {report['elapsed_s']:.0f} s")
    failed = [row.name for row in rows if row.result.get("status") == "failed"]
    if failed:
        print(f"FAILED rows: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
