"""HandReconstructor end to end: hands land where they are, in metres, or are reported missing.

The network is replaced by a scripted backend that returns what a perfect
network would for hands placed at known 3D positions in front of a known
camera (a fixture, not a claim about accuracy): the tests check the pipeline
around the network, from the crop plan to the camera frame.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.mano_files import RIGHT_WRIST_IN_MANO_FRAME, make_mano_arrays, write_cleaned_mano_file

from repehand_ros.detection import (
    CropPlanner,
    DetectionSource,
    HandDetection,
    HandLocator,
    HandTracker,
    TrackerSettings,
    plan_crops,
)
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.crop import CropTransform
from repehand_ros.geometry.placement import place_hand
from repehand_ros.hands import HandSide
from repehand_ros.mano.layer import ManoPair
from repehand_ros.model.outputs import HandPrediction, RepeHandOutput
from repehand_ros.pipeline.backends import BackendError
from repehand_ros.pipeline.config import LiveSettings, ReconstructorConfig
from repehand_ros.pipeline.reconstructor import HandReconstructor
from repehand_ros.pipeline.repehand_hands import hand_confidence
from repehand_ros.pipeline.smoothing import SmoothingConfig

CAMERA = PinholeCamera(
    k=np.array([[600.0, 0.0, 319.5], [0.0, 600.0, 239.5], [0.0, 0.0, 1.0]]),
    d=np.array([-0.05, 0.01, 0.0, 0.0, 0.0]),
    distortion_model="plumb_bob",
    width=640,
    height=480,
)
IMAGE = np.zeros((480, 640, 3), dtype=np.uint8)


@dataclass
class PlacedHand:
    """A MANO hand with a known pose at a known wrist position."""

    root_pose: np.ndarray
    hand_pose: np.ndarray
    shape: np.ndarray
    wrist: np.ndarray
    joints_rel: np.ndarray
    root: np.ndarray
    """The wrist in MANO's own frame: joints_rel + root are the MANO-frame joints."""
    camera: PinholeCamera = CAMERA

    @property
    def pixels(self) -> np.ndarray:
        return self.camera.project(self.joints_rel + self.wrist)

    @property
    def box(self) -> Box:
        low, high = self.pixels.min(axis=0), self.pixels.max(axis=0)
        return Box(*low.tolist(), *high.tolist())


def place(pair: ManoPair, side: HandSide, wrist: list[float], seed: int) -> PlacedHand:
    rng = np.random.default_rng(seed)
    root_pose = rng.normal(0, 0.3, 3).astype(np.float32)
    hand_pose = rng.normal(0, 0.2, 45).astype(np.float32)
    shape = rng.normal(0, 0.5, 10).astype(np.float32)
    layer = pair.right if side is HandSide.RIGHT else pair.left
    with torch.inference_mode():
        mesh = layer(*(torch.from_numpy(a[None]) for a in (root_pose, hand_pose, shape)))
    return PlacedHand(
        root_pose,
        hand_pose,
        shape,
        np.array(wrist),
        mesh.joints[0].numpy(),
        mesh.root[0].numpy(),
    )


def weak_perspective(hand: PlacedHand, crop: CropTransform) -> tuple[np.ndarray, np.ndarray]:
    """The camera (scale, tx, ty) and 2D joints in heatmap cells a perfect network would give.

    The official convention: the camera projects the joints in MANO's own frame
    (wrist-relative joints plus the MANO-frame wrist), x = s X + tx.
    """
    target = crop.to_crop(hand.pixels) / 32.0
    xy = (hand.joints_rel + hand.root)[:, :2].astype(np.float64)
    design = np.zeros((2 * len(xy), 3))
    design[0::2, 0], design[0::2, 1] = xy[:, 0], 1.0
    design[1::2, 0], design[1::2, 2] = xy[:, 1], 1.0
    cam = np.linalg.lstsq(design, target.reshape(-1), rcond=None)[0]
    return cam, target


