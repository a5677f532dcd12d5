"""Benchmark: jitter and lag of the One-Euro hand smoother, raw against smoothed, per setting.

Teleoperation wants a hand that does not shake at rest and does not trail a
moving hand; the One-Euro filter trades one for the other through min_cutoff,
beta and d_cutoff. This bench measures the trade for a grid of settings and
picks the defaults.

Synthetic part (seeded, no MediaPipe): an open right hand, 18 cm from wrist to
middle fingertip, palm to a 640x480 camera with f = 600 px. Each frame, the
true joints' pixels jitter by N(0, sigma_px) per axis and the whole hand's
depth by N(0, sigma_depth * depth); the observed joints are those pixels
back-projected at the noisy depth, so the observed keypoints_2d carry exactly
the pixel noise, as a monocular pipeline's do. HandResults built like a
backend builds them go through HandSmoother at 30 FPS (60 FPS for the
defaults too) with +-10% frame-time jitter. Scenarios: a still hand at 0.5 m;
steady motion sideways at 0.25, 0.5 and 1 m/s and in depth at 0.3 m/s; a
sudden stop after 1 m/s. Points are projected wherever they fall (the frame
does not clip them), so every speed runs as long.

Metrics, for the raw observations and for each setting, after a 0.5 s
warm-up: jitter at rest, the RMS of the per-joint Euclidean error against
the truth in pixels (keypoints_2d) and millimetres (joints); lag in motion,
the wrist's mean along-track error over the speed (ms), and jitter in motion,
the RMS of the error's deviation from its mean; for the sudden stop, the
overshoot (mm past the stop point along the motion, the largest) and the
settling time (ms until the error along the motion stays within 2 mm), both
of the hand's centre (mean of its joints: a single joint's pixel noise alone
exceeds 2 mm at 0.5 m). A first-order low-pass of a ramp that stops never
overshoots on its own (each output is a convex blend of inputs that did not
pass the stop), so the overshoot is what noise adds.

Selection rule: among the settings that add under one frame of lag at 30 FPS
(33.3 ms) in every steady motion, the lowest jitter at rest in pixels. The
grid is min_cutoff x beta at d_cutoff 1 Hz, then d_cutoff 0.5 and 2 Hz for the
best pair; the current SmoothingConfig() defaults are always measured.

Real-footage part (needs MediaPipe and the cached opencv-doc footage, else
recorded as skipped with the reason): the keypoint backend, unsmoothed, over
tree.avi (its last frames hold a hand), fingerpose's fingers-lq.gif (a man
showing a thumbs-up and a victory sign, 43 frames) and any --video, with the default
camera of the video's size; the raw hands are then smoothed offline with each
setting. With no ground truth: the jitter proxy, the RMS of the second
temporal difference of keypoints (px) and joints (mm); the lag, the time
shift (ms, sub-frame by interpolating the raw wrist) that best aligns the
smoothed wrist with the raw one; and the largest gap between keypoints_2d and
the projected joints (the published hand must be one hand: ~0).

    .venv/bin/python bench/smoothing.py --json smoothing.json
    .venv/bin/python bench/smoothing.py --quick --json smoothing.json  # seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import itertools
import json
import logging
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from repehand_ros import HandReconstructor, ReconstructorConfig
from repehand_ros.data.footage import (
    FootageUnavailableError,
    decoded_frames_rgb,
    footage_path,
)
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import FINGERS, NUM_JOINTS, WRIST, HandSide
from repehand_ros.pipeline.results import HandResult
from repehand_ros.pipeline.smoothing import HandSmoother, SmoothingConfig

FRAME_SIZE = (640, 480)
FOCAL_PX = 600.0
CAMERA = PinholeCamera(
    k=np.array(
        [
            [FOCAL_PX, 0.0, 0.5 * (FRAME_SIZE[0] - 1)],
            [0.0, FOCAL_PX, 0.5 * (FRAME_SIZE[1] - 1)],
            [0.0, 0.0, 1.0],
        ]
    ),
    d=np.zeros(0),
    distortion_model="",
    width=FRAME_SIZE[0],
    height=FRAME_SIZE[1],
)
FPS = 30.0
FRAME_TIME_JITTER = 0.1
"""Each frame interval is 1/FPS times a uniform factor in [1 - this, 1 + this]."""
WARMUP_S = 0.5
REST_DEPTH_M = 0.5
SETTLE_MM = 2.0
FRAME_MS = 1000.0 / FPS
LAG_LIMIT_MS = FRAME_MS
"""The most added lag a chosen setting may have in any steady motion: one frame at 30 FPS."""

MIN_CUTOFFS = (0.25, 0.5, 1.0, 2.0)
BETAS = (0.0, 5.0, 10.0, 20.0, 40.0)
D_CUTOFFS = (0.5, 1.0, 2.0)
QUICK_MIN_CUTOFFS = (0.25, 0.5, 1.0)
QUICK_BETAS = (5.0, 10.0, 20.0)
GRID_D_CUTOFF = 1.0

SELECTION_RULE = (
    f"among settings whose added lag at {FPS:.0f} FPS is under one frame "
    f"({LAG_LIMIT_MS:.1f} ms) in every steady motion (0.25-1 m/s sideways, 0.3 m/s in "
    "depth), the lowest jitter at rest in pixels (RMS)"
)

FINGER_BONES_M = {
    "thumb": (0.035, 0.045, 0.032, 0.026),
    "index": (0.088, 0.040, 0.024, 0.020),
    "middle": (0.090, 0.044, 0.027, 0.021),
    "ring": (0.084, 0.041, 0.026, 0.021),
    "pinky": (0.078, 0.032, 0.019, 0.019),
}
"""Wrist to each finger's first joint, then the three bones to its tip, metres (adult hand;
wrist to middle fingertip 18.2 cm)."""
FINGER_SPREAD_DEG = {
    "thumb": (50.0, 40.0),
    "index": (10.0, 8.0),
    "middle": (0.0, 0.0),
    "ring": (-9.0, -8.0),
    "pinky": (-18.0, -16.0),
}
"""Angle from the image's up direction towards the thumb (+x: a right hand's palm faces the
camera) of the first bone, and of the finger beyond it, degrees."""
CURL_DEG = 10.0
"""Each joint beyond the first bends the finger this much more towards the camera (palm side)."""


def open_right_hand() -> np.ndarray:
    """(21, 3) joints of an open right hand, palm to the camera, fingers up, relative to their
    mean (so a scenario's position is the hand's centre), metres."""
    joints = np.zeros((NUM_JOINTS, 3))
    for finger_index, finger in enumerate(FINGERS):
        base_angle, finger_angle = np.radians(FINGER_SPREAD_DEG[finger])
        point = np.zeros(3)
        for bone, length in enumerate(FINGER_BONES_M[finger]):
            spread = base_angle if bone == 0 else finger_angle
            curl = np.radians(CURL_DEG * bone)
            direction = np.array(
                [
                    math.sin(spread) * math.cos(curl),
                    -math.cos(spread) * math.cos(curl),
                    -math.sin(curl),
                ]
            )
            point = point + length * direction
            joints[1 + 4 * finger_index + bone] = point
    return joints - joints.mean(axis=0)


HAND = open_right_hand()


@dataclass(frozen=True)
class NoiseModel:
    """What a monocular hand pipeline gets wrong in each frame, independently."""

    sigma_px: float = 2.0
    """Each joint's pixel position, per axis."""
    sigma_depth_fraction: float = 0.01
    """The whole hand's depth, as a fraction of the wrist's true depth."""

    def describe(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "model": "each joint's pixel position + N(0, sigma_px) per axis; the whole hand's "
            "depth + N(0, sigma_depth_fraction * wrist depth) (one draw per frame); the observed "
            "joints are the noisy pixels back-projected at the noisy depth, so keypoints_2d "
            "carry exactly the pixel noise; independent from frame to frame",
        }


