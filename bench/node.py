"""Benchmark: the hands node end to end, over DDS, in real separate processes, in one run.

Three processes, as on a robot: a camera process (bench/node_camera.py) publishes
640x480 rgb8 Image + CameraInfo of real footage at a set rate, stamped with the
wall clock; the node runs as users run it (`repehand node --params-file ...`);
this process listens to ~/hands, ~/markers, /tf and /diagnostics. Latency is
the image's stamp to the TwoHandMesh's arrival here (one clock, one machine).

1. Overhead: the node's latency against the bare HandReconstructor, built from
   the same parameters (the node's own mapping), on the same frame in this
   process, paced like the camera. The camera runs slower than the model so no
   frame waits; node and bare runs take turns in rounds, so a burst of load
   from elsewhere falls on both alike. Target: node / bare at most 1.15.
2. Camera faster than the model (30 and 60 FPS, same node): the latency
   distribution at both rates and in the first and last third of each run,
   and the drops (sent by the camera, received, processed and dropped by the
   node from its /diagnostics, results received here).
3. Soak: SOAK_FRAMES frames through the fastest full path (ONNX Runtime, fixed
   region, vertices, TF and markers built because this process subscribes);
   the node's resident memory (VmRSS) after warm-up against at the end.
   Target: growth under 5%.

The frame is bench/reconstructor.py's: Debian opencv-doc's right04.jpg with its
hand mirrored into the left half (two hands). Weights: the tests' plumbing
checkpoint (random, hands of a plausible size); MANO: fixture files of the real
size. Accuracy is meaningless, the timings are representative. DDS is kept on
this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, a domain of its own) with
the project's Fast DDS profile for large images. Prints a table, writes JSON.

    .venv/bin/python bench/node.py --json node.json            # about 11 minutes
    .venv/bin/python bench/node.py --quick --json node.json    # about 3 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rclpy
import torch
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from model_speed import _cpu_count, _time_calls
from node_camera import intrinsics
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from reconstructor import FIXED_REGION, _stats, load_frames
from repehand_ros.msg import TwoHandMesh
from visualization_msgs.msg import MarkerArray

from repehand_ros import HandReconstructor
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.ros import parameters
from repehand_ros.ros.tf import tf_message_type

ROOT = Path(__file__).resolve().parent.parent
CAMERA = Path(__file__).with_name("node_camera.py")
OVERHEAD_TARGET = 1.15
FLAT_TOLERANCE = 1.25
"""Latency counts as flat when median and p90 at 60 FPS, and in a run's last third, are
at most this many times those at 30 FPS and in the first third."""
RSS_GROWTH_TARGET = 0.05
RATES = (30.0, 60.0)
SETTLE_S = 1.5
"""Quiet time after the camera stops before a run counts as over."""

NODE_BASE = {
    "device": "cpu",
    "min_confidence": 0.0,
    "detection.mode": "roi",
    "detection.roi": [float(v) for v in FIXED_REGION],
    "detection.tracking": False,
    "publish_vertices": True,
    "publish_tf": True,
    "publish_markers": True,
}
"""Both node configurations: the network on the CPU, both hands in one fixed region
(no detector: the network's time dominates), every output built."""
LATENCY_NODE = {**NODE_BASE, "backend": "torch"}
SOAK_NODE = {**NODE_BASE, "backend": "onnxruntime"}


@dataclass
class Counts:
    """Frames sent and the node's counters over one camera run."""

    sent: int
    node_received: int
    node_processed: int
    node_dropped: int
    without_camera_info: int
    results: int

    @property
    def lost_before_node(self) -> int:
        """Sent but never handed to the node's callback (DDS, or its depth-1 queue)."""
        return self.sent - self.node_received

    @property
    def accounted(self) -> bool:
        """Every frame the node received was processed, dropped or skipped (one may be
        in flight when the counters are read)."""
        missing = self.node_received - (
            self.node_processed + self.node_dropped + self.without_camera_info
        )
        return abs(missing) <= 1


class Listener:
    """This process's view of the node: results (raw, stamped on arrival), markers, TF,
    diagnostics; spun on a thread of its own."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("bench_listener", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.arrivals: list[tuple[int, int]] = []
        """(image stamp, arrival) in wall-clock nanoseconds, per TwoHandMesh."""
        self.last: tuple[int, bytes] | None = None
        """The latest TwoHandMesh as it came (serialised), with the stamp read from it."""
        self.marker_arrays = 0
        self.tf_messages = 0
        self.diagnostics: list[tuple[float, dict[str, str]]] = []
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        base = f"/{namespace}/hands"
        # Raw subscriptions: nothing is deserialised before the arrival is stamped, and
        # the markers (tens of thousands of points) cost this process nothing, so it
        # takes little CPU from the node on shared cores. The node still builds and
        # publishes them because they are subscribed.
        self.node.create_subscription(
            TwoHandMesh, f"{base}/hands", self._on_hands, reliable, raw=True
        )
        self.node.create_subscription(
            MarkerArray, f"{base}/markers", self._on_markers, reliable, raw=True
        )
        self.node.create_subscription(tf_message_type(), "/tf", self._on_tf, reliable, raw=True)
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", self._on_diagnostics, reliable
        )
        self._running, self._pause, self._idle = True, threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self._running:
            if self._pause.is_set():
                self._idle.set()
                time.sleep(0.01)
            else:
                self.executor.spin_once(timeout_sec=0.05)

    @contextmanager
    def paused(self):
        """No spinning meanwhile: the bare reconstructor has this process to itself."""
        self._idle.clear()
        self._pause.set()
        self._idle.wait()
        try:
            yield
        finally:
            self._pause.clear()

    def _on_hands(self, data: bytes) -> None:
        arrival = time.time_ns()
        sec, nanosec = struct.unpack_from("<iI", data, 4)  # CDR: 4-byte header, then stamp
        stamp = sec * 1_000_000_000 + nanosec
        self.arrivals.append((stamp, arrival))
        self.last = (stamp, data)

    def _on_markers(self, data: bytes) -> None:
        self.marker_arrays += 1

    def _on_tf(self, data: bytes) -> None:
        self.tf_messages += 1

    def _on_diagnostics(self, message: DiagnosticArray) -> None:
        for status in message.status:
            if status.name.startswith(f"/{self.namespace}/hands"):
                values = {value.key: value.value for value in status.values}
                self.diagnostics.append((time.monotonic(), values))

    def diagnostics_after(self, moment: float, timeout: float = 10.0) -> dict[str, str]:
        """The node's first /diagnostics counters that arrive after `moment` (monotonic)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.diagnostics and self.diagnostics[-1][0] > moment:
                return self.diagnostics[-1][1]
            time.sleep(0.05)
        raise RuntimeError("the node publishes no /diagnostics")

    def node_is_subscribed(self) -> bool:
        return self.node.count_subscribers(f"/{self.namespace}/image") > 0

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def params_file(folder: Path, name: str, overrides: dict) -> Path:
    """config/hands.yaml with `overrides`: what `repehand node --params-file` reads."""
    values = parameters.read_params_file(ROOT / "config" / "hands.yaml")
    values.update(overrides)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))
    return path


