"""The demo's work on a sequence of frames: reconstruct, draw and write, frame by frame.

For each frame, into the output folder: the image with both hands drawn
(NAME.png per image, or one video for a video input), each valid hand's mesh
as an OBJ in the camera's optical frame (metres, MANO's triangles), and its
entry in the JSON of results (`results_file`). Every file is complete or
absent: an unfinished frame leaves nothing behind, and the video and the
JSON are finalised however the run ends. A stop request (`stop.requested`,
e.g. `repehand_ros.io.signals.StopOnSignal`) is honoured after the frame in
progress.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from repehand_ros.io.calibration import CalibrationError, CameraChoice
from repehand_ros.io.frames import FOLDER, VIDEO, Frame
from repehand_ros.io.writers import VideoFile, write_obj, write_png
from repehand_ros.pipeline.results import TwoHandResult
from repehand_ros.visualization.render import HandRenderer, drawings_from_result
from repehand_ros.visualization.results_file import ResultsFile, floats, hand_json

logger = logging.getLogger(__name__)


class StopRequest(Protocol):
    requested: bool


@dataclass(frozen=True)
class SessionSettings:
    out: Path
    """The output folder (existing)."""
    input: Path
    """The image, folder or video the frames come from."""
    kind: str
    """repehand_ros.io.frames IMAGE, FOLDER or VIDEO."""
    stem: str
    """NAME of NAME.json (and of the video, and its NAME_meshes folder)."""
    fps: float = 30.0
    """The output video's frame rate."""
    skeleton: bool = False
    """Draw each hand's joints and bones over its mesh."""
    meshes: bool = True
    """Write each valid hand's mesh as an OBJ."""


class DemoSession:
    """One run over the frames of one input."""

    def __init__(
        self,
        settings: SessionSettings,
        reconstructor: Any,
        renderer: HandRenderer,
        cameras: CameraChoice,
    ) -> None:
        """`reconstructor`: a HandReconstructor (or anything with its `reconstruct`, `reset`,
        `faces`, `backend_name` and `input_size`)."""
        self.settings = settings
        self.reconstructor, self.renderer, self.cameras = reconstructor, renderer, cameras
        self.results = ResultsFile(
            settings.out / f"{settings.stem}.json",
            {
                "input": str(settings.input),
                "kind": settings.kind,
                "backend": reconstructor.backend_name,
                "input_size": reconstructor.input_size,
                "renderer": renderer.name,
            },
        )
        self.failed: list[str] = []
        """One line per frame that could not be processed (folders only)."""
        self.video: VideoFile | None = None

    def process(
        self,
        frames: Iterable[Frame],
        stop: StopRequest | None = None,
        advance: Callable[[int], object] | None = None,
    ) -> bool:
        """Every frame, until the end or a stop request; True when every frame was seen.

        The video and the JSON are written however this ends (an exception included).
        """
        complete = False
        try:
            for frame in frames:
                self._one_frame(frame)
                if advance is not None:
                    advance(1)
                if stop is not None and stop.requested:
                    break
            else:
                complete = True
        finally:
            if self.video is not None:
                self.video.close()
            self.results.write(complete, self.failed)
        return complete

    def _one_frame(self, frame: Frame) -> None:
        settings = self.settings
        if frame.rgb is None:
            logger.warning("skipped %s: %s", frame.source, frame.error)
            self.failed.append(frame.error)
            return
        height, width = frame.rgb.shape[:2]
        try:
            camera = self.cameras.camera(width, height)
        except CalibrationError as error:
            if settings.kind != FOLDER:
                raise
            logger.warning("skipped %s: %s", frame.source, error)
            self.failed.append(f"{frame.source}: {error}")
            return
        if settings.kind == FOLDER:
            self.reconstructor.reset()  # unrelated photos: nothing to track between them
        result = self.reconstructor.reconstruct(frame.rgb, camera, frame.time_s)
        hands = drawings_from_result(result, self.reconstructor.faces)
        drawn = self.renderer.render(frame.rgb, camera, hands, skeleton=settings.skeleton)
        written: list[Path] = []
        try:
            meshes = self._write_meshes(frame, result, written)
            entry: dict[str, Any] = {"index": frame.index, "source": frame.source}
            if settings.kind == VIDEO:
                if self.video is None:
                    stem = settings.out / settings.stem
                    self.video = VideoFile(stem, settings.fps, width, height)
                entry["time"] = round(frame.time_s, 6)
            else:
                image_path = write_png(settings.out / f"{frame.name}.png", drawn)
                written.append(image_path)
                entry["image"] = image_path.name
            entry["camera"] = self.results.camera_index(camera, self.cameras.source)
            entry["hands"] = {
                hand.side.name.lower(): hand_json(hand, meshes.get(hand.side.name.lower()))
                for hand in result.hands
            }
            entry["relative_translation"] = floats(result.relative_translation)
        except BaseException:
            for path in written:  # an unfinished frame leaves nothing behind
                path.unlink(missing_ok=True)
            raise
        if self.video is not None:
            self.video.write(drawn)
        self.results.frames.append(entry)

    def _write_meshes(
        self, frame: Frame, result: TwoHandResult, written: list[Path]
    ) -> dict[str, str]:
        settings = self.settings
        faces = self.reconstructor.faces
        if not settings.meshes or faces is None:  # no mesh: joints only
            return {}
        meshes: dict[str, str] = {}
        folder = settings.out
        if settings.kind == VIDEO:
            folder = settings.out / f"{settings.stem}_meshes"
            folder.mkdir(exist_ok=True)
        for hand, hand_faces in zip(result.hands, faces, strict=True):
            if not hand.valid or hand.vertices is None:
                continue
            side = hand.side.name.lower()
            comment = (
                f"RepeHand {side} hand from {frame.source}"
                + (f" of {settings.input.name}" if settings.kind == VIDEO else "")
                + "\ncamera optical frame (x right, y down, z forward), metres"
            )
            path = write_obj(
                folder / f"{frame.name}_{side}.obj", hand.vertices, hand_faces, comment
            )
            written.append(path)
            meshes[side] = str(path.relative_to(settings.out))
        return meshes
