"""The demo's JSON of results: per frame, each hand's joints, wrist pose, MANO parameters and
confidence (or why it was not found), and the cameras used.

The file is rewritten whole (atomically) at the end, or when a run stops
early, with one line per frame: readable, and easy to diff or grep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import JOINT_NAMES
from repehand_ros.io.files import write_bytes_atomically
from repehand_ros.pipeline.results import HandResult

COORDINATES = "camera optical frame: x right, y down, z forward; metres"


def floats(array: Any) -> list:
    """A number array as nested lists rounded to 6 decimals (micrometres, for metres)."""
    return np.round(np.asarray(array, dtype=np.float64), 6).tolist()


def hand_json(hand: HandResult, mesh: str | None) -> dict[str, Any]:
    """One hand as JSON: what was found (and `mesh`, its OBJ file), or why not."""
    if not hand.valid:
        return {"valid": False, "reason": hand.reason}
    return {
        "valid": True,
        "confidence": round(hand.confidence, 6),
        "wrist_position": floats(hand.wrist_position),
        "wrist_rotation": floats(hand.wrist_rotation),
        "wrist_axis_angle": floats(hand.mano_pose[:3]),
        "joints": floats(hand.joints),
        "keypoints_2d": floats(hand.keypoints_2d),
        "mano_pose": floats(hand.mano_pose),
        "mano_shape": floats(hand.mano_shape),
        "mesh": mesh,
    }


def camera_json(camera: PinholeCamera, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "width": camera.width,
        "height": camera.height,
        "k": camera.k.tolist(),
        "d": camera.d.tolist(),
        "distortion_model": camera.distortion_model,
    }


@dataclass
class ResultsFile:
    """NAME.json: `header`, then the cameras and the frames added so far."""

    path: Path
    header: dict[str, Any]
    frames: list[dict[str, Any]] = field(default_factory=list)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    _camera_index: dict[int, int] = field(default_factory=dict)

    def camera_index(self, camera: PinholeCamera, source: str) -> int:
        """The position of `camera` in the file's camera list (added when new)."""
        if id(camera) not in self._camera_index:
            self._camera_index[id(camera)] = len(self.cameras)
            self.cameras.append(camera_json(camera, source))
        return self._camera_index[id(camera)]

    def write(self, complete: bool, failed: list[str]) -> None:
        """The whole file; `complete`: every frame of the input is in it."""
        document = {
            **self.header,
            "complete": complete,
            "failed": failed,
            "coordinates": COORDINATES,
            "joint_names": list(JOINT_NAMES),
            "cameras": self.cameras,
        }
        lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in document.items()]
        frames = ",\n".join(f"  {json.dumps(frame)}" for frame in self.frames)
        lines.append(f' "frames": [\n{frames}\n ]' if frames else ' "frames": []')
        write_bytes_atomically(self.path, ("{\n" + ",\n".join(lines) + "\n}\n").encode())
