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

This module reads the options and reports; the frames come from
`repehand_ros.io.frames`, the camera from `repehand_ros.io.calibration`, and
the work frame by frame is `repehand_ros.visualization.session`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from repehand_ros.tools.command import CommandError, add_architecture_options

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from repehand_ros.model.devices import DEVICE_CHOICES
    from repehand_ros.pipeline.config import BACKENDS
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
        help="official RepeHand snapshot or a checkpoint saved by this project; without one, "
        "--backend auto runs MediaPipe's keypoints and a named engine runs random weights "
        "(which only show that the tool runs)",
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
        help="camera calibration: an OpenCV calibration file (YAML or XML), a ROS calibration "
        "YAML (image_width, camera_matrix, distortion_model, distortion_coefficients) or a "
        "sensor_msgs/CameraInfo message as YAML (width, height, k, d, distortion_model); it "
        "must match the images' size",
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
        choices=DEVICE_CHOICES,
        default="auto",
        help="where the network runs; auto: CUDA when available (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="auto: RepeHand on PyTorch when the checkpoint and MANO files are there, "
        "otherwise MediaPipe's keypoints (joints drawn, no mesh, no weights needed); torch, "
        "onnxruntime, tensorrt: RepeHand on that engine (random weights without "
        "--checkpoint); keypoints (default: %(default)s)",
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


def _cameras(args: argparse.Namespace):
    from repehand_ros.io.calibration import CameraChoice, read_calibration

    return CameraChoice(
        calibration=read_calibration(args.camera_info).camera if args.camera_info else None,
        intrinsics=parse_intrinsics(args.intrinsics) if args.intrinsics else None,
        default_warning="no intrinsics given (--intrinsics or --camera-info)",
    )


def _build_reconstructor(args: argparse.Namespace):
    from repehand_ros.detection import DetectionConfig
    from repehand_ros.model.checkpoint import CheckpointError
    from repehand_ros.pipeline.backends import BackendError
    from repehand_ros.pipeline.config import AUTO_BACKEND, ReconstructorConfig
    from repehand_ros.pipeline.reconstructor import HandReconstructor

    if args.checkpoint is not None and not args.checkpoint.is_file():
        raise CommandError(f"checkpoint file not found: {args.checkpoint}")
    try:
        config = ReconstructorConfig(
            mano_dir=args.mano_dir,
            checkpoint=args.checkpoint,
            # An engine named without a checkpoint runs random weights (the tool's plumbing).
            allow_random_weights=args.backend != AUTO_BACKEND,
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
    from repehand_ros.io.calibration import CalibrationError
    from repehand_ros.io.frames import IMAGE, FrameInput, SourceError
    from repehand_ros.io.signals import StopOnSignal
    from repehand_ros.io.writers import EncodingError
    from repehand_ros.visualization.render import RendererUnavailableError, create_renderer
    from repehand_ros.visualization.session import DemoSession, SessionSettings

    try:
        # An unreadable input or a camera of another size fails before the model loads.
        frames = FrameInput(args.input)
        with frames:
            cameras = _cameras(args)
            if frames.size is not None:
                cameras.camera(*frames.size)
            try:
                args.out.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise CommandError(f"cannot create output folder {args.out}: {error}") from error
            try:
                renderer = create_renderer(args.renderer)
            except RendererUnavailableError as error:
                raise CommandError(f"{error} (or use --renderer opencv)") from error
            logger.info("drawing with the %s renderer", renderer.name)
            with (
                renderer,
                _build_reconstructor(args) as reconstructor,
                StopOnSignal("finishing the current frame") as stop,
            ):
                settings = SessionSettings(
                    out=args.out,
                    input=args.input,
                    kind=frames.kind,
                    stem=frames.stem,
                    fps=frames.fps,
                    skeleton=args.skeleton,
                    meshes=not args.no_meshes,
                )
                session = DemoSession(settings, reconstructor, renderer, cameras)
                bar = _progress(frames.count, frames.unit, frames.stem, frames.kind != IMAGE)
                with bar:
                    session.process(frames.frames(), stop, bar.update)
    except (SourceError, CalibrationError, EncodingError) as error:
        raise CommandError(str(error)) from error
    logger.info("wrote %d %s(s) to %s", len(session.results.frames), frames.unit, args.out)
    if stop.requested:
        raise KeyboardInterrupt
    if session.failed:
        raise CommandError(
            f"{len(session.failed)} of {len(frames.images)} images could not be processed: "
            + "; ".join(session.failed)
        )
    return 0