class ScriptedBackend:
    """Answers each crop of the plan with the placed hands' true MANO parameters."""

    name = "scripted"
    variant_name = "5m"
    input_size = 224
    heatmap_size = 7

    def __init__(self, hands: dict[HandSide, PlacedHand], crops: list[CropTransform]) -> None:
        self.hands, self.crops, self.batches = hands, crops, []
        self.collapse_right = False

    def _prediction(self, hand: PlacedHand) -> HandPrediction:
        cams, joints_hm = [], []
        for crop in self.crops:
            cam, target = weak_perspective(hand, crop)
            cams.append(cam)
            joints_hm.append(np.concatenate([target, np.full((21, 1), 3.0)], axis=1))
        n = len(self.crops)
        return HandPrediction(
            joints_hm=np.stack(joints_hm).astype(np.float32),
            root_rotmat=np.tile(np.eye(3, dtype=np.float32), (n, 1, 1)),
            pose_rotmat=np.tile(np.eye(3, dtype=np.float32), (n, 15, 1, 1)),
            root_pose=np.tile(hand.root_pose, (n, 1)),
            hand_pose=np.tile(hand.hand_pose, (n, 1)),
            shape=np.tile(hand.shape, (n, 1)),
            cam=np.stack(cams).astype(np.float32),
        )

    def __call__(self, crops: np.ndarray) -> RepeHandOutput:
        assert crops.shape == (len(self.crops), 3, 224, 224) and crops.dtype == np.float32
        assert crops.min() >= 0.0 and crops.max() <= 1.0
        self.batches.append(len(crops))
        right, left = self.hands[HandSide.RIGHT], self.hands[HandSide.LEFT]
        relative = (left.wrist - right.wrist).astype(np.float32)
        output = RepeHandOutput(
            right=self._prediction(right),
            left=self._prediction(left),
            relative_translation=np.tile(relative, (len(self.crops), 1)),
        )
        if self.collapse_right:
            output.right.cam[:, 0] = 0.0
        return output


class StaticFinder:
    """A hand-finder that reports fixed boxes: stands in for the detector."""

    def __init__(self, boxes: dict[HandSide, Box]) -> None:
        self.boxes = boxes

    def find(self, image: np.ndarray) -> list[HandDetection]:
        return [
            HandDetection(side, box, 1.0, DetectionSource.DETECTOR)
            for side, box in self.boxes.items()
        ]

    def close(self) -> None:
        """Nothing to free."""


def reconstructor_for(mano_dir, hands, detected=(HandSide.RIGHT, HandSide.LEFT)):
    boxes = {side: hands[side].box for side in detected}
    plan = plan_crops(boxes)
    backend = ScriptedBackend(hands, [CropTransform(crop.box, 224) for crop in plan.crops])
    locator = HandLocator(StaticFinder(boxes), HandTracker(TrackerSettings(redetect_interval=1)))
    config = ReconstructorConfig(mano_dir=mano_dir, smoothing=SmoothingConfig(enabled=False))
    return HandReconstructor(config, backend=backend, locator=locator), backend, plan


@pytest.fixture(scope="module")
def pair(mano_dir, mano_arrays) -> ManoPair:
    return ManoPair.from_dir(mano_dir).eval()


@pytest.mark.parametrize("depth", [0.35, 0.6, 1.0])
def test_hands_sharing_one_crop_land_where_they_are(mano_dir, pair, depth):
    hands = {
        HandSide.RIGHT: place(pair, HandSide.RIGHT, [-0.04, 0.02, depth], seed=1),
        HandSide.LEFT: place(pair, HandSide.LEFT, [0.05, 0.0, depth + 0.03], seed=2),
    }
    reconstructor, backend, plan = reconstructor_for(mano_dir, hands)
    assert plan.shared and backend.crops[0].box == plan.crops[0].box
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    assert backend.batches == [1] and len(result.crops) == 1
    for side, hand in hands.items():
        got = result.right if side is HandSide.RIGHT else result.left
        assert got.valid, got.reason
        assert got.confidence > 0.8  # weak vs true perspective differ a little up close
        # Weak perspective in the crop approximates the true perspective: within 1.5 cm.
        np.testing.assert_allclose(got.wrist_position, hand.wrist, atol=0.015 * depth / 0.6)
        np.testing.assert_allclose(got.joints[0], got.wrist_position, atol=1e-6)
        assert got.vertices.shape == (778, 3)
        np.testing.assert_allclose(got.mano_pose, np.concatenate([hand.root_pose, hand.hand_pose]))
        assert np.abs(got.keypoints_2d - hand.pixels).max() < 0.05 * (got.box.width + 1)
    # One crop: the relative translation is the network's, and agrees with the wrists.
    np.testing.assert_allclose(
        result.relative_translation, hands[HandSide.LEFT].wrist - hands[HandSide.RIGHT].wrist, 1e-5
    )
    np.testing.assert_allclose(
        result.relative_translation,
        result.left.wrist_position - result.right.wrist_position,
        atol=1e-6,
    )
    assert result.backend == "repehand-5m/scripted"
    assert result.times.total_ms >= result.times.network_ms >= 0.0