def node_values(params: Path) -> dict:
    """Every parameter as the node reads it from `params` (unset ones None)."""
    given = parameters.read_params_file(params)
    return {p.name: given.get(p.name, p.default) for p in parameters.PARAMETERS}


@contextmanager
def node_process(params: Path, listener: Listener, timeout: float = 600.0):
    """The node as users run it, autostarted; yields its process once it subscribes."""
    log = params.with_suffix(".log")
    command = [sys.executable, "-m", "repehand_ros.tools.cli", "node", "--params-file"]
    command += [str(params), "--ros-args", "-r", f"__ns:=/{listener.namespace}"]
    with open(log, "w") as stream:
        process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout
        while not listener.node_is_subscribed():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the node did not come up:\n" + log.read_text()[-3000:])
            time.sleep(0.2)
        process.log = log
        yield process
        if process.poll() is not None:
            raise SystemExit("the node died:\n" + log.read_text()[-3000:])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_problems(log: Path, limit: int = 8) -> list[str]:
    """The node's warnings, errors and tracebacks (the first few), less the silent-camera
    warning: the camera pauses between runs on purpose."""
    lines = log.read_text(errors="replace").splitlines()
    marks = ("WARN", "ERROR", "Traceback", "Error:")
    problems = [line for line in lines if any(mark in line for mark in marks)]
    return [line[:300] for line in problems if "is the camera running?" not in line][:limit]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Camera:
    """One run of the camera process; `finish` waits for it and for the node to settle."""

    def __init__(self, listener: Listener, frame_path: Path, fps: float, count: int) -> None:
        self.listener, self.fps = listener, fps
        self.start_index = len(listener.arrivals)
        self.before = listener.diagnostics_after(time.monotonic())
        command = [sys.executable, str(CAMERA), listener.namespace, str(frame_path)]
        self.process = subprocess.Popen(
            [*command, str(fps), str(count)], stdout=subprocess.PIPE, text=True
        )

    def finish(self) -> tuple[Counts, dict, list[tuple[int, int]]]:
        output, _ = self.process.communicate()
        if self.process.returncode != 0:
            raise SystemExit(f"the camera process failed ({self.process.returncode})")
        camera = json.loads(output.strip().splitlines()[-1])
        arrivals = self.listener.arrivals
        seen = len(arrivals)
        while True:  # until no result has come for SETTLE_S
            time.sleep(SETTLE_S)
            if len(arrivals) == seen:
                break
            seen = len(arrivals)
        after = self.listener.diagnostics_after(time.monotonic())
        ours = arrivals[self.start_index : seen]

        def delta(key: str) -> int:
            return round(float(after[key]) - float(self.before[key]))

        counts = Counts(
            sent=camera["sent"],
            node_received=delta("frames_received"),
            node_processed=delta("frames_processed"),
            node_dropped=delta("frames_dropped"),
            without_camera_info=delta("frames_without_camera_info"),
            results=len(ours),
        )
        camera["node_latency_ms_mean_diagnostics"] = float(after["latency_ms_mean"])
        return counts, camera, ours


