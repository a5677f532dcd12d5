"""Benchmark: the whole HandReconstructor on 640x480 camera frames, per backend, in one run.

Per-stage times (detection, network, MANO and the rest, total) and frames per
second for PyTorch eager and ONNX Runtime on this machine's CPU, with the
detector on every frame against tracking and against a fixed region; the
network alone on one crop and on two (the hands-apart case); the end-to-end
time over the network-alone time while tracking (`overhead_ratio`); and the
peak resident memory of each backend. Each backend runs in its own fresh
process so its peak memory is its own. Prints a table, writes JSON.

    .venv/bin/python bench/reconstructor.py --json reconstructor.json

The frame is real footage: Debian opencv-doc's right04.jpg (640x480, grey,
one hand) with its hand region mirrored into the frame's left half, so it
holds two hands far apart that MediaPipe finds as a right and a left hand.

Without --checkpoint the network has random weights, whose hands fail
placement and would be reported invalid: the tracker would then lose them
and the detector would run on every frame, so "tracking" would not measure
tracking. So without a checkpoint the real network still runs on every crop
(its time is what is measured), but its outputs are then replaced by a fixed,
self-consistent hand (MANO's mean pose, centred in the crop at the size a
tracked hand has), so every later stage runs the path of a valid, tracked
hand; the tracker is fed the detector's keypoints of the still frame (what a
perfect network would report), so the tracked boxes stay on the hands.
Without --mano-dir, MANO files of the real size with random values are
generated. Accuracy is then meaningless; the timings are representative.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from model_speed import _cpu_count, _peak_rss_mb, _time_calls

from repehand_ros import HandReconstructor, ReconstructorConfig
from repehand_ros.detection import DetectionConfig, TrackerSettings
from repehand_ros.detection.box_ops import KEYPOINT_BOX_SCALE
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.crop import CROP_EXTENSION, CropTransform, crop_box_around
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput
from repehand_ros.pipeline.config import NETWORK_BACKENDS

ROOT = Path(__file__).resolve().parent.parent
FRAME_SIZE = (640, 480)
FPS_TARGET = 30.0
OVERHEAD_TARGET = 1.3
STAGES = ("detection_ms", "network_ms", "mano_ms", "total_ms")

HAND_REGION = (slice(160, 480), slice(390, 580))
"""Rows and columns of right04.jpg around its one hand (and wrist)."""
MIRRORED_AT_COLUMN = 40
"""Where the mirrored copy of the hand region starts in the two-hand frame."""
FIXED_REGION = (80.0, 150.0, 560.0, 400.0)
"""A region of interest around both hands of the two-hand frame (x_min, y_min, x_max, y_max)."""

MODES = {
    "detect_every_frame": DetectionConfig(mode="detector", tracking=False),
    "tracking": DetectionConfig(mode="detector", tracking=True),
    "tracking_one_crop": DetectionConfig(mode="detector", tracking=True),
    "fixed_region": DetectionConfig(mode="roi", roi=FIXED_REGION, tracking=False),
}
"""What each row measures (see MODE_NOTES)."""

MODE_NOTES = {
    "detect_every_frame": "MediaPipe on every frame, then the crops, network, MANO, placement",
    "tracking": "MediaPipe once, then boxes from the last frame's hands (re-detect every "
    f"{DetectionConfig().redetect_interval} frames); median = a tracked frame",
    "tracking_one_crop": "the same on right04 as it is (one hand, so one crop): the cost "
    "of tracking when the hands share a crop instead of lying far apart",
    "fixed_region": "no detector: both hands assumed in one fixed box, one shared crop "
    "(what a tracked box costs, with both hands in one crop)",
}

TRACKED_HAND_FRACTION = 1.0 / (
    KEYPOINT_BOX_SCALE * CROP_EXTENSION * TrackerSettings().motion_margin
)
"""Share of the crop side the stand-in hand's keypoints span: the tracker's box around them
(enlarged by KEYPOINT_BOX_SCALE, then by the motion margin) makes a crop (enlarged by
CROP_EXTENSION) of the same size again, so tracked boxes neither grow nor shrink."""


def two_hand_frame(image: np.ndarray) -> np.ndarray:
    """right04 (RGB) with its hand region mirrored into the left half: a right and a left hand."""
    frame = image.copy()
    region = image[HAND_REGION]
    rows, columns = HAND_REGION[0], HAND_REGION[1]
    width = columns.stop - columns.start
    frame[rows, MIRRORED_AT_COLUMN : MIRRORED_AT_COLUMN + width] = region[:, ::-1]
    return frame


ONE_CROP_MODES = ("tracking_one_crop",)
"""Modes timed on the unmodified right04 frame instead of the two-hands-apart one."""


def load_frames() -> tuple[np.ndarray, np.ndarray]:
    """(two hands far apart, right04 as it is with one hand)."""
    sys.path.insert(0, str(ROOT / "test"))
    from detection.footage import right04_rgb

    try:
        image = right04_rgb()
    except BaseException as error:  # the helper skips (a pytest exception) when it cannot fetch
        raise SystemExit(f"cannot get right04.jpg from opencv-doc: {error}") from None
    if (image.shape[1], image.shape[0]) != FRAME_SIZE:
        raise SystemExit(f"right04.jpg is {image.shape[1]}x{image.shape[0]}, expected 640x480")
    return two_hand_frame(image), image


class StandInHands:
    """The real backend runs on every crop; its outputs are then replaced by a valid hand.

    The hand is MANO's mean hand (zero pose and shape), seen straight on,
    centred in each crop and spanning TRACKED_HAND_FRACTION of it, with the
    heatmap joints equal to its projection (so its confidence is the
    detection's score). Only the numbers change: MANO, placement, smoothing
    and tracking cost the same for any valid hand.
    """

    def __init__(self, backend, mano) -> None:
        self.backend = backend
        self.name = backend.name
        self.variant_name = backend.variant_name
        self.input_size = backend.input_size
        self.heatmap_size = backend.heatmap_size
        self._hands = {side: self._hand(getattr(mano, side)) for side in ("right", "left")}

    def _hand(self, layer) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            mesh = layer(torch.zeros(1, 3), torch.zeros(1, 45), torch.zeros(1, 10))
        # The camera projects the joints in MANO's frame (see geometry.placement).
        xy = mesh.mano_frame_joints[0].numpy()[:, :2].astype(np.float64)
        low, high = xy.min(axis=0), xy.max(axis=0)
        cells = self.heatmap_size
        scale = TRACKED_HAND_FRACTION * cells / float((high - low).max())
        centre = 0.5 * cells  # the crop centre, in heatmap cells
        shift = centre - scale * 0.5 * (low + high)
        projected = xy * scale + shift
        depth = np.full((len(projected), 1), 0.5 * cells)
        return {
            "joints_hm": np.concatenate([projected, depth], axis=1),
            "root_rotmat": np.eye(3),
            "pose_rotmat": np.tile(np.eye(3), (15, 1, 1)),
            "root_pose": np.zeros(3),
            "hand_pose": np.zeros(45),
            "shape": np.zeros(10),
            "cam": np.array([scale, shift[0], shift[1]]),
        }

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        self.backend(crops)
        count = len(crops)

        def batch(values: np.ndarray) -> np.ndarray:
            return np.repeat(values[None].astype(np.float32), count, axis=0)

        hands = {
            side: HandPrediction(**{name: batch(value) for name, value in arrays.items()})
            for side, arrays in self._hands.items()
        }
        return RepeHandOutput(hands["right"], hands["left"], np.zeros((count, 3), np.float32))


@dataclass
class Settings:
    backend: str
    mano_dir: str
    checkpoint: str | None
    onnx_file: str | None
    frames: int
    warmup: int
    iterations: int
    rounds: int


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[int(0.9 * (len(ordered) - 1))],
        "mean": statistics.fmean(ordered),
    }


class ModeRun:
    """One reconstructor in one mode, timed a few frames at a time (rounds interleave modes)."""

    def __init__(self, reconstructor: HandReconstructor, frame, camera) -> None:
        self.reconstructor, self.frame, self.camera = reconstructor, frame, camera
        self.index = 0
        self.finder_calls = 0
        finder = reconstructor.locator.finder
        find = finder.find

        def counted_find(image):
            self.finder_calls += 1
            return find(image)

        finder.find = counted_find
        self.times: dict[str, list[float]] = {stage: [] for stage in STAGES}
        self.tracked_totals: list[float] = []
        self.batches: collections.Counter = collections.Counter()
        self.valid = 0

    def run(self, frames: int, timed: bool = True) -> None:
        for _ in range(frames):
            before = self.finder_calls
            result = self.reconstructor.reconstruct(
                self.frame, self.camera, self.index / FPS_TARGET
            )
            self.index += 1
            if not timed:
                continue
            for stage in STAGES:
                self.times[stage].append(getattr(result.times, stage))
            if self.finder_calls == before:
                self.tracked_totals.append(result.times.total_ms)
            self.batches[len(result.crops)] += 1
            self.valid += result.right.valid + result.left.valid

    def row(self) -> dict:
        frames = len(self.times["total_ms"])
        row = {stage: _stats(values) for stage, values in self.times.items()}
        row["frames"] = frames
        row["fps"] = 1000.0 / row["total_ms"]["mean"]
        row["finder_frame_fraction"] = 1.0 - len(self.tracked_totals) / frames
        tracked = self.tracked_totals
        row["tracked_frame_median_ms"] = statistics.median(tracked) if tracked else None
        row["batch"] = self.batches.most_common(1)[0][0]
        row["batches"] = {str(size): count for size, count in sorted(self.batches.items())}
        row["valid_hands_per_frame"] = self.valid / frames
        return row


def _feed_back_detected_hands(locator, reference: dict) -> None:
    """The tracker gets the detector's keypoints of each hand, as a perfect network would give.

    The stand-in hand is always centred in its crop whatever the crop shows, so
    its own keypoints, fed back, would let the tracked boxes drift off the
    hands (a real network follows the image); the detector's keypoints of this
    still frame keep each tracked box on its hand. Same work for the tracker.
    """
    update = locator.update_from_keypoints

    def update_from_reference(side, keypoints_px, confidence, t):
        update(side, reference.get(side, keypoints_px), confidence, t)

    locator.update_from_keypoints = update_from_reference


def _network_inputs(run: ModeRun) -> np.ndarray:
    """Two crops of the frame, as the reconstructor makes them (the detector's crops)."""
    boxes = list(run.reconstructor.reconstruct(run.frame, run.camera, 1e6).crops)
    boxes = (boxes * 2)[:2] if boxes else [crop_box_around([Box(*FIXED_REGION)])] * 2
    size = run.reconstructor.backend.input_size
    images = np.stack([CropTransform(box, size).warp(run.frame) for box in boxes])
    return images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)


def _measure(settings: Settings, frames: tuple[np.ndarray, np.ndarray], queue) -> None:
    """Runs in a child process: one backend through every mode and the network alone.

    The modes and the network-alone calls take turns in `rounds`, so a burst
    of load from elsewhere on a shared machine falls on all of them alike and
    the ratios between them stay fair.
    """
    logging.basicConfig(level=logging.ERROR)
    torch.manual_seed(0)
    try:
        camera = PinholeCamera.default(*FRAME_SIZE)
        base = ReconstructorConfig(
            mano_dir=Path(settings.mano_dir),
            checkpoint=Path(settings.checkpoint) if settings.checkpoint else None,
            allow_random_weights=not settings.checkpoint,
            backend=settings.backend,
            device="cpu",
            onnx_file=Path(settings.onnx_file) if settings.onnx_file else None,
            detection=MODES["fixed_region"],
        )
        first = HandReconstructor(base)
        network = first.backend
        backend = network if settings.checkpoint else StandInHands(network, first.mano)
        first.close()
        runs = {
            mode: ModeRun(
                HandReconstructor(dataclasses.replace(base, detection=detection), backend=backend),
                frames[1] if mode in ONE_CROP_MODES else frames[0],
                camera,
            )
            for mode, detection in MODES.items()
        }
        if not settings.checkpoint:
            finder = runs["detect_every_frame"].reconstructor.locator.finder
            references = {
                id(frame): {hand.side: hand.keypoints for hand in finder.find(frame)}
                for frame in frames
            }
            for run in runs.values():
                _feed_back_detected_hands(run.reconstructor.locator, references[id(run.frame)])
        images = _network_inputs(runs["detect_every_frame"])
        batches = {size: np.ascontiguousarray(images[:size]) for size in (1, 2)}
        alone: dict[int, list[float]] = {size: [] for size in batches}
        for run in runs.values():
            run.run(settings.warmup, timed=False)
        for batch in batches.values():
            _time_calls(lambda b=batch: network(b), settings.warmup, 0)
        for round_index in range(settings.rounds):
            share = _share(settings.frames, settings.rounds, round_index)
            for run in runs.values():
                run.run(share)
            calls = _share(settings.iterations, settings.rounds, round_index)
            for size, batch in batches.items():
                alone[size] += _time_calls(lambda b=batch: network(b), 0, calls)
        rows = {mode: run.row() for mode, run in runs.items()}
        for run in runs.values():
            run.reconstructor.close()
        queue.put(
            {
                "backend": settings.backend,
                "name": network.name,
                "modes": rows,
                "network_alone_ms": {f"batch{size}": _stats(t) for size, t in alone.items()},
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    except Exception as error:  # a backend that cannot run here is reported, not fatal
        queue.put({"backend": settings.backend, "error": f"{type(error).__name__}: {error}"[:400]})


def _share(total: int, rounds: int, index: int) -> int:
    """Round `index`'s part of `total` split over `rounds` (the parts add up to `total`)."""
    return total * (index + 1) // rounds - total * index // rounds


def _run_isolated(settings: Settings, frames: tuple[np.ndarray, np.ndarray]) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(settings, frames, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def _summarise(result: dict) -> dict:
    """Adds the ratios: end-to-end over network alone while tracking, tracking over detecting."""
    if "error" in result:
        return result
    modes, alone = result["modes"], result["network_alone_ms"]
    tracking = modes["tracking"]
    same_batch = alone[f"batch{min(tracking['batch'], 2)}"]["median"]
    result["fps_tracking"] = tracking["fps"]
    result["overhead_ratio"] = tracking["total_ms"]["median"] / same_batch
    result["overhead_ratio_vs_batch1"] = tracking["total_ms"]["median"] / alone["batch1"]["median"]
    result["overhead_ratio_fixed_region"] = (
        modes["fixed_region"]["total_ms"]["median"]
        / alone[f"batch{min(modes['fixed_region']['batch'], 2)}"]["median"]
    )
    result["fps_fixed_region"] = modes["fixed_region"]["fps"]
    result["fps_detect_every_frame"] = modes["detect_every_frame"]["fps"]
    result["tracking_speedup"] = tracking["fps"] / modes["detect_every_frame"]["fps"]
    result["batch2_over_batch1"] = alone["batch2"]["median"] / alone["batch1"]["median"]
    result["meets_overhead_target"] = result["overhead_ratio"] <= OVERHEAD_TARGET
    result["meets_fps_target"] = result["fps_tracking"] >= FPS_TARGET
    one_crop = modes["tracking_one_crop"]
    result["fps_tracking_one_crop"] = one_crop["fps"]
    result["overhead_ratio_one_crop"] = (
        one_crop["total_ms"]["median"] / alone[f"batch{min(one_crop['batch'], 2)}"]["median"]
    )
    result["meets_fps_target_one_crop"] = result["fps_tracking_one_crop"] >= FPS_TARGET
    return result


def _print_report(report: dict) -> None:
    print(report["note"])
    for mode, note in MODE_NOTES.items():
        print(f"  {mode:<19} {note}")
    header = (
        f"{'backend':<12} {'mode':<19} {'batch':>5} {'detect':>13} {'network':>13} "
        f"{'mano+rest':>13} {'total':>13} {'fps':>6} {'finder':>7}"
    )
    print(
        f"\nmilliseconds per frame, median/p90; finder = share of frames the finder ran\n{header}"
    )
    for name, result in report["backends"].items():
        if "error" in result:
            print(f"{name:<12} failed: {result['error']}")
            continue
        for mode, row in result["modes"].items():
            cells = " ".join(
                f"{row[stage]['median']:>6.1f}/{row[stage]['p90']:<6.1f}" for stage in STAGES
            )
            print(
                f"{name:<12} {mode:<19} {row['batch']:>5} {cells} {row['fps']:>6.1f} "
                f"{row['finder_frame_fraction']:>6.0%}"
            )
    print(
        f"\n{'backend':<12} {'net b1 ms':>9} {'net b2 ms':>9} {'b2/b1':>6} {'fps track':>9} "
        f"{'overhead':>8} {'vs b1':>6} {'roi ovh':>7} {'peak MB':>8}"
    )
    for name, result in report["backends"].items():
        if "error" in result:
            continue
        alone = result["network_alone_ms"]
        print(
            f"{name:<12} {alone['batch1']['median']:>9.1f} {alone['batch2']['median']:>9.1f} "
            f"{result['batch2_over_batch1']:>5.2f}x {result['fps_tracking']:>9.1f} "
            f"{result['overhead_ratio']:>7.2f}x {result['overhead_ratio_vs_batch1']:>5.2f}x "
            f"{result['overhead_ratio_fixed_region']:>6.2f}x {result['peak_rss_mb']:>8.0f}"
        )
    print("\ntargets (issue 5):")
    for name, result in report["backends"].items():
        if "error" in result:
            continue
        verdict = "met" if result["meets_overhead_target"] else "MISSED"
        print(
            f"  {name}: end-to-end / network alone while tracking {result['overhead_ratio']:.2f}x "
            f"(target <= {OVERHEAD_TARGET}x): {verdict}"
        )
    ort = report["backends"].get("onnxruntime", {})
    if "fps_tracking" in ort:
        cores = report["machine"]["cpu_count"]
        for label, key in (
            ("hands far apart, two crops", "meets_fps_target"),
            ("one crop", "meets_fps_target_one_crop"),
        ):
            fps = ort["fps_tracking" if key == "meets_fps_target" else "fps_tracking_one_crop"]
            print(
                f"  onnxruntime: {fps:.1f} fps while tracking, {label} "
                f"(target >= {FPS_TARGET:.0f} on this {cores}-core CPU): "
                f"{'met' if ort[key] else 'MISSED'}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="timed frames per mode")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames per mode")
    parser.add_argument(
        "--iterations", type=int, default=60, help="timed calls of the network alone per batch"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="turns the modes and the network alone take"
    )
    parser.add_argument("--mano-dir", type=Path, help="MANO files; default: fixture arrays")
    parser.add_argument("--checkpoint", type=Path, help="RepeHand weights; default: random")
    parser.add_argument("--json", type=Path, default=Path("reconstructor.json"), help="output")
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=NETWORK_BACKENDS,
        default=["torch", "onnxruntime"],
        help="what to time",
    )
    args = parser.parse_args()
    if min(args.warmup, args.rounds) < 1 or min(args.frames, args.iterations) < args.rounds:
        parser.error(
            "--warmup and --rounds must be at least 1, --frames and --iterations at least --rounds"
        )

    frames = load_frames()
    load_before = list(os.getloadavg())
    notes = []
    with tempfile.TemporaryDirectory() as folder:
        mano_dir = args.mano_dir
        if mano_dir is None:
            sys.path.insert(0, str(ROOT / "test"))
            from fixtures.mano_files import write_official_mano_dir

            mano_dir = Path(folder) / "mano"
            write_official_mano_dir(mano_dir)
            notes.append("MANO: fixture files with the real array sizes and random values")
        onnx_file = None
        if args.checkpoint is None:
            notes.append(
                "weights: random; the network runs on every crop, its outputs are replaced "
                "by a valid stand-in hand so tracking is exercised (accuracy meaningless, "
                "timings representative)"
            )
            if "onnxruntime" in args.backends:
                from repehand_ros.model.checkpoint import load_model
                from repehand_ros.model.onnx_export import export_onnx

                torch.manual_seed(0)
                onnx_file = str(Path(folder) / "repehand.onnx")
                export_onnx(load_model(None), onnx_file)
        results = {}
        for backend in args.backends:
            settings = Settings(
                backend=backend,
                mano_dir=str(mano_dir),
                checkpoint=str(args.checkpoint) if args.checkpoint else None,
                onnx_file=onnx_file if backend == "onnxruntime" else None,
                frames=args.frames,
                warmup=args.warmup,
                iterations=args.iterations,
                rounds=args.rounds,
            )
            results[backend] = _summarise(_run_isolated(settings, frames))

    report = {
        "note": "; ".join(notes) or "real MANO files and checkpoint",
        "frame": "right04.jpg (opencv-doc, 640x480 grey as RGB), hand mirrored into the left "
        "half: two hands far apart",
        "modes": MODE_NOTES,
        "frames": args.frames,
        "warmup": args.warmup,
        "iterations": args.iterations,
        "rounds": args.rounds,
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "targets": {"overhead_ratio_max": OVERHEAD_TARGET, "fps_tracking_onnxruntime_min": 30},
        "machine": {
            "cpu_count": _cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "backends": results,
    }
    args.json.write_text(json.dumps(report, indent=2))
    _print_report(report)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