@pytest.fixture(scope="module")
def flat_mano_dir(tmp_path_factory) -> Path:
    """MANO files of a hand that lies flat at z = 6 mm in MANO's frame when unposed, its wrist
    about 10 cm from MANO's origin as in the real files: seen face-on, a flat hand's pinhole
    image is exactly a scaled copy, so a weak-perspective camera describes it exactly."""
    directory = tmp_path_factory.mktemp("flat_mano")
    offset = np.array(RIGHT_WRIST_IN_MANO_FRAME)
    for name, sign, seed in (("MANO_RIGHT.pkl", 1.0, 0), ("MANO_LEFT.pkl", -1.0, 1)):
        arrays = make_mano_arrays(seed, tuple(offset * [sign, 1.0, 1.0]))
        arrays["v_template"][:, 2] = offset[2]
        arrays["J"] = arrays["J_regressor"] @ arrays["v_template"]
        arrays["hands_mean"] = np.zeros(45)
        write_cleaned_mano_file(directory / name, arrays)
    return directory


def test_the_camera_projects_mano_frame_joints_and_places_the_hand_within_a_millimetre(
    flat_mano_dir,
):
    """A network output made by the official convention (the camera projects the joints in
    MANO's frame, before the wrist is subtracted) for a hand at a known place is placed within
    1 mm; the same output read the old way (wrist-relative joints) is centimetres off."""
    pair = ManoPair.from_dir(flat_mano_dir).eval()
    camera = PinholeCamera(
        k=CAMERA.k, d=np.zeros(5), distortion_model="plumb_bob", width=640, height=480
    )
    zeros = np.zeros(3, np.float32), np.zeros(45, np.float32), np.zeros(10, np.float32)
    hands = {}
    for side, wrist in ((HandSide.RIGHT, [0.03, -0.02, 0.45]), (HandSide.LEFT, [0.3, 0.0, 0.5])):
        layer = pair.right if side is HandSide.RIGHT else pair.left
        with torch.inference_mode():
            mesh = layer(*(torch.from_numpy(a[None]) for a in zeros))
        hands[side] = PlacedHand(
            *zeros, np.array(wrist), mesh.joints[0].numpy(), mesh.root[0].numpy(), camera
        )
    right = hands[HandSide.RIGHT]
    assert np.ptp(right.joints_rel[:, 2]) < 1e-6 and np.linalg.norm(right.root) > 0.07
    right_pixels = right.pixels
    box = Box(*right_pixels.min(axis=0), *right_pixels.max(axis=0))
    crop = CropTransform(plan_crops({HandSide.RIGHT: box}).crops[0].box, 224)
    backend = ScriptedBackend(hands, [crop])
    locator = HandLocator(
        StaticFinder({HandSide.RIGHT: box}), HandTracker(TrackerSettings(redetect_interval=1))
    )
    config = ReconstructorConfig(mano_dir=flat_mano_dir, smoothing=SmoothingConfig(enabled=False))
    cam = backend._prediction(right).cam[0].astype(np.float64)
    target = crop.to_crop(right_pixels) / 32.0
    np.testing.assert_allclose(
        (right.joints_rel + right.root)[:, :2] * cam[0] + cam[1:], target, atol=1e-6
    )

    with HandReconstructor(config, backend=backend, locator=locator) as reconstructor:
        result = reconstructor.reconstruct(IMAGE, camera, 0.0)
    assert result.right.valid, result.right.reason
    assert np.linalg.norm(result.right.wrist_position - right.wrist) < 1e-3
    assert result.right.confidence > 0.99
    np.testing.assert_allclose(result.right.keypoints_2d, right_pixels, atol=0.01)

    old_keypoints = crop.heatmap_to_image(right.joints_rel[:, :2] * cam[0] + cam[1:], 7)
    old_wrist = place_hand(right.joints_rel, old_keypoints, camera)
    assert np.linalg.norm(old_wrist - right.wrist) > 0.05
    old_confidence = hand_confidence(1.0, target, right.joints_rel[:, :2] * cam[0] + cam[1:])
    assert old_confidence < 0.5 * result.right.confidence


