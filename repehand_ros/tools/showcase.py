"""`repehand showcase [SOURCE...]`: the whole ROS 2 graph on recorded footage, end to end.

Three processes over real DDS, as on a robot:

    repehand play  --(Image, CameraInfo)-->  repehand node  --(TwoHandMesh, /tf,
    markers, /diagnostics)-->  repehand record  (a rosbag2)

The player publishes the footage at its own frame rate (stamped now), the
node runs with config/hands.yaml (RepeHand when its weights and MANO files
are in weights/, otherwise the MediaPipe keypoint backend), and the recorder
writes everything the node publishes into a bag. When the footage is over and
the node has answered its last frame, all three are stopped, and --out gets:

    bag/              the rosbag2 (MCAP; `ros2 bag play`, Foxglove, rosbags)
    hands.mp4         the footage with both hands drawn over it, matched by
                      stamp (hands.avi when OpenCV has no MP4 encoder)
    best_frame.png    the frame with the most, and most confident, hands
    summary.json      frames in, hands found per side, latency percentiles,
                      frames dropped (also printed)
    frames.jsonl, node.log, player.log, recorder.log   what each process did

Default SOURCE: Debian opencv-doc's tree.avi (a hand in its last frames),
then right04.jpg (a hand holding a chessboard) for a few seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.tools import bags
from repehand_ros.tools.play import (
    SourceError,
    SourceOptions,
    add_source_arguments,
    default_sources,
    iter_frames,
    source_options,
)

DEFAULT_OUT = Path("output")
FASTDDS_PROFILE = "fastdds_large_images.xml"
PARAMS_FILE = "hands.yaml"
STILL_SECONDS = 3.0
"""How long a single image (right04.jpg by default) is shown."""
SETTLE_S = 1.5
"""After the last result: time for one more /diagnostics message (the node sends 1 Hz)."""


def config_file(name: str) -> Path:
    """A file of config/: the source tree's, or the installed share/repehand_ros/config."""
    candidates = [Path(__file__).resolve().parents[2] / "config" / name]
    candidates.append(Path(sys.prefix) / "share" / "repehand_ros" / "config" / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"config/{name} not found; looked in {[str(c) for c in candidates]}")


# -- processes --------------------------------------------------------------------------------


def child_environment() -> dict[str, str]:
    """The processes' environment: 640x480 images need the large-segment Fast DDS profile."""
    env = dict(os.environ)
    env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(config_file(FASTDDS_PROFILE)))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _command(*args: str) -> list[str]:
    """`repehand ARGS` with this interpreter (not `-m`: CommandError must stay one class)."""
    program = "import sys; from repehand_ros.tools.cli import main; sys.exit(main())"
    return [sys.executable, "-c", program, *args]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen | None, timeout_s: float = 30.0) -> None:
    """SIGINT (a clean shutdown), then SIGKILL if it does not end in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Recorder:
    """`repehand record` in its own process; its JSON lines are read on a thread."""

    def __init__(self, bag: Path, node: str, storage: str, log: Path, env: dict[str, str]):
        self.log_path = log
        self.log = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stamps: set[int] = set()
        self.process = subprocess.Popen(
            _command("record", str(bag), "--node", node, "--storage", storage, "--progress"),
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.write(line)
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "hands":
                self.stamps.add(int(event["stamp_ns"]))
            self.events.put(event)

    def wait_for(self, what: dict[str, str], timeout_s: float, problem: str) -> None:
        """Until an event with the items of `what` comes; RuntimeError(problem) after timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if all(event.get(key) == value for key, value in what.items()):
                return
        raise RuntimeError(f"{problem}; the recorder's log:\n{_tail(self.log_path)}")

    def stop(self) -> None:
        _stop(self.process)
        self._reader.join(timeout=10)
        self.log.close()


# -- the run ----------------------------------------------------------------------------------


@dataclass
class ShowcaseSettings:
    sources: list[Path]
    out: Path
    options: SourceOptions
    params_file: Path
    namespace: str = ""
    storage: str = "mcap"
    node_ros_args: list[str] = field(default_factory=list)
    startup_timeout_s: float = 180.0
    finish_timeout_s: float = 60.0
    player_args: list[str] = field(default_factory=list)
    """Extra `repehand play` options (intrinsics, frame id)."""


def _names(namespace: str) -> dict[str, str]:
    base = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return {
        "namespace": base or "/",
        "node": f"{base}/hands",
        "image": f"{base}/camera/image_raw",
        "camera_info": f"{base}/camera/camera_info",
    }