@dataclass(frozen=True)
class Scenario:
    """The hand's centre moves from `start` at `velocity` until `stop_s`, then stays."""

    name: str
    kind: str
    """"rest", "steady" or "stop": which metrics apply."""
    duration_s: float
    start: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    stop_s: float = math.inf

    @property
    def speed(self) -> float:
        return float(np.linalg.norm(self.velocity))

    @property
    def direction(self) -> np.ndarray:
        return np.asarray(self.velocity) / self.speed

    def centres(self, times: np.ndarray) -> np.ndarray:
        moving = np.minimum(times, self.stop_s)[:, None]
        return np.asarray(self.start) + moving * np.asarray(self.velocity)

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "duration_s": self.duration_s,
            "start_m": list(self.start),
            "velocity_m_s": list(self.velocity),
            "speed_m_s": self.speed,
            "stop_s": None if math.isinf(self.stop_s) else self.stop_s,
        }


def scenarios(quick: bool) -> list[Scenario]:
    """Still, steady sideways and in depth, sudden stop; shorter with `quick`."""
    rest_s, steady_s, after_stop_s = (2.0, 2.0, 1.0) if quick else (4.0, 2.0, 1.5)
    stop_s = 0.5
    result = [Scenario("rest", "rest", rest_s, (0.0, 0.0, REST_DEPTH_M))]
    for speed in (0.25, 0.5, 1.0):
        start = (-0.5 * speed * steady_s, 0.0, REST_DEPTH_M)
        result.append(Scenario(f"sideways_{speed:g}", "steady", steady_s, start, (speed, 0, 0)))
    result.append(Scenario("depth_0.3", "steady", steady_s, (0.0, 0.0, 0.35), (0.0, 0.0, 0.3)))
    result.append(
        Scenario(
            "stop_1",
            "stop",
            stop_s + after_stop_s,
            (-1.0 * stop_s, 0.0, REST_DEPTH_M),
            (1.0, 0.0, 0.0),
            stop_s,
        )
    )
    return result