def test_hands_far_apart_get_a_crop_each_in_one_batch(mano_dir, pair):
    hands = {
        HandSide.RIGHT: place(pair, HandSide.RIGHT, [-0.35, 0.05, 0.7], seed=3),
        HandSide.LEFT: place(pair, HandSide.LEFT, [0.35, -0.05, 0.8], seed=4),
    }
    reconstructor, backend, plan = reconstructor_for(mano_dir, hands)
    assert not plan.shared
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    assert backend.batches == [2] and len(result.crops) == 2
    for side, hand in hands.items():
        got = result.right if side is HandSide.RIGHT else result.left
        assert got.valid, got.reason
        np.testing.assert_allclose(got.wrist_position, hand.wrist, atol=0.02)
    np.testing.assert_allclose(
        result.relative_translation,
        result.left.wrist_position - result.right.wrist_position,
        atol=1e-6,
    )


def test_a_hand_that_is_not_detected_is_invalid_never_made_up(mano_dir, pair):
    hands = {
        HandSide.RIGHT: place(pair, HandSide.RIGHT, [0.0, 0.0, 0.5], seed=5),
        HandSide.LEFT: place(pair, HandSide.LEFT, [0.1, 0.0, 0.5], seed=6),
    }
    reconstructor, _, _ = reconstructor_for(mano_dir, hands, detected=(HandSide.RIGHT,))
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    assert result.right.valid
    assert not result.left.valid and result.left.reason == "not detected"
    assert result.left.vertices is None and not result.left.joints.any()
    assert not result.relative_translation.any()


def test_an_implausible_prediction_is_invalid_with_its_reason(mano_dir, pair):
    hands = {
        HandSide.RIGHT: place(pair, HandSide.RIGHT, [0.0, 0.0, 0.5], seed=7),
        HandSide.LEFT: place(pair, HandSide.LEFT, [0.1, 0.0, 0.5], seed=8),
    }
    reconstructor, backend, _ = reconstructor_for(mano_dir, hands, detected=(HandSide.RIGHT,))
    backend.collapse_right = True  # a network that puts every joint on one point
    result = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    assert not result.right.valid
    assert result.right.reason.startswith("placement failed")


def test_faces_come_from_the_mano_files(mano_dir, mano_arrays, pair):
    hands = {s: place(pair, s, [0.0, 0.0, 0.5], seed=9) for s in HandSide}
    reconstructor, _, _ = reconstructor_for(mano_dir, hands)
    right, left = reconstructor.faces
    np.testing.assert_array_equal(right, mano_arrays["right"]["f"])
    np.testing.assert_array_equal(left, mano_arrays["left"]["f"])


def test_bad_images_and_cameras_are_refused_clearly(mano_dir, pair):
    hands = {s: place(pair, s, [0.0, 0.0, 0.5], seed=10) for s in HandSide}
    reconstructor, _, _ = reconstructor_for(mano_dir, hands)
    with pytest.raises(ValueError, match="grey"):
        reconstructor.reconstruct(np.zeros((480, 640), np.uint8), CAMERA, 0.0)
    with pytest.raises(ValueError, match="RGBA"):
        reconstructor.reconstruct(np.zeros((480, 640, 4), np.uint8), CAMERA, 0.0)
    with pytest.raises(ValueError, match="uint8"):
        reconstructor.reconstruct(np.zeros((480, 640, 3), np.float32), CAMERA, 0.0)
    with pytest.raises(ValueError, match="empty"):
        reconstructor.reconstruct(np.zeros((0, 640, 3), np.uint8), CAMERA, 0.0)
    with pytest.raises(ValueError, match="intrinsics are for 640x480 images but the image is"):
        reconstructor.reconstruct(np.zeros((240, 320, 3), np.uint8), CAMERA, 0.0)
    with pytest.raises(ValueError, match="camera k"):
        PinholeCamera(k=np.full((3, 3), np.nan), d=[], distortion_model="", width=640, height=480)