def run_graph(settings: ShowcaseSettings) -> dict[str, Path]:
    """Runs player, node and recorder until the footage is done; returns the files written."""
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "bag": out / "bag",
        "frames": out / "frames.jsonl",
        "node_log": out / "node.log",
        "player_log": out / "player.log",
        "recorder_log": out / "recorder.log",
    }
    if paths["bag"].exists():
        shutil.rmtree(paths["bag"])
    paths["frames"].unlink(missing_ok=True)
    names = _names(settings.namespace)
    env = child_environment()
    recorder = node = player = None
    try:
        recorder = Recorder(
            paths["bag"], names["node"], settings.storage, paths["recorder_log"], env
        )
        recorder.wait_for({"event": "ready"}, 60.0, "the recorder did not start")
        ros_args = ["--ros-args", "-r", f"__ns:={names['namespace']}"]
        ros_args += ["-p", f"image_topic:={names['image']}"]
        ros_args += ["-p", f"camera_info_topic:={names['camera_info']}"]
        ros_args += [a for a in settings.node_ros_args if a != "--ros-args"]
        with open(paths["node_log"], "w") as log:
            node = subprocess.Popen(
                _command("node", "--params-file", str(settings.params_file), *ros_args),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        # Results sent before the recorder has matched the node would be lost.
        recorder.wait_for(
            {"event": "matched", "topic": f"{names['node']}/hands"},
            settings.startup_timeout_s,
            f"the node did not start (its log: {paths['node_log']}):\n{_tail(paths['node_log'])}",
        )
        player_command = _command(
            "play",
            *map(str, settings.sources),
            "--image-topic",
            names["image"],
            "--camera-info-topic",
            names["camera_info"],
            "--restamp",
            "--wait",
            str(settings.startup_timeout_s),
            "--log",
            str(paths["frames"]),
            "--repeat",
            str(settings.options.repeat),
            "--skip",
            str(settings.options.skip),
            *settings.player_args,
        )
        if settings.options.rate_hz:
            player_command += ["--rate", str(settings.options.rate_hz)]
        if settings.options.limit:
            player_command += ["--limit", str(settings.options.limit)]
        if settings.options.bag_topic:
            player_command += ["--bag-topic", settings.options.bag_topic]
        with open(paths["player_log"], "w") as log:
            player = subprocess.Popen(player_command, stdout=log, stderr=subprocess.STDOUT, env=env)
        while player.poll() is None:
            if node.poll() is not None:
                raise RuntimeError(f"the node stopped early:\n{_tail(paths['node_log'])}")
            time.sleep(0.2)
        if player.returncode != 0:
            raise RuntimeError(f"the player failed:\n{_tail(paths['player_log'])}")
        last = _last_stamp(paths["frames"])
        if last is None:
            raise RuntimeError(
                f"the player published nothing (did the node subscribe?):\n"
                f"{_tail(paths['player_log'])}\n{_tail(paths['node_log'])}"
            )
        # The node always works on the newest frame, so its last answer is for the last frame.
        deadline = time.monotonic() + settings.finish_timeout_s
        while last not in recorder.stamps and time.monotonic() < deadline:
            if node.poll() is not None:
                raise RuntimeError(f"the node stopped early:\n{_tail(paths['node_log'])}")
            time.sleep(0.1)
        time.sleep(SETTLE_S)
    finally:
        _stop(player)
        _stop(node)
        if recorder is not None:
            recorder.stop()
    return paths


def _last_stamp(frames_log: Path) -> int | None:
    if not frames_log.is_file():
        return None
    lines = frames_log.read_text().splitlines()
    return int(json.loads(lines[-1])["stamp_ns"]) if lines else None


# -- what came out ----------------------------------------------------------------------------


def read_frames_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_results(bag: Path, node: str) -> tuple[dict[int, tuple[Any, int]], dict[str, float]]:
    """TwoHandMesh by stamp (with its receive time), and the node's last diagnostics values."""
    store = bags.typestore()
    hands: dict[int, tuple[Any, int]] = {}
    diagnostics: dict[str, float] = {}
    for topic, msgtype, logged, data in bags.read_messages(
        bag, msgtypes={bags.TWO_HAND_MESH, bags.DIAGNOSTIC_ARRAY}
    ):
        message = store.deserialize_cdr(data, msgtype)
        if msgtype == bags.TWO_HAND_MESH and topic == f"{node}/hands":
            stamp = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
            hands[stamp] = (message, logged)
        elif msgtype == bags.DIAGNOSTIC_ARRAY:
            for status in message.status:
                if status.name.startswith(f"{node}:"):
                    for value in status.values:
                        with contextlib.suppress(ValueError):
                            diagnostics[value.key] = float(value.value)
    return hands, diagnostics


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    array = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(array, 50)), 1),
        "p90": round(float(np.percentile(array, 90)), 1),
        "p99": round(float(np.percentile(array, 99)), 1),
        "max": round(float(array.max()), 1),
    }


