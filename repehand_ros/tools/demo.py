"""`repehand demo`: both hands reconstructed from images or a video, drawn and saved.

INPUT is an image, a folder of images or a video. For each image or frame the
demo writes, into the output folder:

* the image with both hand meshes drawn over it: NAME.png per image, or one
  NAME.mp4 for a video (NAME.avi, Motion-JPEG, where OpenCV has no MP4 codec);
* each valid hand's mesh as an OBJ in the camera's optical frame (x right,
  y down, z forward, metres) with MANO's triangles: NAME_right.obj /
  NAME_left.obj per image, NAME_meshes/FRAME_right.obj per video frame;
* NAME.json: per frame, each hand's joints, wrist pose, MANO parameters and
  confidence (or why it was not found), and the camera used.

Every file is written under a temporary name and renamed when complete. The
first Ctrl-C stops after the frame in progress: the video is finalised, the
JSON lists the frames written, and the exit status is 130; a second Ctrl-C
stops at once, still leaving no half-written file.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import cv2
import numpy as np

from repehand_ros.tools.command import CommandError, add_architecture_options

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
VIDEO_CODECS: tuple[tuple[str, str], ...] = ((".mp4", "mp4v"), (".avi", "MJPG"))
"""Containers and codecs tried in order for the output video."""
DEFAULT_FPS = 30.0
PARTIAL = ".partial"


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.pipeline.backends import BACKENDS, DEVICES
    from repehand_ros.visualization.render import RENDERERS

    parser = subparsers.add_parser(
        "demo",
        help="reconstruct and draw both hands in images or a video",
        description=(
            "Reconstruct both hands in an image, a folder of images or a video, and write the "
            "image(s) with the hand meshes drawn over them (PNG per image, MP4 for a video), each "
            "hand's mesh as an OBJ in the camera frame (metres) and a JSON of joints, wrist "
            "poses and scores per frame. Ctrl-C stops after the current frame and keeps "
            "everything finished."
        ),
    )
    parser.add_argument(
        "input", type=Path, metavar="INPUT", help="image, folder of images or video"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("repehand_demo"),
        metavar="DIR",
        help="folder for the results, created if needed (default: %(default)s)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="PATH",
        help="official RepeHand snapshot or a checkpoint saved by this project "
        "(default: random weights, which only show that the tool runs)",
    )
    add_architecture_options(parser)
    parser.add_argument(
        "--mano-dir",
        type=Path,
        default=Path("weights/mano"),
        metavar="DIR",
        help="folder holding MANO_RIGHT.pkl and MANO_LEFT.pkl (default: %(default)s)",
    )
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument(
        "--intrinsics",
        metavar="FX,FY,CX,CY",
        help="pinhole intrinsics in pixels, no distortion. Without this or --camera-info the "
        "demo uses a default camera: focal length max(width, height) pixels, principal point "
        "at the image centre, no distortion; hand directions are then roughly right but "
        "depths only approximate",
    )
    camera.add_argument(
        "--camera-info",
        type=Path,
        metavar="FILE.yaml",
        help="camera calibration as YAML: a ROS calibration file (image_width, camera_matrix, "
        "distortion_model, distortion_coefficients) or a sensor_msgs/CameraInfo message "
        "(width, height, k, d, distortion_model); it must match the images' size",
    )
    parser.add_argument(
        "--skeleton", action="store_true", help="draw each hand's joints and bones over its mesh"
    )
    parser.add_argument(
        "--renderer",
        choices=RENDERERS,
        default="auto",
        help="auto: pyrender where it can render off-screen (EGL or OSMesa), OpenCV otherwise; "
        "pyrender: fail if it cannot; opencv: always the plain OpenCV drawing "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the network runs; auto: CUDA when available (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, "tensorrt"),
        default="torch",
        help="inference engine for the network (default: %(default)s)",
    )
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=0.3,
        metavar="C",
        help="hands below this confidence in [0, 1] are reported invalid and not drawn "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--mirrored",
        action="store_true",
        help="the images are mirrored (selfie camera); decides which hand is the right one",
    )
    parser.add_argument(
        "--no-meshes", action="store_true", help="do not write OBJ files (long videos)"
    )
    parser.set_defaults(func=run)


# --- input ---------------------------------------------------------------------------------


@dataclass
class Frame:
    index: int
    name: str
    """Stem of this frame's output files."""
    source: str
    """Where it came from: the image file's name, or "frame N" of the video."""
    time: float
    """Seconds: the video time of a frame; the index for images."""
    image: np.ndarray | None
    """H x W x 3 uint8 RGB, or None when it could not be read."""
    error: str = ""


