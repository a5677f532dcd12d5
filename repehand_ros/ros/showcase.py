"""The whole ROS 2 graph on recorded footage, end to end (`repehand showcase`).

Three processes over real DDS, as on a robot: `repehand play` publishes the
footage (stamped now), `repehand node` runs with a parameter file, and
`repehand record` writes everything the node publishes into a bag. When the
footage is over and the node has answered its last frame, all three are
stopped (SIGINT, then SIGKILL after 30 s), and what came out is read back
(`showcase_summary`): the summary, and the footage with the node's answers
for the overlay video (`repehand_ros.visualization.answered_video`).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repehand_ros.io.files import write_bytes_atomically
from repehand_ros.ros import bags
from repehand_ros.ros.footage import SourceOptions
from repehand_ros.ros.package_files import FASTDDS_PROFILE, config_file
from repehand_ros.ros.recorder import HANDS_EVENT, MATCHED_EVENT, READY_EVENT
from repehand_ros.ros.showcase_summary import (
    AnsweredFrame,
    answered_frames,
    read_frames_log,
    read_results,
    summarize,
)

SETTLE_S = 1.5
"""After the last result: time for one more /diagnostics message (the node sends 1 Hz)."""


def child_environment() -> dict[str, str]:
    """The processes' environment: 640x480 images need the large-segment Fast DDS profile,
    under Fast DDS 3's name (Kilted) and Fast DDS 2's (Jazzy, Humble), which each ignores
    the other's."""
    env = dict(os.environ)
    for name in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):
        env.setdefault(name, str(config_file(FASTDDS_PROFILE)))
    env["PYTHONUNBUFFERED"] = "1"
    return env


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
    """`repehand record` in its own process; its JSON lines (`ros.recorder`'s events) are read
    on a thread."""

    def __init__(
        self,
        repehand: Sequence[str],
        bag: Path,
        node: str,
        storage: str,
        log: Path,
        env: dict[str, str],
    ):
        self.log_path = log
        self.log = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stamps: set[int] = set()
        self.process = subprocess.Popen(
            [*repehand, "record", str(bag), "--node", node, "--storage", storage, "--progress"],
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
            if event.get("event") == HANDS_EVENT:
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
    repehand: tuple[str, ...] = ("repehand",)
    """The command line that runs `repehand` (the player, node and recorder are its
    sub-commands)."""


def graph_names(namespace: str) -> dict[str, str]:
    """The namespace, the node's name and the camera's topics of a graph in `namespace`."""
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
    names = graph_names(settings.namespace)
    env = child_environment()
    recorder = node = player = None
    try:
        recorder = Recorder(
            settings.repehand,
            paths["bag"],
            names["node"],
            settings.storage,
            paths["recorder_log"],
            env,
        )
        recorder.wait_for({"event": READY_EVENT}, 60.0, "the recorder did not start")
        ros_args = ["--ros-args", "-r", f"__ns:={names['namespace']}"]
        ros_args += ["-p", f"image_topic:={names['image']}"]
        ros_args += ["-p", f"camera_info_topic:={names['camera_info']}"]
        ros_args += [a for a in settings.node_ros_args if a != "--ros-args"]
        with open(paths["node_log"], "w") as log:
            node = subprocess.Popen(
                [*settings.repehand, "node", "--params-file", str(settings.params_file), *ros_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        # Results sent before the recorder has matched the node would be lost.
        recorder.wait_for(
            {"event": MATCHED_EVENT, "topic": f"{names['node']}/hands"},
            settings.startup_timeout_s,
            f"the node did not start (its log: {paths['node_log']}):\n{_tail(paths['node_log'])}",
        )
        player_command = [
            *settings.repehand,
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
        ]
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


@dataclass
class ShowcaseRun:
    """A finished graph run, read back: what the player published and the node answered."""

    paths: dict[str, Path]
    """The files written: "bag", "frames" (the player's log), "node_log", ..."""
    frames: list[dict[str, Any]]
    """The player's log: one entry per published frame (index, source, stamp_ns, size, ...)."""
    hands: dict[int, tuple[Any, int]]
    """Each recorded TwoHandMesh by its stamp, with its receive time."""
    summary: dict[str, Any]
    """`showcase_summary.summarize`'s, without the outputs yet."""
    started: float
    """time.monotonic() at the start."""


def run_showcase(settings: ShowcaseSettings) -> ShowcaseRun:
    """The graph on the footage (`run_graph`), then its bag and logs read back and summarised."""
    started = time.monotonic()
    paths = run_graph(settings)
    frames = read_frames_log(paths["frames"])
    node = graph_names(settings.namespace)["node"]
    hands, diagnostics = read_results(paths["bag"], node)
    counts: dict[str, int] = {}
    for topic, _, _, _ in bags.read_messages(paths["bag"]):
        counts[topic] = counts.get(topic, 0) + 1
    (settings.out / "best_frame.png").unlink(missing_ok=True)
    summary = summarize(frames, hands, diagnostics, counts)
    return ShowcaseRun(paths, frames, hands, summary, started)


def answered_footage(settings: ShowcaseSettings, run: ShowcaseRun) -> Iterator[AnsweredFrame]:
    """The footage again, each published frame with its answer (for the overlay video)."""
    return answered_frames(settings.sources, settings.options, run.frames, run.hands)


def write_summary(
    settings: ShowcaseSettings, run: ShowcaseRun, video: Path, best_frame: Path | None
) -> dict[str, Any]:
    """The summary with the sources, the outputs and the wall time, as OUT/summary.json."""
    summary = dict(run.summary)
    summary["sources"] = [str(s) for s in settings.sources]
    summary["outputs"] = {
        "bag": str(run.paths["bag"]),
        "video": str(video),
        "best_frame": str(best_frame) if best_frame else None,
        "summary": str(settings.out / "summary.json"),
    }
    summary["wall_s"] = round(time.monotonic() - run.started, 1)
    text = json.dumps(summary, indent=2) + "\n"
    write_bytes_atomically(settings.out / "summary.json", text.encode())
    return summary