@dataclass
class Run:
    """One scenario, one noise draw: the truth and what the smoother is given."""

    scenario: Scenario
    times: np.ndarray
    true_joints: np.ndarray
    """(T, 21, 3) metres."""
    true_keypoints: np.ndarray
    """(T, 21, 2) pixels."""
    observed: list[HandResult]


def frame_times(duration_s: float, fps: float, rng: np.random.Generator) -> np.ndarray:
    count = int(duration_s * fps)
    steps = rng.uniform(1 - FRAME_TIME_JITTER, 1 + FRAME_TIME_JITTER, size=count) / fps
    return np.concatenate([[0.0], np.cumsum(steps[:-1])])


def backend_hand(joints: np.ndarray) -> HandResult:
    """A valid right hand as a backend gives it: wrist, keypoints and box from the joints."""
    keypoints = CAMERA.project(joints)
    low, high = keypoints.min(axis=0), keypoints.max(axis=0)
    return HandResult(
        side=HandSide.RIGHT,
        valid=True,
        confidence=0.9,
        joints=joints,
        wrist_position=joints[WRIST],
        keypoints_2d=keypoints,
        box=Box(float(low[0]), float(low[1]), float(high[0]), float(high[1])),
    )


def simulate(scenario: Scenario, noise: NoiseModel, fps: float, seed: int) -> Run:
    rng = np.random.default_rng(seed)
    times = frame_times(scenario.duration_s, fps, rng)
    true_joints = scenario.centres(times)[:, None, :] + HAND
    true_keypoints = np.stack([CAMERA.project(joints) for joints in true_joints])
    observed = []
    for joints, keypoints in zip(true_joints, true_keypoints, strict=True):
        pixels = keypoints + rng.normal(scale=noise.sigma_px, size=keypoints.shape)
        depth_error = rng.normal(scale=noise.sigma_depth_fraction * joints[WRIST, 2])
        depths = joints[:, 2:] + depth_error
        rays = CAMERA.undistort_points(pixels)
        observed.append(backend_hand(np.concatenate([rays * depths, depths], axis=1)))
    return Run(scenario, times, true_joints, true_keypoints, observed)