def latencies_ms(arrivals: list[tuple[int, int]]) -> list[float]:
    return [(arrival - stamp) / 1e6 for stamp, arrival in arrivals]


def thirds(values: list[float]) -> dict:
    third = len(values) // 3
    if third < 3:
        return {}
    first, last = _stats(values[:third]), _stats(values[-third:])
    return {
        "first_third_ms": first,
        "last_third_ms": last,
        "last_over_first_median": last["median"] / first["median"],
        "last_over_first_p90": last["p90"] / first["p90"],
    }


def run_summary(counts: Counts, camera: dict, arrivals: list[tuple[int, int]]) -> dict:
    values = latencies_ms(arrivals)
    return {
        "camera": camera,
        "sent": counts.sent,
        "node_received": counts.node_received,
        "node_processed": counts.node_processed,
        "frames_dropped": counts.node_dropped,
        "frames_without_camera_info": counts.without_camera_info,
        "lost_before_node": counts.lost_before_node,
        "results_received": counts.results,
        "counters_add_up": counts.accounted,
        "latency_ms": _stats(values) if values else None,
        **thirds(values),
    }


def check_result(listener: Listener) -> dict:
    """A received TwoHandMesh, deserialised: the raw stamp read agrees, the shapes are full."""
    if listener.last is None:
        return {}
    stamp_read, data = listener.last
    message = deserialize_message(data, TwoHandMesh)
    stamp = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
    return {
        "stamp_read_from_raw_ok": stamp == stamp_read,
        "backend": message.backend,
        "frame_id": message.header.frame_id,
        "valid_hands": int(message.right.valid) + int(message.left.valid),
        "vertex_floats_per_hand": [len(message.right.vertices), len(message.left.vertices)],
    }