def read_image(path: Path) -> np.ndarray:
    """`path` as H x W x 3 uint8 RGB; CommandError if OpenCV cannot decode it."""
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else None
    if data is None:
        raise CommandError(f"image not found: {path}")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise CommandError(f"cannot read image {path}: not an image file OpenCV can decode")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _image_frames(paths: list[Path]) -> Iterator[Frame]:
    stems = [path.stem for path in paths]
    for index, path in enumerate(paths):
        name = path.stem if stems.count(path.stem) == 1 else path.name.replace(".", "_")
        try:
            image, error = read_image(path), ""
        except CommandError as problem:
            image, error = None, str(problem)
        yield Frame(index, name, path.name, float(index), image, error)


class VideoInput:
    """Frames of a video file, checked to be readable when opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok or first is None:
            self.capture.release()
            raise CommandError(f"cannot read video {path}: no frame could be decoded")
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if np.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            if self._first is not None:
                bgr, self._first = self._first, None
            else:
                ok, bgr = self.capture.read()
                if not ok or bgr is None:
                    return
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield Frame(index, f"{index:06d}", f"frame {index}", index / self.fps, image)
            index += 1

    def close(self) -> None:
        self.capture.release()


def _input_kind(path: Path) -> str:
    if not path.exists():
        raise CommandError(f"input not found: {path}")
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    # An unknown suffix: an image if OpenCV decodes it as one, else try it as a video.
    try:
        read_image(path)
    except CommandError:
        return "video"
    return "image"


def _open_video(path: Path) -> VideoInput:
    try:
        return VideoInput(path)
    except CommandError:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            raise
        raise CommandError(
            f"cannot read {path}: neither an image nor a video that OpenCV can decode"
        ) from None


def _folder_images(folder: Path) -> list[Path]:
    paths = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not paths:
        raise CommandError(
            f"no images in folder {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return paths


# --- camera --------------------------------------------------------------------------------


def parse_intrinsics(text: str) -> tuple[float, float, float, float]:
    """'fx,fy,cx,cy' in pixels; CommandError naming the problem."""
    parts = [part.strip() for part in text.split(",")]
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)):
        raise CommandError(f"--intrinsics must be four numbers fx,fy,cx,cy; got {text!r}")
    fx, fy, cx, cy = values
    if fx <= 0 or fy <= 0:
        raise CommandError(f"--intrinsics: focal lengths must be positive; got fx={fx}, fy={fy}")
    return fx, fy, cx, cy


def _yaml_field(data: dict, *names: str) -> Any:
    lowered = {str(key).lower(): value for key, value in data.items()}
    for name in names:
        if name in lowered:
            value = lowered[name]
            return value.get("data") if isinstance(value, dict) else value
    return None


def read_camera_info(path: Path):
    """A PinholeCamera from a ROS calibration YAML or a CameraInfo message as YAML."""
    import yaml

    from repehand_ros.geometry.camera import PinholeCamera

    if not path.is_file():
        raise CommandError(f"camera info file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CommandError(f"cannot read camera info {path}: {error}") from error
    if not isinstance(data, dict):
        raise CommandError(f"camera info {path}: expected a YAML mapping, got {type(data)}")
    fields = {
        "width": _yaml_field(data, "image_width", "width"),
        "height": _yaml_field(data, "image_height", "height"),
        "k": _yaml_field(data, "camera_matrix", "k"),
    }
    missing = [name for name, value in fields.items() if value is None]
    if missing:
        raise CommandError(
            f"camera info {path} has no {', '.join(missing)}: expected a ROS calibration file "
            "(image_width, image_height, camera_matrix, ...) or a CameraInfo message "
            "(width, height, k, d, distortion_model)"
        )
    d = _yaml_field(data, "distortion_coefficients", "d") or []
    model = _yaml_field(data, "distortion_model") or ("plumb_bob" if d else "")
    try:
        return PinholeCamera(
            k=np.asarray(fields["k"], dtype=np.float64),
            d=np.asarray(d, dtype=np.float64),
            distortion_model=str(model),
            width=fields["width"],
            height=fields["height"],
        )
    except (TypeError, ValueError) as error:
        raise CommandError(f"camera info {path}: {error}") from error


class CameraChooser:
    """The camera for each frame: the given calibration, intrinsics or the default one."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.fixed = read_camera_info(args.camera_info) if args.camera_info else None
        self.intrinsics = parse_intrinsics(args.intrinsics) if args.intrinsics else None
        self.source = "camera_info" if self.fixed else "intrinsics" if self.intrinsics else None
        self.source = self.source or "default"
        self._by_size: dict[tuple[int, int], Any] = {}

    def __call__(self, width: int, height: int):
        """The camera for a width x height image; CommandError if the calibration does not fit."""
        from repehand_ros.geometry.camera import PinholeCamera

        if self.fixed is not None:
            if (self.fixed.width, self.fixed.height) != (width, height):
                raise CommandError(
                    f"the camera info is for {self.fixed.width}x{self.fixed.height} images but "
                    f"the image is {width}x{height}"
                )
            return self.fixed
        if (width, height) not in self._by_size:
            if self.intrinsics is not None:
                fx, fy, cx, cy = self.intrinsics
                camera = PinholeCamera(
                    k=np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]),
                    d=np.zeros(0),
                    distortion_model="",
                    width=width,
                    height=height,
                )
            else:
                camera = PinholeCamera.default(width, height)
                logger.warning(
                    "no intrinsics given (--intrinsics or --camera-info): using a default camera "
                    "for %dx%d images, focal length %d px; hand depths are only approximate",
                    width,
                    height,
                    max(width, height),
                )
            self._by_size[(width, height)] = camera
        return self._by_size[(width, height)]