def smooth(hands: list[HandResult], times: np.ndarray, config: SmoothingConfig, camera):
    smoother = HandSmoother(config)
    return [smoother(hand, float(t), camera) for hand, t in zip(hands, times, strict=True)]


def _rms(errors: np.ndarray) -> float:
    """RMS of the Euclidean length of the last axis."""
    return float(np.sqrt(np.mean(np.sum(errors**2, axis=-1))))


def run_metrics(runs: list[Run], outputs: list[list[HandResult]]) -> dict:
    """The metrics of one scenario's kind, pooled over its noise draws (runs)."""
    scenario = runs[0].scenario
    joint_errors, pixel_errors, along_track, overshoots, settling = [], [], [], [], []
    for run, hands in zip(runs, outputs, strict=True):
        joints = np.stack([hand.joints for hand in hands]).astype(np.float64)
        keypoints = np.stack([hand.keypoints_2d for hand in hands]).astype(np.float64)
        after_warmup = run.times >= WARMUP_S
        joint_error = (joints - run.true_joints)[after_warmup]
        pixel_error = (keypoints - run.true_keypoints)[after_warmup]
        if scenario.kind == "steady":
            along_track.append(-joint_error[:, WRIST] @ scenario.direction)
            joint_error = joint_error - joint_error.mean(axis=0)
            pixel_error = pixel_error - pixel_error.mean(axis=0)
        joint_errors.append(joint_error)
        pixel_errors.append(pixel_error)
        if scenario.kind == "stop":
            overshoot, settle = stop_response(run, joints)
            overshoots.append(overshoot)
            settling.append(settle)
    metrics = {
        "jitter_px": _rms(np.concatenate(pixel_errors)),
        "jitter_mm": 1000.0 * _rms(np.concatenate(joint_errors)),
    }
    if scenario.kind == "steady":
        metrics["speed_m_s"] = scenario.speed
        metrics["lag_ms"] = 1000.0 * float(np.concatenate(along_track).mean()) / scenario.speed
    if scenario.kind == "stop":
        unsettled = sum(value is None for value in settling)
        metrics["overshoot_mm"] = float(np.mean(overshoots))
        metrics["overshoot_mm_worst"] = float(np.max(overshoots))
        metrics["settling_ms"] = None if unsettled else float(np.mean(settling))
        metrics["unsettled_runs"] = unsettled
    return metrics


def stop_response(run: Run, joints: np.ndarray) -> tuple[float, float | None]:
    """Overshoot (mm past the stop point along the motion, the largest after the stop) and
    settling time (ms after the stop until the error along the motion stays within
    SETTLE_MM; None if it does not by the end) of the hand's centre."""
    scenario = run.scenario
    direction = scenario.direction
    centres = joints.mean(axis=1)
    stopped = run.times >= scenario.stop_s
    stop_point = scenario.centres(np.array([scenario.stop_s]))[0]
    past_stop = (centres[stopped] - stop_point) @ direction
    overshoot_mm = 1000.0 * max(0.0, float(past_stop.max()))
    error = np.abs((centres - run.true_joints.mean(axis=1)) @ direction)[stopped]
    outside = np.flatnonzero(error > SETTLE_MM / 1000.0)
    if len(outside) == 0:
        return overshoot_mm, 0.0
    if outside[-1] == len(error) - 1:
        return overshoot_mm, None
    settled_at = run.times[stopped][outside[-1] + 1]
    return overshoot_mm, 1000.0 * float(settled_at - scenario.stop_s)


class SyntheticBench:
    """The noise draws of every scenario, made once: every setting sees the same noise."""

    def __init__(self, noise: NoiseModel, quick: bool, seeds: int, fps: float) -> None:
        self.fps = fps
        self.runs = {
            scenario.name: [simulate(scenario, noise, fps, seed) for seed in range(seeds)]
            for scenario in scenarios(quick)
        }

    def measure(self, config: SmoothingConfig | None) -> dict:
        """Metrics per scenario of `config`'s smoothed hands; of the raw hands for None."""
        results = {}
        for name, runs in self.runs.items():
            if config is None:
                outputs = [run.observed for run in runs]
            else:
                outputs = [smooth(run.observed, run.times, config, CAMERA) for run in runs]
            results[name] = run_metrics(runs, outputs)
        return results


