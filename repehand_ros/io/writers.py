"""Files made of images and meshes, ROS-free: PNG, Wavefront OBJ, MP4 (or AVI) video.

Each is written whole or not at all (`repehand_ros.io.files`): a PNG or an
OBJ through `write_atomically`, a video under a partial name that `close`
puts in place once finalised. Images are H x W x 3 uint8 RGB.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np

from repehand_ros.io.files import commit, partial_path, write_bytes_atomically

logger = logging.getLogger(__name__)

VIDEO_CODECS: tuple[tuple[str, str], ...] = ((".mp4", "mp4v"), (".avi", "MJPG"))
"""Containers and codecs tried in order for a video."""


class EncodingError(RuntimeError):
    """OpenCV cannot encode what was asked here (a PNG, any of the video codecs)."""


def obj_bytes(vertices: np.ndarray, faces: np.ndarray, comment: str = "") -> bytes:
    """A Wavefront OBJ: `vertices` (V, 3) as `v` lines, `faces` (F, 3) as 1-based `f` lines,
    after `comment` as `#` lines."""
    text = io.StringIO()
    for line in comment.splitlines():
        text.write(f"# {line}\n")
    np.savetxt(text, np.asarray(vertices, dtype=np.float64), fmt="v %.6f %.6f %.6f")
    np.savetxt(text, np.asarray(faces, dtype=np.int64) + 1, fmt="f %d %d %d")
    return text.getvalue().encode("ascii")


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise EncodingError("OpenCV could not encode a PNG")
    return encoded.tobytes()


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """`rgb` as a PNG at `path`, atomically."""
    return write_bytes_atomically(path, png_bytes(rgb))


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, comment: str = "") -> Path:
    """A mesh as a Wavefront OBJ at `path`, atomically."""
    return write_bytes_atomically(path, obj_bytes(vertices, faces, comment))


class VideoFile:
    """A video at STEM.mp4 (STEM.avi, Motion-JPEG, where OpenCV has no MP4 encoder), written
    under a partial name; `close` finalises the container and puts it in place, or removes it
    when it holds no frame. A context manager."""

    def __init__(self, stem: Path, fps: float, width: int, height: int) -> None:
        self._writer: cv2.VideoWriter | None = None
        for suffix, codec in VIDEO_CODECS:
            path = stem.with_name(stem.name + suffix)
            temporary = partial_path(path)
            writer = cv2.VideoWriter(
                str(temporary), cv2.VideoWriter.fourcc(*codec), fps, (width, height)
            )
            if writer.isOpened():
                self._writer, self.path, self._temporary = writer, path, temporary
                break
            writer.release()
            temporary.unlink(missing_ok=True)
            logger.info(
                "OpenCV cannot write %s (%s) here; trying the next container", suffix, codec
            )
        if self._writer is None:
            raise EncodingError("OpenCV can write neither MP4 (mp4v) nor AVI (MJPG) video here")
        self.size = (width, height)
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        """One frame, of the video's size."""
        if self._writer is None:
            raise ValueError(f"{self.path} is closed")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self.frames:
            commit(self._temporary, self.path)
        else:
            self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