def _camera_json(camera, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "width": camera.width,
        "height": camera.height,
        "k": camera.k.tolist(),
        "d": camera.d.tolist(),
        "distortion_model": camera.distortion_model,
    }


# --- output --------------------------------------------------------------------------------


def write_atomically(path: Path, data: bytes) -> None:
    """`data` to `path` through a temporary file renamed into place: never a partial `path`."""
    temporary = path.with_name(f".{path.name}{PARTIAL}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def obj_bytes(vertices: np.ndarray, faces: np.ndarray, comment: str) -> bytes:
    """A Wavefront OBJ: `vertices` (V, 3) as `v` lines, `faces` (F, 3) as 1-based `f` lines."""
    text = io.StringIO()
    for line in comment.splitlines():
        text.write(f"# {line}\n")
    np.savetxt(text, np.asarray(vertices, dtype=np.float64), fmt="v %.6f %.6f %.6f")
    np.savetxt(text, np.asarray(faces, dtype=np.int64) + 1, fmt="f %d %d %d")
    return text.getvalue().encode("ascii")


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CommandError("OpenCV could not encode a PNG")
    return encoded.tobytes()


def _floats(array: np.ndarray) -> list:
    return np.round(np.asarray(array, dtype=np.float64), 6).tolist()


def hand_json(hand, mesh: str | None) -> dict[str, Any]:
    """One HandResult as JSON: what was found, or why not."""
    if not hand.valid:
        return {"valid": False, "reason": hand.reason}
    return {
        "valid": True,
        "confidence": round(hand.confidence, 6),
        "wrist_position": _floats(hand.wrist_position),
        "wrist_rotation": _floats(hand.wrist_rotation),
        "wrist_axis_angle": _floats(hand.mano_pose[:3]),
        "joints": _floats(hand.joints),
        "keypoints_2d": _floats(hand.keypoints_2d),
        "mano_pose": _floats(hand.mano_pose),
        "mano_shape": _floats(hand.mano_shape),
        "mesh": mesh,
    }


@dataclass
class ResultsFile:
    """NAME.json: rewritten (atomically) whole at the end, or when the run stops early."""

    path: Path
    header: dict[str, Any]
    frames: list[dict[str, Any]] = field(default_factory=list)
    cameras: list[dict[str, Any]] = field(default_factory=list)
    _camera_index: dict[int, int] = field(default_factory=dict)

    def camera_index(self, camera, source: str) -> int:
        if id(camera) not in self._camera_index:
            self._camera_index[id(camera)] = len(self.cameras)
            self.cameras.append(_camera_json(camera, source))
        return self._camera_index[id(camera)]

    def write(self, complete: bool, failed: list[str]) -> None:
        from repehand_ros.hands import JOINT_NAMES

        document = {
            **self.header,
            "complete": complete,
            "failed": failed,
            "coordinates": "camera optical frame: x right, y down, z forward; metres",
            "joint_names": list(JOINT_NAMES),
            "cameras": self.cameras,
        }
        # One line per frame: readable, and easy to diff or grep.
        lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in document.items()]
        frames = ",\n".join(f"  {json.dumps(frame)}" for frame in self.frames)
        lines.append(f' "frames": [\n{frames}\n ]' if frames else ' "frames": []')
        write_atomically(self.path, ("{\n" + ",\n".join(lines) + "\n}\n").encode())