def measure_latency(args, listener, frame, frame_path, params) -> dict:
    """Rounds of camera frames through the node and paced bare reconstructions."""
    config = parameters.reconstructor_config(node_values(params))
    reconstructor = HandReconstructor(config)
    height, width = frame.shape[:2]
    camera = PinholeCamera(
        k=intrinsics(width, height),
        d=[0.0] * 5,
        distortion_model="plumb_bob",
        width=width,
        height=height,
    )
    clock = {"t": 0.0}

    def reconstruct() -> None:
        clock["t"] += 0.1
        reconstructor.reconstruct(frame, camera, clock["t"])

    with listener.paused():
        probe = statistics.median(_time_calls(reconstruct, args.warmup, 10))
    fps = args.latency_fps or min(10.0, round(0.4 * 1000.0 / probe, 1))
    period = 1.0 / fps
    Camera(listener, frame_path, fps, args.warmup).finish()  # the node's first frames
    node, bare, runs = [], [], []
    for _ in range(args.rounds):
        counts, camera_report, arrivals = Camera(
            listener, frame_path, fps, args.latency_frames
        ).finish()
        node += latencies_ms(arrivals)
        runs.append(run_summary(counts, camera_report, arrivals))
        with listener.paused():  # paced like the camera: the model idles in between
            for _ in range(args.latency_frames):
                bare += _time_calls(reconstruct, 0, 1)
                time.sleep(max(0.0, period - bare[-1] / 1000.0))
    reconstructor.close()
    node_stats, bare_stats = _stats(node), _stats(bare)
    return {
        "camera_fps": fps,
        "bare_probe_ms": probe,
        "frames_per_round": args.latency_frames,
        "rounds": args.rounds,
        "node_latency_ms": node_stats,
        "bare_reconstruct_ms": bare_stats,
        "overhead_median": node_stats["median"] / bare_stats["median"],
        "overhead_p90": node_stats["p90"] / bare_stats["p90"],
        "added_ms_median": node_stats["median"] - bare_stats["median"],
        "meets_overhead_target": node_stats["median"] / bare_stats["median"] <= OVERHEAD_TARGET,
        "runs": runs,
    }


def measure_rates(args, listener, frame_path, bare_ms: float) -> dict:
    """The camera at 30 and at 60 FPS, faster than the model: flat latency, drops counted."""
    runs = {}
    for fps in RATES:
        camera = Camera(listener, frame_path, fps, round(fps * args.rate_seconds))
        runs[f"{fps:.0f}"] = run_summary(*camera.finish())
        runs[f"{fps:.0f}"]["model_slower_than_camera"] = bare_ms > 1000.0 / fps
    slow, fast = (runs[f"{fps:.0f}"] for fps in RATES)
    report: dict = {"seconds_per_rate": args.rate_seconds, "runs": runs}
    if slow["latency_ms"] and fast["latency_ms"]:
        ratios = {
            "fast_over_slow_median": fast["latency_ms"]["median"] / slow["latency_ms"]["median"],
            "fast_over_slow_p90": fast["latency_ms"]["p90"] / slow["latency_ms"]["p90"],
        }
        for name, run in runs.items():
            for key in ("last_over_first_median", "last_over_first_p90"):
                if key in run:
                    ratios[f"{name}fps_{key}"] = run[key]
        report["ratios"] = ratios
        report["latency_flat"] = max(ratios.values()) <= FLAT_TOLERANCE
    else:
        report["latency_flat"] = False
    report["drops_counted"] = all(
        run["frames_dropped"] > 0 and run["counters_add_up"] for run in runs.values()
    )
    return report