def _score(message: Any) -> tuple[int, float]:
    hands = [h for h in (message.right, message.left) if h.valid]
    return len(hands), sum(float(h.confidence) for h in hands)


def summarize(
    frames: list[dict[str, Any]],
    hands: dict[int, tuple[Any, int]],
    diagnostics: dict[str, float],
    counts: dict[str, int],
) -> dict[str, Any]:
    stamps = {frame["stamp_ns"] for frame in frames}
    matched = [hands[s] for s in sorted(stamps) if s in hands]
    latency = [
        (logged - s) * 1e-6 for s in sorted(stamps) if s in hands for logged in [hands[s][1]]
    ]
    return {
        "frames_in": len(frames),
        "results": len(hands),
        "frames_with_result": len(matched),
        "hands_found": {
            "right": sum(1 for m, _ in matched if m.right.valid),
            "left": sum(1 for m, _ in matched if m.left.valid),
        },
        "backends": sorted({m.backend for m, _ in matched}),
        "latency_ms": _percentiles(latency),
        "processing_ms": _percentiles([float(m.total_ms) for m, _ in matched]),
        "frames_dropped": int(diagnostics.get("frames_dropped", 0)),
        "frames_received_by_node": int(diagnostics.get("frames_received", 0)),
        "frames_processed_by_node": int(diagnostics.get("frames_processed", 0)),
        "messages": counts,
    }