class VideoOutput:
    """An MP4 (or AVI) written under a temporary name, finalised and renamed on close."""

    def __init__(self, stem: Path, fps: float, width: int, height: int) -> None:
        self.writer = None
        for suffix, codec in VIDEO_CODECS:
            path = stem.with_name(stem.name + suffix)
            temporary = path.with_name(f".{stem.name}{PARTIAL}{suffix}")
            writer = cv2.VideoWriter(
                str(temporary), cv2.VideoWriter_fourcc(*codec), fps, (width, height)
            )
            if writer.isOpened():
                self.writer, self.path, self.temporary = writer, path, temporary
                break
            writer.release()
            temporary.unlink(missing_ok=True)
            logger.info(
                "OpenCV cannot write %s (%s) here; trying the next container", suffix, codec
            )
        if self.writer is None:
            raise CommandError("OpenCV can write neither MP4 (mp4v) nor AVI (MJPG) video here")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        """Finalise the container and rename it into place (removed if it holds no frame)."""
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        if self.frames:
            os.replace(self.temporary, self.path)
        else:
            self.temporary.unlink(missing_ok=True)


class StopOnInterrupt:
    """The first SIGINT asks the loop to stop after the current frame; the second interrupts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("interrupted: finishing the current frame (Ctrl-C again to stop now)")

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


# --- the run -------------------------------------------------------------------------------


def _build_reconstructor(args: argparse.Namespace):
    from repehand_ros.detection import DetectionConfig
    from repehand_ros.model.checkpoint import CheckpointError
    from repehand_ros.pipeline.backends import BackendError
    from repehand_ros.pipeline.reconstructor import HandReconstructor, ReconstructorConfig

    if args.checkpoint is not None and not args.checkpoint.is_file():
        raise CommandError(f"checkpoint file not found: {args.checkpoint}")
    try:
        config = ReconstructorConfig(
            mano_dir=args.mano_dir,
            checkpoint=args.checkpoint,
            variant=args.variant,
            input_size=args.input_size,
            device=args.device,
            backend=args.backend,
            min_confidence=args.min_confidence,
            detection=DetectionConfig(mirrored=args.mirrored),
        )
        return HandReconstructor(config)
    except (CheckpointError, BackendError, OSError, ValueError) as error:
        raise CommandError(str(error)) from error


def _progress(total: int | None, unit: str, description: str, enabled: bool):
    """A tqdm bar on stderr; shown only when stderr is a terminal and `enabled`."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit=unit,
        desc=description,
        disable=None if enabled else True,
        dynamic_ncols=True,
    )


def run(args: argparse.Namespace) -> int:
    from repehand_ros.visualization.render import RendererUnavailableError, create_renderer

    kind = _input_kind(args.input)
    images = _folder_images(args.input) if kind == "folder" else [args.input]
    cameras = CameraChooser(args)
    video = _open_video(args.input) if kind == "video" else None
    # An unreadable image or a camera of another size fails before the model loads.
    if kind == "image":
        height, width = read_image(args.input).shape[:2]
        cameras(width, height)
    elif video is not None:
        try:
            cameras(video.width, video.height)
        except CommandError:
            video.close()
            raise
    try:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"cannot create output folder {args.out}: {error}") from error
        try:
            renderer = create_renderer(args.renderer)
        except RendererUnavailableError as error:
            raise CommandError(f"{error} (or use --renderer opencv)") from error
        logger.info("drawing with the %s renderer", renderer.name)
        with renderer, _build_reconstructor(args) as reconstructor, StopOnInterrupt() as stop:
            stem = args.input.stem if kind != "folder" else args.input.resolve().name
            results = ResultsFile(
                args.out / f"{stem}.json",
                {
                    "input": str(args.input),
                    "kind": kind,
                    "backend": reconstructor.backend_name,
                    "input_size": reconstructor.input_size,
                    "renderer": renderer.name,
                },
            )
            if video is not None:
                frames, total, unit = video.frames(), video.frame_count, "frame"
            else:
                frames, total, unit = _image_frames(images), len(images), "image"
            session = _Session(args, stem, kind, reconstructor, renderer, cameras, results)
            with _progress(total, unit, stem, enabled=kind != "image") as bar:
                session.process(frames, stop, bar.update, video.fps if video else DEFAULT_FPS)
    finally:
        if video is not None:
            video.close()
    logger.info("wrote %d %s(s) to %s", len(results.frames), unit, args.out)
    if stop.requested:
        raise KeyboardInterrupt
    if session.failed:
        raise CommandError(
            f"{len(session.failed)} of {len(images)} images could not be processed: "
            + "; ".join(session.failed)
        )
    return 0