def measure_soak(args, listener, frame_path, process) -> dict:
    """SOAK_FRAMES frames; the node's VmRSS every RSS_INTERVAL seconds, with the results so far."""
    samples = [(0.0, 0, rss_kb(process.pid))]
    camera = Camera(listener, frame_path, args.soak_fps, args.soak_frames)
    started = time.monotonic()
    while camera.process.poll() is None:
        time.sleep(args.rss_interval)
        results = len(listener.arrivals) - camera.start_index
        samples.append((time.monotonic() - started, results, rss_kb(process.pid)))
    counts, camera_report, arrivals = camera.finish()
    samples.append((time.monotonic() - started, counts.results, rss_kb(process.pid)))
    report = {
        "frames": args.soak_frames,
        "camera_fps": args.soak_fps,
        "warmup_results": args.soak_warmup,
        **run_summary(counts, camera_report, arrivals),
        "rss_samples": [
            {"seconds": round(t, 2), "results": n, "rss_kb": kb} for t, n, kb in samples
        ],
    }
    warm = next((s for s in samples if s[1] >= args.soak_warmup), None)
    if warm is None or samples[-1][1] <= warm[1]:
        report["rss_growth"] = None
        report["meets_rss_target"] = False
        return report
    after = [s for s in samples if s[1] >= warm[1]]
    slope = np.polyfit([s[1] for s in after], [s[2] for s in after], 1)[0] if len(after) > 2 else 0
    end = samples[-1]
    report.update(
        rss_start_mb=samples[0][2] / 1024,
        rss_warm_mb=warm[2] / 1024,
        rss_warm_at_results=warm[1],
        rss_end_mb=end[2] / 1024,
        rss_end_at_results=end[1],
        rss_peak_after_warmup_mb=max(s[2] for s in after) / 1024,
        rss_slope_kb_per_1000_results=1000.0 * float(slope),
        rss_growth=(end[2] - warm[2]) / warm[2],
        meets_rss_target=(end[2] - warm[2]) / warm[2] < RSS_GROWTH_TARGET,
    )
    return report


def _latency_cells(run: dict) -> str:
    stats = run.get("latency_ms")
    cells = f"{stats['median']:>7.1f}/{stats['p90']:<7.1f}" if stats else f"{'-':>15}"
    if "first_third_ms" in run:
        first, last = run["first_third_ms"]["median"], run["last_third_ms"]["median"]
        cells += f" {first:>7.1f}/{last:<7.1f}"
    return cells