def meets_lag_limit(metrics: dict) -> bool:
    """Whether every steady motion's added lag is under LAG_LIMIT_MS."""
    return all(result["lag_ms"] < LAG_LIMIT_MS for result in metrics.values() if "lag_ms" in result)


def setting(config: SmoothingConfig) -> dict:
    return {"min_cutoff": config.min_cutoff, "beta": config.beta, "d_cutoff": config.d_cutoff}


def row_for(config: SmoothingConfig, bench: SyntheticBench) -> dict:
    metrics = bench.measure(config)
    return {"setting": setting(config), "eligible": meets_lag_limit(metrics), "metrics": metrics}


def grid_rows(bench: SyntheticBench, quick: bool) -> list[dict]:
    """min_cutoff x beta at GRID_D_CUTOFF, then the other d_cutoffs for the best eligible pair,
    and the current defaults if the grid missed them."""
    min_cutoffs, betas = (QUICK_MIN_CUTOFFS, QUICK_BETAS) if quick else (MIN_CUTOFFS, BETAS)
    rows = [
        row_for(SmoothingConfig(min_cutoff=low, beta=beta, d_cutoff=GRID_D_CUTOFF), bench)
        for low, beta in itertools.product(min_cutoffs, betas)
    ]
    best = choose(rows)
    if best is not None:
        for d_cutoff in D_CUTOFFS:
            if d_cutoff != GRID_D_CUTOFF:
                config = SmoothingConfig(**{**best["setting"], "d_cutoff": d_cutoff})
                rows.append(row_for(config, bench))
    if find_row(rows, SmoothingConfig()) is None:
        rows.append(row_for(SmoothingConfig(), bench))
    return rows


def choose(rows: list[dict]) -> dict | None:
    """The selection rule: the lowest jitter at rest (px) among rows within the lag limits."""
    eligible = [row for row in rows if row["eligible"]]
    return min(eligible, key=lambda row: row["metrics"]["rest"]["jitter_px"], default=None)


def find_row(rows: list[dict], config: SmoothingConfig) -> dict | None:
    return next((row for row in rows if row["setting"] == setting(config)), None)


@dataclass
class VideoHands:
    """The raw (unsmoothed) hands the keypoint backend found in every frame of a video."""

    name: str
    fps: float
    camera: PinholeCamera
    times: np.ndarray
    hands: dict[HandSide, list[HandResult]]


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame OpenCV decodes (RGB) and the frame rate the file states."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"cannot open video {path}")
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    capture.release()
    frames = decoded_frames_rgb(path)
    if not frames:
        raise SystemExit(f"no frames decoded from {path}")
    return frames, fps


def raw_video_hands(path: Path, name: str) -> VideoHands:
    """MediaPipe once over the video, smoothing off, with the default camera of its size."""
    frames, fps = read_video(path)
    if not fps > 0:
        raise SystemExit(f"{path} states no frame rate")
    height, width = frames[0].shape[:2]
    camera = PinholeCamera.default(width, height)
    times = np.arange(len(frames)) / fps
    hands: dict[HandSide, list[HandResult]] = {side: [] for side in HandSide}
    with tempfile.TemporaryDirectory() as folder:
        config = ReconstructorConfig(
            backend="keypoints",
            mano_dir=Path(folder) / "no-mano",
            smoothing=SmoothingConfig(enabled=False),
        )
        with HandReconstructor(config) as reconstructor:
            for frame, timestamp in zip(frames, times, strict=True):
                result = reconstructor.reconstruct(frame, camera, float(timestamp))
                for hand in result.hands:
                    hands[hand.side].append(hand)
    return VideoHands(name, fps, camera, times, hands)


def valid_segments(hands: list[HandResult]) -> list[slice]:
    """The runs of consecutive frames in which the hand is valid."""
    segments, start = [], None
    for index, hand in enumerate([*hands, None]):
        if hand is not None and hand.valid:
            start = index if start is None else start
        elif start is not None:
            segments.append(slice(start, index))
            start = None
    return segments


