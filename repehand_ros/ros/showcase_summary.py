"""What a showcase run left: its summary, and the footage with the node's answers.

The results are the TwoHandMesh messages in the recorded bag, matched to the
frames the player published (its JSON-lines log) by stamp. `answered_frames`
reads the footage again and pairs each frame with its answer, for
`repehand_ros.visualization.answered_video` to draw.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.ros import bags
from repehand_ros.ros.footage import SourceOptions, iter_frames


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
        message: Any = store.deserialize_cdr(data, msgtype)
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


@dataclass
class AnsweredFrame:
    """A frame of the footage as the player showed it, and the node's answer to it."""

    rgb: np.ndarray
    period_s: float
    label: str
    """"frame N  FILE"."""
    answer: Any
    """The recorded TwoHandMesh with this frame's stamp (rosbags' dataclass), or None."""


def answered_frames(
    sources: Sequence[Path],
    options: SourceOptions,
    frames: list[dict[str, Any]],
    hands: dict[int, tuple[Any, int]],
) -> Iterator[AnsweredFrame]:
    """The footage read again, each frame the player published with the TwoHandMesh of its
    stamp (None where the node dropped it)."""
    by_index = {frame["index"]: frame for frame in frames}
    for frame in iter_frames(sources, options):
        logged = by_index.get(frame.index)
        if logged is None:
            continue
        found = hands.get(logged["stamp_ns"])
        label = f"frame {frame.index}  {Path(frame.source).name}"
        yield AnsweredFrame(frame.to_rgb(), frame.period_s, label, found[0] if found else None)


def video_format(frames: list[dict[str, Any]]) -> tuple[tuple[int, int], float]:
    """(width, height) that holds every published frame, and a frame rate for a video of them
    (the fastest frame's, within 1..30 per second)."""
    size = (max(f["width"] for f in frames), max(f["height"] for f in frames))
    periods = [f["period_s"] for f in frames if f.get("period_s", 0) > 0]
    return size, min(30.0, max(1.0, 1.0 / min(periods))) if periods else 10.0