def _video_writer(path_stem: Path, fps: float, size: tuple[int, int]):
    """An MP4 writer, or an AVI (MJPG) one when this OpenCV cannot write MP4."""
    import cv2

    for suffix, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
        path = path_stem.with_suffix(suffix)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
        if writer.isOpened():
            return writer, path
        writer.release()
        path.unlink(missing_ok=True)
    raise RuntimeError("OpenCV can write neither MP4 (mp4v) nor AVI (MJPG) video here")


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` scaled to fit `size` (width, height), centred on black."""
    import cv2

    width, height = size
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    scaled = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - scaled.shape[0]) // 2, (width - scaled.shape[1]) // 2
    canvas[top : top + scaled.shape[0], left : left + scaled.shape[1]] = scaled
    return canvas


def render(
    settings: ShowcaseSettings,
    frames: list[dict[str, Any]],
    hands: dict[int, tuple[Any, int]],
) -> tuple[Path, Path | None]:
    """The overlay video and the best frame's PNG; returns their paths.

    The footage is read again, frame by frame, and each frame gets the
    TwoHandMesh with its stamp; a frame the node dropped says so. Each frame
    is shown as long as the player showed it.
    """
    import cv2

    from repehand_ros.visualization.overlay import draw_message, draw_status

    size = (max(f["width"] for f in frames), max(f["height"] for f in frames))
    by_index = {frame["index"]: frame for frame in frames}
    periods = [f["period_s"] for f in frames if f.get("period_s", 0) > 0]
    fps = min(30.0, max(1.0, 1.0 / min(periods))) if periods else 10.0
    writer, video = _video_writer(settings.out / "hands", fps, size)
    best_score: tuple[int, float] = (0, 0.0)
    best_image: np.ndarray | None = None
    shown, written = 0.0, 0
    try:
        for frame in iter_frames(settings.sources, settings.options):
            logged = by_index.get(frame.index)
            if logged is None:
                continue
            image = np.ascontiguousarray(frame.to_rgb())
            found = hands.get(logged["stamp_ns"])
            status = [f"frame {frame.index}  {Path(frame.source).name}"]
            score = (0, 0.0)
            if found is None:
                status.append("no result (the node dropped this frame)")
            else:
                message = found[0]
                draw_message(image, message)
                sides = [
                    n for n, h in (("right", message.right), ("left", message.left)) if h.valid
                ]
                status.append(f"{message.backend}: {', '.join(sides) or 'no hands'}")
                score = _score(message)
            draw_status(image, status)
            fitted = _fit(image, size)
            if score > best_score:
                best_score, best_image = score, fitted
            bgr = cv2.cvtColor(fitted, cv2.COLOR_RGB2BGR)
            # Video time follows footage time: each frame stays until the next is due.
            shown += frame.period_s
            target = max(written + 1, round(shown * fps))
            while written < target:
                writer.write(bgr)
                written += 1
    finally:
        writer.release()
    png = None
    if best_image is not None:
        png = settings.out / "best_frame.png"
        cv2.imwrite(str(png), cv2.cvtColor(best_image, cv2.COLOR_RGB2BGR))
    return video, png


def showcase(settings: ShowcaseSettings) -> dict[str, Any]:
    """The whole run: the graph, then the video, the best frame and the summary."""
    started = time.monotonic()
    paths = run_graph(settings)
    frames = read_frames_log(paths["frames"])
    node = _names(settings.namespace)["node"]
    hands, diagnostics = read_results(paths["bag"], node)
    counts: dict[str, int] = {}
    for topic, _, _, _ in bags.read_messages(paths["bag"]):
        counts[topic] = counts.get(topic, 0) + 1
    summary = summarize(frames, hands, diagnostics, counts)
    (settings.out / "best_frame.png").unlink(missing_ok=True)
    video, png = render(settings, frames, hands)
    summary["sources"] = [str(s) for s in settings.sources]
    summary["outputs"] = {
        "bag": str(paths["bag"]),
        "video": str(video),
        "best_frame": str(png) if png else None,
        "summary": str(settings.out / "summary.json"),
    }
    summary["wall_s"] = round(time.monotonic() - started, 1)
    (settings.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def describe(summary: dict[str, Any]) -> str:
    """The summary in a few lines, for people."""
    latency = summary["latency_ms"]
    found = summary["hands_found"]
    lines = [
        f"frames in: {summary['frames_in']}, results: {summary['frames_with_result']} "
        f"(backend {', '.join(summary['backends']) or 'none'})",
        f"hands found: right in {found['right']}, left in {found['left']} frames",
        f"frames dropped by the node (newest first): {summary['frames_dropped']}",
    ]
    if latency:
        lines.append(
            "latency, image stamp to recorded result: "
            f"p50 {latency['p50']} ms, p90 {latency['p90']} ms, max {latency['max']} ms"
        )
    outputs = summary["outputs"]
    lines.append(f"bag: {outputs['bag']}")
    lines.append(f"video: {outputs['video']}")
    if outputs["best_frame"]:
        lines.append(f"best frame: {outputs['best_frame']}")
    lines.append(f"summary: {outputs['summary']}")
    return "\n".join(lines)


# -- the command ------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "showcase",
        help="run player, node and recorder on footage; write a bag, a video and a summary",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sources",
        nargs="*",
        type=Path,
        metavar="SOURCE",
        help="video, image folder, image or bag (default: the opencv-doc footage)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (output/)")
    parser.add_argument(
        "--params-file",
        type=Path,
        metavar="YAML",
        help="the node's parameters (default: config/hands.yaml)",
    )
    parser.add_argument(
        "--namespace", default="", help="run the graph in this ROS namespace (default: none)"
    )
    parser.add_argument("--storage", choices=sorted(bags.STORAGES), default="mcap")
    add_source_arguments(parser)
    parser.set_defaults(func=run, accepts_ros_args=True, repeat=None)


def run(args: argparse.Namespace) -> int:
    from repehand_ros.tools.command import CommandError

    if args.repeat is None:
        rate = args.rate or 10.0
        args.repeat = max(1, round(STILL_SECONDS * rate))
    options = source_options(args)
    try:
        sources = list(args.sources) or default_sources()
    except SourceError as error:
        raise CommandError(str(error)) from None
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise CommandError(f"source not found: {', '.join(missing)}")
    params = args.params_file or config_file(PARAMS_FILE)
    if not params.is_file():
        raise CommandError(f"parameter file not found: {params}")
    player_args = []
    for option, value in (
        ("--camera-info", args.camera_info),
        ("--focal", args.focal),
        ("--frame-id", args.frame_id),
    ):
        if value is not None:
            player_args += [option, str(value)]
    settings = ShowcaseSettings(
        sources=[s.resolve() for s in sources],
        out=args.out,
        options=options,
        params_file=params.resolve(),
        namespace=args.namespace,
        storage=args.storage,
        node_ros_args=list(args.ros_args),
        player_args=player_args,
    )
    print(
        "showcase: player -> node -> recorder over DDS on "
        f"{', '.join(s.name for s in settings.sources)} (logs in {args.out})",
        flush=True,
    )
    try:
        summary = showcase(settings)
    except RuntimeError as error:
        raise CommandError(str(error)) from None
    print(describe(summary))
    print(json.dumps({key: summary[key] for key in summary if key != "messages"}))
    return 0