class _Session:
    """One run over the frames: reconstruct, draw and write, frame by frame."""

    def __init__(self, args, stem, kind, reconstructor, renderer, cameras, results) -> None:
        self.args, self.stem, self.kind = args, stem, kind
        self.reconstructor, self.renderer = reconstructor, renderer
        self.cameras, self.results = cameras, results
        self.failed: list[str] = []
        self.video: VideoOutput | None = None

    def process(
        self,
        frames: Iterator[Frame],
        stop: StopOnInterrupt,
        advance: Callable[[int], object],
        fps: float,
    ) -> None:
        complete = False
        try:
            for frame in frames:
                self._one_frame(frame, fps)
                advance(1)
                if stop.requested:
                    break
            else:
                complete = True
        finally:
            if self.video is not None:
                self.video.close()
            self.results.write(complete, self.failed)

    def _one_frame(self, frame: Frame, fps: float) -> None:
        if frame.image is None:
            logger.warning("skipped %s: %s", frame.source, frame.error)
            self.failed.append(frame.error)
            return
        height, width = frame.image.shape[:2]
        try:
            camera = self.cameras(width, height)
        except CommandError as error:
            if self.kind != "folder":
                raise
            logger.warning("skipped %s: %s", frame.source, error)
            self.failed.append(f"{frame.source}: {error}")
            return
        if self.kind == "folder":
            self.reconstructor.reset()  # unrelated photos: nothing to track between them
        result = self.reconstructor.reconstruct(frame.image, camera, frame.time)

        from repehand_ros.visualization.render import drawings_from_result

        hands = drawings_from_result(result, self.reconstructor.faces)
        drawn = self.renderer.render(frame.image, camera, hands, skeleton=self.args.skeleton)
        written: list[Path] = []
        try:
            meshes = self._write_meshes(frame, result, written)
            entry: dict[str, Any] = {"index": frame.index, "source": frame.source}
            if self.kind == "video":
                if self.video is None:
                    self.video = VideoOutput(self.args.out / self.stem, fps, width, height)
                entry["time"] = round(frame.time, 6)
            else:
                image_path = self.args.out / f"{frame.name}.png"
                write_atomically(image_path, png_bytes(drawn))
                written.append(image_path)
                entry["image"] = image_path.name
            entry["camera"] = self.results.camera_index(camera, self.cameras.source)
            entry["hands"] = {
                hand.side.name.lower(): hand_json(hand, meshes.get(hand.side.name.lower()))
                for hand in result.hands
            }
            entry["relative_translation"] = _floats(result.relative_translation)
        except BaseException:
            for path in written:  # an unfinished frame leaves nothing behind
                path.unlink(missing_ok=True)
            raise
        if self.video is not None:
            self.video.write(drawn)
        self.results.frames.append(entry)

    def _write_meshes(self, frame: Frame, result, written: list[Path]) -> dict[str, str]:
        if self.args.no_meshes:
            return {}
        meshes: dict[str, str] = {}
        folder = self.args.out
        if self.kind == "video":
            folder = self.args.out / f"{self.stem}_meshes"
            folder.mkdir(exist_ok=True)
        for hand, faces in zip(result.hands, self.reconstructor.faces, strict=True):
            if not hand.valid or hand.vertices is None:
                continue
            side = hand.side.name.lower()
            path = folder / f"{frame.name}_{side}.obj"
            comment = (
                f"RepeHand {side} hand from {frame.source}"
                + (f" of {self.args.input.name}" if self.kind == "video" else "")
                + "\ncamera optical frame (x right, y down, z forward), metres"
            )
            write_atomically(path, obj_bytes(hand.vertices, faces, comment))
            written.append(path)
            meshes[side] = str(path.relative_to(self.args.out))
        return meshes