def print_report(report: dict) -> None:
    print(report["note"])
    latency, rates, soak = report["latency"], report["rates"], report["soak"]
    print(
        f"\n{'run':<26} {'fps':>5} {'sent':>6} {'node rx':>7} {'done':>6} {'dropped':>7} "
        f"{'lost':>5} {'results':>7} {'latency med/p90 ms':>18} {'1st/last third med':>18}"
    )
    rows = [(f"latency r{i + 1} (torch node)", r) for i, r in enumerate(latency["runs"])]
    rows += [(f"rate {name} (torch node)", run) for name, run in rates["runs"].items()]
    rows.append((f"soak {report['settings']['soak_backend']} node", soak))
    for name, run in rows:
        print(
            f"{name:<26} {run['camera']['rate_hz']:>5.1f} {run['sent']:>6} "
            f"{run['node_received']:>7} {run['node_processed']:>6} {run['frames_dropped']:>7} "
            f"{run['lost_before_node']:>5} {run['results_received']:>7}  {_latency_cells(run)}"
        )
    node, bare = latency["node_latency_ms"], latency["bare_reconstruct_ms"]
    print(
        f"\nover {latency['rounds']} rounds at {latency['camera_fps']} FPS: node "
        f"{node['median']:.1f}/{node['p90']:.1f} ms (stamp to receipt here), bare "
        f"HandReconstructor {bare['median']:.1f}/{bare['p90']:.1f} ms (median/p90), node adds "
        f"{latency['added_ms_median']:.1f} ms"
    )
    if soak.get("rss_growth") is not None:
        print(
            f"soak RSS: {soak['rss_start_mb']:.0f} MB at start, {soak['rss_warm_mb']:.1f} MB after "
            f"{soak['rss_warm_at_results']} results, {soak['rss_end_mb']:.1f} MB after "
            f"{soak['rss_end_at_results']}, peak {soak['rss_peak_after_warmup_mb']:.1f} MB, "
            f"slope {soak['rss_slope_kb_per_1000_results']:.0f} KB per 1000 results"
        )

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print("\ntargets (issue 6):")
    print(
        f"  node latency / bare reconstruct: {latency['overhead_median']:.2f}x median, "
        f"{latency['overhead_p90']:.2f}x p90 (target <= {OVERHEAD_TARGET}x, median): "
        f"{verdict(latency['meets_overhead_target'])}"
    )
    ratios = rates.get("ratios", {})
    print(
        f"  latency flat with the camera faster than the model: worst ratio "
        f"{max(ratios.values(), default=float('nan')):.2f} (60/30 FPS and last/first third, "
        f"median and p90; tolerance {FLAT_TOLERANCE}): {verdict(rates['latency_flat'])}"
    )
    dropped = ", ".join(f"{n} FPS {r['frames_dropped']}" for n, r in rates["runs"].items())
    print(
        f"  drops counted in /diagnostics frames_dropped ({dropped}), counters add up: "
        f"{verdict(rates['drops_counted'])}"
    )
    growth = soak.get("rss_growth")
    print(
        f"  soak of {soak['frames']} frames, RSS growth after warm-up "
        + (f"{100 * growth:.2f}%" if growth is not None else "not measured")
        + f" (target < {100 * RSS_GROWTH_TARGET:.0f}%): {verdict(soak['meets_rss_target'])}"
    )


FULL = {
    "rounds": 4,
    "latency_frames": 30,
    "warmup": 10,
    "rate_seconds": 15.0,
    "soak_frames": 10000,
    "soak_warmup": 500,
}
QUICK = {
    "rounds": 2,
    "latency_frames": 12,
    "warmup": 5,
    "rate_seconds": 6.0,
    "soak_frames": 900,
    "soak_warmup": 100,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("node.json"), help="output")
    parser.add_argument("--quick", action="store_true", help="smaller counts: a smoke run")
    parser.add_argument("--rounds", type=int, help="latency rounds (node, then bare)")
    parser.add_argument("--latency-frames", type=int, help="frames per latency round")
    parser.add_argument("--latency-fps", type=float, help="default: 40%% of the model's rate")
    parser.add_argument("--warmup", type=int, help="untimed frames for the node and the bare run")
    parser.add_argument("--rate-seconds", type=float, help="seconds at 30 and at 60 FPS")
    parser.add_argument("--soak-frames", type=int, help="frames in the soak (default 10000)")
    parser.add_argument("--soak-warmup", type=int, help="results before the warm RSS is read")
    parser.add_argument("--soak-fps", type=float, default=20.0, help="camera rate in the soak")
    parser.add_argument("--rss-interval", type=float, default=0.5, help="seconds between reads")
    parser.add_argument("--mano-dir", type=Path, help="MANO files; default: fixture arrays")
    parser.add_argument("--checkpoint", type=Path, help="RepeHand weights; default: plumbing")
    parser.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID; default: a free-ish one")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.rounds, args.latency_frames, args.warmup, args.soak_frames) < 1:
        parser.error("counts must be at least 1")
    return args