def test_a_backend_this_machine_lacks_is_refused_clearly(mano_dir, monkeypatch):
    """On a machine without CUDA and without ONNX Runtime's TensorRT provider (made so here,
    whatever this machine has), asking for them is one clear error each."""
    import onnxruntime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    onnx_file = mano_dir / "MANO_RIGHT.pkl"  # exists; never read: the provider is checked first
    with pytest.raises(BackendError, match="TensorrtExecutionProvider is not available"):
        HandReconstructor(
            ReconstructorConfig(mano_dir=mano_dir, backend="tensorrt", onnx_file=onnx_file)
        )
    random = {"mano_dir": mano_dir, "allow_random_weights": True}
    with pytest.raises(BackendError, match="sees no CUDA GPU"):
        HandReconstructor(ReconstructorConfig(**random, device="cuda"))
    with pytest.raises(BackendError, match="fp16 needs device 'cuda'"):
        HandReconstructor(ReconstructorConfig(**random, device="cpu", fp16=True))


def test_missing_mano_files_name_the_file_and_where_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MANO_RIGHT\.pkl.*mano\.is\.tue\.mpg\.de"):
        HandReconstructor(ReconstructorConfig(mano_dir=tmp_path / "nowhere"))


def test_hands_near_the_threshold_do_not_flip_between_one_crop_and_two():
    planner = CropPlanner()

    def plan_at(fraction: float) -> bool:
        """Two 100 px hands placed so that, sharing a crop, each covers `fraction` of it."""
        union = 100.0 / fraction / 1.25
        boxes = {
            HandSide.RIGHT: Box(0.0, 0.0, 100.0, 100.0),
            HandSide.LEFT: Box(union - 100.0, 0.0, union, 100.0),
        }
        return planner.plan(boxes).shared

    assert [plan_at(f) for f in (0.2, 0.33, 0.37, 0.45, 0.33, 0.31, 0.25)] == [
        False,  # far apart: a crop each
        False,  # near the threshold (0.35): stays apart...
        False,
        True,  # ...until clearly close
        True,  # near the threshold: stays shared...
        True,
        False,  # ...until clearly apart
    ]


def test_live_settings_change_the_next_frame_and_keep_the_rest(mano_dir, pair):
    hands = {s: place(pair, s, [0.1 * s.value, 0.0, 0.5], seed=11) for s in HandSide}
    reconstructor, backend, _ = reconstructor_for(mano_dir, hands)
    locator, network, smoother = (
        reconstructor.locator,
        reconstructor.backend,
        reconstructor.smoother,
    )
    assert reconstructor.live_settings == LiveSettings.of(reconstructor.config)
    first = reconstructor.reconstruct(IMAGE, CAMERA, 0.0)
    assert first.right.valid and first.left.valid
    assert 0.0 < first.right.confidence < 1.0
    assert locator.tracker.tracked_sides == (HandSide.RIGHT, HandSide.LEFT)

    smoothing = SmoothingConfig(enabled=True, min_cutoff=2.0, beta=5.0)
    tuned = dataclasses.replace(
        reconstructor.live_settings, smoothing=smoothing, redetect_interval=7
    )
    reconstructor.update_live_settings(tuned)
    assert reconstructor.live_settings == tuned
    assert smoother.config == smoothing
    assert locator.tracker.settings.redetect_interval == 7
    assert locator.tracker.tracked_sides == (HandSide.RIGHT, HandSide.LEFT), "tracks kept"

    strict = dataclasses.replace(tuned, min_confidence=1.0)
    reconstructor.update_live_settings(strict)
    for hand in reconstructor.reconstruct(IMAGE, CAMERA, 0.1).hands:
        assert not hand.valid and hand.reason.endswith("below 1.00"), hand.reason
    reconstructor.update_live_settings(tuned)
    assert all(hand.valid for hand in reconstructor.reconstruct(IMAGE, CAMERA, 0.2).hands)
    # Nothing was built anew: the same network, locator and smoother ran every frame.
    assert reconstructor.backend is network and backend.batches == [1, 1, 1]
    assert reconstructor.locator is locator and reconstructor.smoother is smoother

    reconstructor.update_live_settings(dataclasses.replace(tuned, mirrored=True))
    assert reconstructor.config.detection.mirrored
    assert locator.tracker.tracked_sides == (), "the sides swap: tracking starts afresh"

    with pytest.raises(ValueError, match="min_confidence must be in"):
        LiveSettings(min_confidence=1.5)
    with pytest.raises(ValueError, match="redetect_interval"):
        LiveSettings(redetect_interval=0)
    with pytest.raises(ValueError, match="min_cutoff must be positive"):
        LiveSettings(smoothing=SmoothingConfig(min_cutoff=0.0))