def best_time_shift_ms(pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], fps: float):
    """The delay s (ms) for which smoothed(t) is closest to raw(t - s) in the mean squared sense,
    raw interpolated linearly between frames; searched from -1 to +3 frames in 0.1 ms steps.
    `pairs` holds (times, raw wrist, smoothed wrist) of each segment."""
    best_shift, best_cost = None, math.inf
    for shift in np.arange(-1.0 / fps, 3.0 / fps, 1e-4):
        squared, count = 0.0, 0
        for times, raw, smoothed in pairs:
            earlier = times - shift
            inside = (earlier >= times[0]) & (earlier <= times[-1])
            if not inside.any():
                continue
            shifted = np.stack(
                [np.interp(earlier[inside], times, raw[:, axis]) for axis in range(3)], axis=1
            )
            squared += float(np.sum((smoothed[inside] - shifted) ** 2))
            count += int(inside.sum())
        if count and squared / count < best_cost:
            best_shift, best_cost = shift, squared / count
    return None if best_shift is None else 1000.0 * float(best_shift)


def footage_metrics(video: VideoHands, config: SmoothingConfig | None) -> dict:
    """Jitter proxy, lag against the raw hand and keypoint gap, over every valid segment."""
    second_px, second_mm, pairs, gaps = [], [], [], [0.0]
    for raw in video.hands.values():
        hands = raw if config is None else smooth(raw, video.times, config, video.camera)
        for segment in valid_segments(raw):
            joints = np.stack([hand.joints for hand in hands[segment]]).astype(np.float64)
            keypoints = np.stack([hand.keypoints_2d for hand in hands[segment]]).astype(np.float64)
            for hand_joints, hand_keypoints in zip(joints, keypoints, strict=True):
                gaps.append(float(np.abs(hand_keypoints - video.camera.project(hand_joints)).max()))
            if len(joints) >= 3:
                second_px.append(np.diff(keypoints, n=2, axis=0))
                second_mm.append(1000.0 * np.diff(joints, n=2, axis=0))
            if len(joints) >= 2:
                raw_wrists = np.stack([hand.wrist_position for hand in raw[segment]])
                pairs.append(
                    (video.times[segment], raw_wrists.astype(np.float64), joints[:, WRIST])
                )
    return {
        "jitter_proxy_px": _rms(np.concatenate(second_px)) if second_px else None,
        "jitter_proxy_mm": _rms(np.concatenate(second_mm)) if second_mm else None,
        "lag_ms": best_time_shift_ms(pairs, video.fps) if config is not None else 0.0,
        "max_keypoint_gap_px": max(gaps),
    }


def footage_report(sources: list[tuple[str, Path | None]], rows: list[dict]) -> list[dict]:
    """Each video's raw hands once, then each row's setting on them; skipped with the reason
    when MediaPipe or the cached footage is missing."""
    if importlib.util.find_spec("mediapipe") is None:
        reason = "MediaPipe is not installed (pip install mediapipe==0.10.14)"
        return [{"video": name, "skipped": True, "reason": reason} for name, _ in sources]
    reports = []
    for name, path in sources:
        try:
            video_path = footage_path(name) if path is None else path
        except FootageUnavailableError as error:
            reports.append({"video": name, "skipped": True, "reason": str(error)})
            continue
        start = time.perf_counter()
        video = raw_video_hands(video_path, name)
        hand_frames = {
            side.name.lower(): sum(h.valid for h in hands) for side, hands in video.hands.items()
        }
        reports.append(
            {
                "video": name,
                "skipped": False,
                "frames": len(video.times),
                "fps": video.fps,
                "size": [video.camera.width, video.camera.height],
                "hand_frames": hand_frames,
                "camera": f"PinholeCamera.default: f = {video.camera.fx:g} px",
                "mediapipe_s": time.perf_counter() - start,
                "raw": footage_metrics(video, None),
                "settings": [
                    {
                        "setting": row["setting"],
                        **footage_metrics(video, SmoothingConfig(**row["setting"])),
                    }
                    for row in rows
                ],
            }
        )
    return reports


