"""Frames from camera files, ROS-free: an image, a folder of images, a video.

Every source yields `Frame`s: the image as H x W x 3 uint8 RGB, its position
in the source, the name of where it came from, and its timing (the video's
own frame rate; for images a period the caller gives). One list of image
suffixes (`IMAGE_SUFFIXES`) and one of video suffixes serve every command.
A problem with a source (missing, unreadable, nothing in it) is a
`SourceError` naming the file. ROS 2 bags are read in `repehand_ros.ros.bags`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)
"""Files taken as images, in a folder or alone (case-insensitive)."""
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
"""Files taken as videos without trying them as images first."""
DEFAULT_FPS = 30.0
"""Frame rate of a video that does not say its own (or says nonsense)."""
MAX_FPS = 1000.0

IMAGE = "image"
FOLDER = "folder"
VIDEO = "video"

T = TypeVar("T")


class SourceError(ValueError):
    """A source that cannot be read: missing, unreadable, or with nothing in it."""


@dataclass
class Frame:
    """One image of a source."""

    index: int
    """Position in its source, from 0 (a video's frame number)."""
    source: str
    """Where it came from: the image file's name, or "frame N" of a video."""
    name: str
    """A file stem for what is made of this frame, unique within its source."""
    time_s: float
    """Seconds from the start of the source: the video's time; index x period for images."""
    period_s: float
    """Seconds until the next frame at the source's pace (1 / the video's frame rate)."""
    rgb: np.ndarray | None
    """H x W x 3 uint8 RGB, or None when it could not be read (`error` says why)."""
    error: str = ""


def read_image(path: Path) -> np.ndarray:
    """`path` as H x W x 3 uint8 RGB; SourceError if it is missing or OpenCV cannot decode it."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"image not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"cannot read image {path}: not an image file OpenCV can decode")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def folder_images(folder: Path) -> list[Path]:
    """The images of `folder` (by suffix), sorted by name; SourceError when there are none."""
    paths = sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not paths:
        raise SourceError(
            f"no images in folder {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return paths


def image_frames(paths: Sequence[Path], period_s: float = 1.0) -> Iterator[Frame]:
    """Each image in turn; one that cannot be read is a frame with `rgb` None and its error.

    A frame's name is the file's stem, or its whole name (dots made underscores) when
    two files share a stem.
    """
    stems = [path.stem for path in paths]
    for index, path in enumerate(paths):
        name = path.stem if stems.count(path.stem) == 1 else path.name.replace(".", "_")
        try:
            rgb, error = read_image(path), ""
        except SourceError as problem:
            rgb, error = None, str(problem)
        yield Frame(index, path.name, name, index * period_s, period_s, rgb, error)


def repeated_image(path: Path, times: int, period_s: float) -> Iterator[Frame]:
    """One image `times` times (read once), as a camera that keeps seeing it."""
    rgb = read_image(path)
    for index in range(times):
        yield Frame(index, path.name, f"{path.stem}_{index:06d}", index * period_s, period_s, rgb)


class VideoSource:
    """The frames of a video file, checked to be readable when opened; a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._capture = cv2.VideoCapture(str(self.path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok or first is None:
            self._capture.release()
            raise SourceError(
                f"cannot read video {self.path}: OpenCV cannot open it or decode any frame"
            )
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and 0 < fps <= MAX_FPS else DEFAULT_FPS
        """Frames per second: the file's, or DEFAULT_FPS when it does not say."""
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        """As the container says (None: unknown); an estimate for some formats."""

    def frames(self, fps: float | None = None) -> Iterator[Frame]:
        """Every frame in order, timed at `fps` (default: the video's own)."""
        rate = fps or self.fps
        index = 0
        while True:
            if self._first is not None:
                bgr, self._first = self._first, None
            else:
                ok, bgr = self._capture.read()
                if not ok or bgr is None:
                    return
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield Frame(index, f"frame {index}", f"{index:06d}", index / rate, 1.0 / rate, rgb)
            index += 1

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def source_kind(path: Path) -> str:
    """FOLDER, VIDEO or IMAGE: by suffix, and a file with an unknown suffix is an image if
    OpenCV decodes it as one, else taken as a video; SourceError if `path` does not exist."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"input not found: {path}")
    if path.is_dir():
        return FOLDER
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return VIDEO
    if suffix in IMAGE_SUFFIXES:
        return IMAGE
    try:
        read_image(path)
    except SourceError:
        return VIDEO
    return IMAGE


def open_video(path: Path) -> VideoSource:
    """`VideoSource(path)`, saying "neither an image nor a video" for a file whose suffix
    did not say it was a video."""
    try:
        return VideoSource(path)
    except SourceError:
        if Path(path).suffix.lower() in VIDEO_SUFFIXES:
            raise
        raise SourceError(
            f"cannot read {path}: neither an image nor a video that OpenCV can decode"
        ) from None


def window(items: Iterable[T], skip: int = 0, limit: int | None = None) -> Iterator[T]:
    """`items` without the first `skip`, and at most `limit` of the rest."""
    for number, item in enumerate(items):
        if number < skip:
            continue
        if limit is not None and number >= skip + limit:
            return
        yield item


class FrameInput:
    """An image, a folder of images or a video, opened and checked: an unreadable image, an
    empty folder or a video without a frame fails here, before any work starts.

    A context manager (a video stays open until `close`).
    """

    def __init__(self, path: Path, image_period_s: float = 1.0) -> None:
        self.path = Path(path)
        self.kind = source_kind(self.path)
        self._period_s = image_period_s
        self.images: list[Path] = []
        self.video: VideoSource | None = None
        self.size: tuple[int, int] | None = None
        """(width, height) of a single image or a video; None for a folder."""
        if self.kind == FOLDER:
            self.images = folder_images(self.path)
        elif self.kind == IMAGE:
            self.images = [self.path]
            height, width = read_image(self.path).shape[:2]
            self.size = (width, height)
        else:
            self.video = open_video(self.path)
            self.size = (self.video.width, self.video.height)

    @property
    def stem(self) -> str:
        """The name of what is made of the whole input: the file's stem, the folder's name."""
        return self.path.resolve().name if self.kind == FOLDER else self.path.stem

    @property
    def count(self) -> int | None:
        """How many frames (None: a video that does not say)."""
        return self.video.frame_count if self.video is not None else len(self.images)

    @property
    def unit(self) -> str:
        return "frame" if self.video is not None else "image"

    @property
    def fps(self) -> float:
        return self.video.fps if self.video is not None else DEFAULT_FPS

    def frames(self) -> Iterator[Frame]:
        if self.video is not None:
            return self.video.frames()
        return image_frames(self.images, self._period_s)

    def close(self) -> None:
        if self.video is not None:
            self.video.close()

    def __enter__(self) -> FrameInput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