def isolate_dds(args: argparse.Namespace) -> None:
    """This machine only, a domain of its own, large images over shared memory; the camera
    and node processes inherit it."""
    domain = args.domain_id if args.domain_id is not None else random.randint(101, 200)
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    for variable in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):
        os.environ[variable] = str(ROOT / "config/fastdds_large_images.xml")  # Fast DDS 3 and 2
    os.environ.setdefault("ROS_LOG_DIR", tempfile.mkdtemp(prefix="repehand-bench-roslog-"))


def main() -> int:
    args = parse_args()
    isolate_dds(args)
    frame, _ = load_frames()  # the two-hands frame; also puts test/ on sys.path
    from fixtures.checkpoints import write_plumbing_checkpoint
    from fixtures.mano_files import write_official_mano_dir

    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="repehand-bench-node-") as name:
        folder = Path(name)
        frame_path = folder / "frame.npy"
        np.save(frame_path, frame)
        mano_dir = args.mano_dir
        if mano_dir is None:
            mano_dir = folder / "mano"
            write_official_mano_dir(mano_dir)
        checkpoint = args.checkpoint or write_plumbing_checkpoint(folder / "plumbing.pth")
        files = {
            "checkpoint": str(checkpoint),
            "mano_dir": str(mano_dir),
            "cache_dir": str(folder / "cache"),
        }
        latency_params = params_file(folder, "latency", {**files, **LATENCY_NODE})
        soak_params = params_file(folder, "soak", {**files, **SOAK_NODE})
        listener = Listener(f"bench{os.getpid()}")
        try:
            with node_process(latency_params, listener) as process:
                print("latency: node up (torch), rounds of camera frames and bare runs")
                latency = measure_latency(args, listener, frame, frame_path, latency_params)
                print("rates: camera at 30 and 60 FPS")
                rates = measure_rates(
                    args, listener, frame_path, latency["bare_reconstruct_ms"]["median"]
                )
                result_check = check_result(listener)
                latency_log = log_problems(process.log)
            with node_process(soak_params, listener) as process:
                print(f"soak: node up (onnxruntime), {args.soak_frames} frames")
                soak = measure_soak(args, listener, frame_path, process)
                soak_log = log_problems(process.log)
            markers, transforms = listener.marker_arrays, listener.tf_messages
        finally:
            listener.close()

    report = {
        "note": (
            "frame: right04.jpg (opencv-doc) with its hand mirrored, two hands, 640x480 rgb8; "
            f"weights: {'given' if args.checkpoint else 'plumbing checkpoint (random)'}; MANO: "
            f"{'given' if args.mano_dir else 'fixture files'}; torch CPU node for latency and "
            "rates, onnxruntime CPU node for the soak; both: detection roi "
            f"{list(FIXED_REGION)} without tracking, vertices, TF and markers (subscribed here)"
        ),
        "settings": {
            "quick": args.quick,
            "latency_node_parameters": LATENCY_NODE,
            "soak_node_parameters": SOAK_NODE,
            "soak_backend": SOAK_NODE["backend"],
            "latency_definition": "TwoHandMesh receipt in this process minus the image stamp "
            "(wall clock when the camera process published it)",
            "bare_definition": "HandReconstructor.reconstruct in this process, same config "
            "(parameters.reconstructor_config of the node's parameter file), same frame and "
            "intrinsics, paced at the camera's rate",
            "ros_domain_id": int(os.environ["ROS_DOMAIN_ID"]),
        },
        "targets": {
            "overhead_max": OVERHEAD_TARGET,
            "flat_tolerance": FLAT_TOLERANCE,
            "rss_growth_max": RSS_GROWTH_TARGET,
        },
        "machine": {
            "cpu_count": _cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
        },
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "latency": latency,
        "rates": rates,
        "soak": soak,
        "result_check": result_check,
        "marker_arrays_received": markers,
        "tf_messages_received": transforms,
        "node_log_problems": {"latency_node": latency_log, "soak_node": soak_log},
    }
    args.json.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