def hand_description() -> dict:
    middle_tip = HAND[1 + 4 * FINGERS.index("middle") + 3]
    return {
        "side": "right",
        "pose": "open, palm to the camera, fingers up, each joint beyond the first curled "
        f"{CURL_DEG:g} degrees more towards the camera",
        "bones_m": {finger: list(lengths) for finger, lengths in FINGER_BONES_M.items()},
        "wrist_to_middle_tip_m": float(np.linalg.norm(middle_tip - HAND[WRIST])),
    }


METRIC_NOTES = {
    "jitter_px, jitter_mm (rest)": "RMS over frames after the warm-up and joints of the "
    "Euclidean error against the truth: keypoints_2d in px, joints in mm",
    "lag_ms": "mean along-track error of the wrist after the warm-up over the speed",
    "jitter_px, jitter_mm (steady)": "RMS of the error's deviation from its mean per joint",
    "overshoot_mm": "largest distance past the stop point along the motion of the hand's centre "
    "after the stop, mean over noise draws (overshoot_mm_worst: the largest draw)",
    "settling_ms": f"time after the stop until the centre's error along the motion stays within "
    f"{SETTLE_MM:g} mm, mean over noise draws; None if a draw had not settled by the end",
    "real footage": "jitter_proxy: RMS of the second temporal difference (px, mm); lag_ms: the "
    "delay best aligning the smoothed wrist with the raw one; max_keypoint_gap_px: largest "
    "|keypoints_2d - project(joints)|",
}


def print_report(report: dict) -> None:
    noise = report["noise_model"]
    print(
        f"synthetic: {report['hand']['wrist_to_middle_tip_m'] * 100:.1f} cm right hand, "
        f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]} camera f={FOCAL_PX:g} px, noise {noise['sigma_px']:g} px "
        f"per axis + {noise['sigma_depth_fraction']:.0%} depth, {report['fps']:g} FPS, "
        f"{report['seeds']} noise draws per scenario"
    )
    print(f"selection: {report['selection_rule']}")
    steady = [name for name, s in report["scenarios"].items() if s["kind"] == "steady"]
    header = (
        f"\n{'':<5} {'min_c':>5} {'beta':>5} {'d_c':>4} | {'rest px':>7} {'rest mm':>7} | "
        + " ".join(
            f"{name.replace('sideways_', 'lag ').replace('depth_', 'lag z'):>8}" for name in steady
        )
        + f" | {'move px':>7} {'over mm':>7} {'settle':>6} | ok"
    )
    print(header + "\n" + " " * 30 + "(lag ms; move px: jitter in motion at 1 m/s)")

    def line(mark: str, row: dict | None, metrics: dict) -> str:
        stop = metrics["stop_1"]
        settle = "never" if stop["settling_ms"] is None else f"{stop['settling_ms']:.0f}"
        cells = " ".join(f"{metrics[name]['lag_ms']:>8.1f}" for name in steady)
        values = (
            f"{'raw':>5} {'':>5} {'':>4}"
            if row is None
            else f"{row['setting']['min_cutoff']:>5g} {row['setting']['beta']:>5g} "
            f"{row['setting']['d_cutoff']:>4g}"
        )
        ok = "" if row is None else ("yes" if row["eligible"] else "no")
        return (
            f"{mark:<5} {values} | {metrics['rest']['jitter_px']:>7.2f} "
            f"{metrics['rest']['jitter_mm']:>7.2f} | {cells} | "
            f"{metrics['sideways_1']['jitter_px']:>7.2f} {stop['overshoot_mm']:>7.2f} "
            f"{settle:>6} | {ok}"
        )

    print(line("", None, report["raw"]))
    for row in report["grid"]:
        marks = ("R" if row is report["recommended"] else "") + (
            "D" if row is report["defaults"] else ""
        )
        print(line(marks, row, row["metrics"]))
    print("R: recommended, D: current defaults")
    at_60 = report["defaults_60fps"]
    print(f"\ndefaults at 60 FPS ({at_60['setting']}):")
    print(line("", None, at_60["raw"]))
    print(line("D", {"setting": at_60["setting"], "eligible": True}, at_60["metrics"]))
    recommended = report["recommended"]
    print(
        f"\nrecommended: {recommended['setting'] if recommended else None}; defaults "
        f"{report['defaults']['setting']}: defaults_are_recommended = "
        f"{report['defaults_are_recommended']}"
    )
    print("\nreal footage (keypoint backend; lag: delay of the smoothed wrist behind the raw):")
    print(
        f"{'video':<14} {'setting':<34} {'2nd diff px':>11} {'2nd diff mm':>11} "
        f"{'lag ms':>7} {'gap px':>7}"
    )
    for video in report["real_footage"]:
        if video["skipped"]:
            print(f"{video['video']:<14} skipped: {video['reason']}")
            continue
        shown = [("raw", video["raw"])]
        for label, row in (("defaults", report["defaults"]), ("recommended", recommended)):
            if row is not None:
                measured = next(s for s in video["settings"] if s["setting"] == row["setting"])
                values = "/".join(f"{value:g}" for value in row["setting"].values())
                shown.append((f"{label} {values}", measured))
        for label, measured in shown:
            print(
                f"{video['video']:<14} {label:<34} {measured['jitter_proxy_px']:>11.2f} "
                f"{measured['jitter_proxy_mm']:>11.2f} {measured['lag_ms']:>7.1f} "
                f"{measured['max_keypoint_gap_px']:>7.4f}"
            )
        print(
            f"{'':<14} {video['frames']} frames at {video['fps']:.1f} FPS, "
            f"hand frames {video['hand_frames']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("smoothing.json"), help="output")
    parser.add_argument(
        "--quick", action="store_true", help="a smaller grid, shorter scenarios, fewer draws"
    )
    parser.add_argument("--seeds", type=int, help="noise draws per scenario (default 10, quick 3)")
    parser.add_argument("--sigma-px", type=float, default=NoiseModel.sigma_px)
    parser.add_argument(
        "--sigma-depth",
        type=float,
        default=NoiseModel.sigma_depth_fraction,
        help="fraction of depth",
    )
    parser.add_argument(
        "--video", type=Path, action="append", default=[], help="more real footage (repeatable)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = args.seeds or (3 if args.quick else 10)
    noise = NoiseModel(args.sigma_px, args.sigma_depth)
    start = time.perf_counter()

    bench = SyntheticBench(noise, args.quick, seeds, FPS)
    rows = grid_rows(bench, args.quick)
    recommended = choose(rows)
    defaults = find_row(rows, SmoothingConfig())
    assert defaults is not None  # grid_rows adds them
    at_60 = SyntheticBench(noise, args.quick, seeds, 2 * FPS)
    sources: list[tuple[str, Path | None]] = [("tree.avi", None), ("fingers-lq.gif", None)]
    sources += [(str(path), path) for path in args.video]
    report = {
        "quick": args.quick,
        "camera": {"size": list(FRAME_SIZE), "focal_px": FOCAL_PX},
        "hand": hand_description(),
        "noise_model": noise.describe(),
        "fps": FPS,
        "frame_time_jitter": FRAME_TIME_JITTER,
        "warmup_s": WARMUP_S,
        "seeds": seeds,
        "scenarios": {s.name: s.describe() for s in scenarios(args.quick)},
        "metrics": METRIC_NOTES,
        "selection_rule": SELECTION_RULE,
        "lag_limit_ms": LAG_LIMIT_MS,
        "raw": bench.measure(None),
        "grid": rows,
        "recommended": recommended,
        "defaults": defaults,
        "defaults_are_recommended": recommended is defaults,
        "defaults_60fps": {
            "fps": 2 * FPS,
            "setting": defaults["setting"],
            "raw": at_60.measure(None),
            "metrics": at_60.measure(SmoothingConfig()),
        },
        "real_footage": footage_report(sources, rows),
    }
    report["run_s"] = time.perf_counter() - start
    args.json.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\n{report['run_s']:.1f} s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
