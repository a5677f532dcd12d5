"""InterHand2.6M's annotations read as released: a sample per annotation, joints in RepeHand order.

Where the files are: `repehand_ros.data.interhand_layout`; the joint orders:
`repehand_ros.data.interhand_joints`. What the four annotation files hold:

- `_data.json`, COCO style. `images`: id, file_name (relative to
  images/{split}), width, height, capture, camera, frame_idx, seq_name.
  `annotations`: id, image_id, bbox ([x, y, w, h] pixels around both
  hands), joint_valid (42 x [0|1]), hand_type ("right", "left",
  "interacting"), hand_type_valid.
- `_camera.json`: {capture: {"campos" | "camrot" | "focal" | "princpt":
  {camera: value}}}: camera centre in world millimetres, world-to-camera
  rotation, (fx, fy), (cx, cy). A world point X maps to the camera frame as
  R (X - campos).
- `_joint_3d.json`: {capture: {frame: {"world_coord": 42 x 3 mm, "joint_valid":
  42 x [0|1], ...}}}: the validity of the 3D annotation itself, per frame
  (the official training masks its 3D and projection losses with it; the
  `_data.json` validity, per image, masks the evaluation).
- `_MANO_NeuralAnnot.json`: {capture: {frame: {"right" | "left": null or
  {"pose": 48 (root then 15 finger joints, axis-angle), "shape": 10,
  "trans": 3 (metres)}}}}, in world coordinates, for smplx MANO with
  `flat_hand_mean=False`.

Everything the reader returns is in RepeHand's order, hands stacked
(right, left).

Its length (near 400 lines) is one job: the sample dataclasses and the reader
that builds them, with a clear error for each way a file can be wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from repehand_ros.data.interhand_joints import HAND_TYPES, HANDS, interhand_to_repehand
from repehand_ros.data.interhand_layout import (
    InterHandLayoutError,
    check_keys,
    locate_files,
    read_json_object,
)
from repehand_ros.geometry.boxes import Box

_CAMERA_KEYS = ("campos", "camrot", "focal", "princpt")
_IMAGE_KEYS = ("id", "file_name", "capture", "camera", "frame_idx")
_ANNOTATION_KEYS = ("id", "image_id", "bbox", "joint_valid", "hand_type", "hand_type_valid")
_MANO_KEYS = ("pose", "shape", "trans")


@dataclass(frozen=True, eq=False)
class CameraParameters:
    """One calibrated InterHand2.6M camera (no lens distortion: the images are undistorted).

    Attributes:
        rotation: (3, 3) world-to-camera rotation (`camrot`).
        position: (3,) camera centre in world millimetres (`campos`).
        focal: (2,) fx, fy in pixels.
        principal_point: (2,) cx, cy in pixels.
    """

    rotation: np.ndarray
    position: np.ndarray
    focal: np.ndarray
    principal_point: np.ndarray

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) to the camera frame (..., 3), same unit (mm): R (X - campos)."""
        return (np.asarray(points, dtype=np.float64) - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) to pixels (..., 2) (OpenCV convention, pinhole)."""
        points = np.asarray(points, dtype=np.float64)
        return points[..., :2] / points[..., 2:3] * self.focal + self.principal_point

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) intrinsic matrix K."""
        fx, fy = self.focal
        cx, cy = self.principal_point
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True, eq=False)
class ManoAnnotation:
    """One hand's NeuralAnnot MANO fit, world coordinates.

    Attributes:
        root_pose: (3,) global (wrist) rotation, axis-angle, world frame.
        hand_pose: (45,) the 15 finger joints' axis-angle rotations (MANO joint order).
        shape: (10,) shape coefficients.
        translation: (3,) smplx `transl`, metres.
    """

    root_pose: np.ndarray
    hand_pose: np.ndarray
    shape: np.ndarray
    translation: np.ndarray


@dataclass(frozen=True, eq=False)
class InterHandSample:
    """One annotation (one image) of InterHand2.6M, joints in RepeHand order.

    Attributes:
        index: position in the dataset.
        annotation_id, image_id: the ids in `_data.json`.
        image_path: the image file.
        image_size: (width, height) from the annotation.
        capture, camera_name, frame, sequence: where the image comes from.
        hand_type: "right", "left" or "interacting".
        hand_type_valid: whether the annotators trust `hand_type`.
        bbox: the annotation's box around the hands, image pixels.
        camera: the camera's calibration.
        joints_world: (2, 21, 3) right then left hand, world millimetres.
        joint_valid: (2, 21) bool; a hand's joints are all invalid when its
            wrist is (root-relative positions need the root), as the
            dataset's own code does.
        joint_valid_3d: (2, 21) bool, the same from `_joint_3d.json`'s
            `joint_valid` (the frame's 3D annotation), wrist-gated alike.
        mano: the (right, left) MANO fits; None where a hand has none.
    """

    index: int
    annotation_id: int
    image_id: int
    image_path: Path
    image_size: tuple[int, int]
    capture: int
    camera_name: str
    frame: int
    sequence: str
    hand_type: str
    hand_type_valid: bool
    bbox: Box
    camera: CameraParameters
    joints_world: np.ndarray
    joint_valid: np.ndarray
    joint_valid_3d: np.ndarray
    mano: tuple[ManoAnnotation | None, ManoAnnotation | None]

    @property
    def is_interacting(self) -> bool:
        return self.hand_type == "interacting"

    @property
    def hands(self) -> tuple[str, ...]:
        """The hands the annotation says are in the image, in (right, left) order."""
        return HANDS if self.is_interacting else (self.hand_type,)

    @property
    def joints_camera(self) -> np.ndarray:
        """(2, 21, 3) joints in the camera frame, millimetres."""
        return self.camera.world_to_camera(self.joints_world)

    def hand_boxes(self) -> dict[str, Box]:
        """Boxes around each present hand's valid projected joints (image pixels).

        A hand with fewer than two valid joints in front of the camera gets no box.
        """
        camera_points = self.joints_camera
        boxes: dict[str, Box] = {}
        for hand in self.hands:
            side = HANDS.index(hand)
            usable = self.joint_valid[side] & (camera_points[side, :, 2] > 0)
            if usable.sum() < 2:
                continue
            pixels = self.camera.project(camera_points[side, usable])
            (x_min, y_min), (x_max, y_max) = pixels.min(axis=0), pixels.max(axis=0)
            boxes[hand] = Box(float(x_min), float(y_min), float(x_max), float(y_max))
        return boxes

    def load_image(self) -> np.ndarray:
        """The image as H x W x 3 uint8 RGB, or InterHandLayoutError naming the file."""
        if not self.image_path.is_file():
            raise InterHandLayoutError(
                f"image not found: {self.image_path} (annotation {self.annotation_id}; "
                f"images must be at images/<split>/<file_name of _data.json>)"
            )
        image = cv2.imread(str(self.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise InterHandLayoutError(f"image {self.image_path} is not a readable image file")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _as_int(value: Any) -> int:
    return int(value)


class InterHandDataset(Sequence[InterHandSample]):
    """The annotations of one split, in `_data.json` order; samples are built on access.

    Reading the JSON files is the slow part (the released test split's
    files are several hundred megabytes); nothing else is loaded up front.
    Images are read by `InterHandSample.load_image`.
    """

    def __init__(self, root: str | Path, split: str = "test", subset: str | None = None) -> None:
        self.root = Path(root).expanduser()
        self.split = split
        self.files = locate_files(self.root, split, subset)
        data = read_json_object(self.files.data, "data")
        for key in ("images", "annotations"):
            if not isinstance(data.get(key), list):
                raise InterHandLayoutError(
                    f"{self.files.data} is not an InterHand2.6M data file: no {key!r} list "
                    f"(COCO style: 'images' and 'annotations')"
                )
        self._images: dict[int, Mapping[str, Any]] = {}
        for entry in data["images"]:
            check_keys(entry, _IMAGE_KEYS, self.files.data, "an 'images' entry")
            self._images[_as_int(entry["id"])] = entry
        self._annotations: list[Mapping[str, Any]] = list(data["annotations"])
        for entry in self._annotations[:1]:
            check_keys(entry, _ANNOTATION_KEYS, self.files.data, "an 'annotations' entry")
        self._cameras = read_json_object(self.files.camera, "camera")
        self._joints = read_json_object(self.files.joint_3d, "joint_3d")
        self._mano = read_json_object(self.files.mano, "MANO_NeuralAnnot")
        self._camera_cache: dict[tuple[str, str], CameraParameters] = {}

    def __len__(self) -> int:
        return len(self._annotations)

    def __iter__(self) -> Iterator[InterHandSample]:
        for index in range(len(self)):
            yield self[index]

    def __getitem__(self, index: int) -> InterHandSample:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("InterHandDataset does not support slices; index one sample")
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range ({len(self)} samples)")
        return self._build(index)

    # --- cheap questions about an annotation, without building the sample ---

    def hand_type(self, index: int) -> tuple[str, bool]:
        """The (hand_type, hand_type_valid) of annotation `index`."""
        annotation = self._annotations[index]
        return str(annotation["hand_type"]), bool(annotation["hand_type_valid"])

    def has_mano(self, index: int, hand: str) -> bool:
        """Whether annotation `index`'s frame has a MANO fit for `hand`."""
        image = self._images.get(_as_int(self._annotations[index]["image_id"]))
        if image is None:
            return False
        frame = self._mano.get(str(image["capture"]), {}).get(str(image["frame_idx"]))
        return isinstance(frame, Mapping) and isinstance(frame.get(hand), Mapping)

    # --- building a sample ---

    def _camera(self, capture: str, camera: str) -> CameraParameters:
        key = (capture, camera)
        if key not in self._camera_cache:
            path = self.files.camera
            if capture not in self._cameras:
                raise InterHandLayoutError(f"{path} has no capture {capture}")
            entry = self._cameras[capture]
            check_keys(entry, _CAMERA_KEYS, path, f"capture {capture}")
            values = {}
            for name in _CAMERA_KEYS:
                if camera not in entry[name]:
                    raise InterHandLayoutError(
                        f"{path}: capture {capture} has no {name!r} for camera {camera}"
                    )
                values[name] = np.asarray(entry[name][camera], dtype=np.float64)
            expected = {"campos": (3,), "camrot": (3, 3), "focal": (2,), "princpt": (2,)}
            for name, shape in expected.items():
                if values[name].shape != shape:
                    raise InterHandLayoutError(
                        f"{path}: capture {capture} camera {camera} {name!r} has shape "
                        f"{values[name].shape}, expected {shape}"
                    )
            self._camera_cache[key] = CameraParameters(
                rotation=values["camrot"],
                position=values["campos"],
                focal=values["focal"],
                principal_point=values["princpt"],
            )
        return self._camera_cache[key]

    def _mano_for(
        self, capture: str, frame: str
    ) -> tuple[ManoAnnotation | None, ManoAnnotation | None]:
        entry = self._mano.get(capture, {}).get(frame)
        fits: list[ManoAnnotation | None] = []
        for hand in HANDS:
            fit = entry.get(hand) if isinstance(entry, Mapping) else None
            if not isinstance(fit, Mapping):
                fits.append(None)
                continue
            check_keys(fit, _MANO_KEYS, self.files.mano, f"capture {capture} frame {frame} {hand}")
            pose = np.asarray(fit["pose"], dtype=np.float64).reshape(-1)
            shape = np.asarray(fit["shape"], dtype=np.float64).reshape(-1)
            trans = np.asarray(fit["trans"], dtype=np.float64).reshape(-1)
            if pose.shape != (48,) or shape.shape != (10,) or trans.shape != (3,):
                raise InterHandLayoutError(
                    f"{self.files.mano}: capture {capture} frame {frame} {hand}: expected pose "
                    f"(48), shape (10), trans (3), got {pose.shape}, {shape.shape}, {trans.shape}"
                )
            fits.append(ManoAnnotation(pose[:3], pose[3:], shape, trans))
        return fits[0], fits[1]

    def _build(self, index: int) -> InterHandSample:
        annotation = self._annotations[index]
        check_keys(annotation, _ANNOTATION_KEYS, self.files.data, f"annotation {index}")
        image_id = _as_int(annotation["image_id"])
        image = self._images.get(image_id)
        if image is None:
            raise InterHandLayoutError(
                f"{self.files.data}: annotation {annotation['id']} refers to image {image_id}, "
                f"which is not in 'images'"
            )
        capture, camera = str(image["capture"]), str(image["camera"])
        frame = str(image["frame_idx"])
        joints_entry = self._joints.get(capture, {}).get(frame)
        if not isinstance(joints_entry, Mapping) or "world_coord" not in joints_entry:
            raise InterHandLayoutError(
                f"{self.files.joint_3d} has no world_coord for capture {capture} frame {frame}"
            )
        world = np.asarray(joints_entry["world_coord"], dtype=np.float64)
        valid = np.asarray(annotation["joint_valid"], dtype=np.float64).reshape(-1)
        if world.shape != (42, 3) or valid.shape != (42,):
            raise InterHandLayoutError(
                f"capture {capture} frame {frame}: expected 42 joints (world_coord 42 x 3, "
                f"joint_valid 42), got {world.shape} and {valid.shape}"
            )
        hand_type = str(annotation["hand_type"])
        if hand_type not in HAND_TYPES:
            raise InterHandLayoutError(
                f"{self.files.data}: annotation {annotation['id']} has hand_type {hand_type!r}, "
                f"expected one of {', '.join(HAND_TYPES)}"
            )
        joint_valid = interhand_to_repehand(valid[:, None])[..., 0] > 0
        joint_valid &= joint_valid[:, :1]  # no wrist, no root-relative joints
        valid_3d = np.asarray(joints_entry.get("joint_valid", ()), dtype=np.float64).reshape(-1)
        if valid_3d.shape != (42,):
            raise InterHandLayoutError(
                f"{self.files.joint_3d}: capture {capture} frame {frame} has no 42-value "
                f"'joint_valid' (got shape {valid_3d.shape})"
            )
        joint_valid_3d = interhand_to_repehand(valid_3d[:, None])[..., 0] > 0
        joint_valid_3d &= joint_valid_3d[:, :1]
        x, y, w, h = (float(v) for v in annotation["bbox"])
        bbox = (
            Box(x, y, x + w, y + h)
            if all(map(math.isfinite, (x, y, w, h))) and w >= 0 and h >= 0
            else Box(0.0, 0.0, 0.0, 0.0)
        )
        return InterHandSample(
            index=index,
            annotation_id=_as_int(annotation["id"]),
            image_id=image_id,
            image_path=self.files.images / str(image["file_name"]),
            image_size=(int(image.get("width", 0)), int(image.get("height", 0))),
            capture=_as_int(capture),
            camera_name=camera,
            frame=_as_int(frame),
            sequence=str(image.get("seq_name", "")),
            hand_type=hand_type,
            hand_type_valid=bool(annotation["hand_type_valid"]),
            bbox=bbox,
            camera=self._camera(capture, camera),
            joints_world=interhand_to_repehand(world),
            joint_valid=joint_valid,
            joint_valid_3d=joint_valid_3d,
            mano=self._mano_for(capture, frame),
        )

    def check_first_image(self) -> None:
        """InterHandLayoutError when the first sample's image file is not where it belongs."""
        if len(self):
            sample = self[0]
            if not sample.image_path.is_file():
                raise InterHandLayoutError(
                    f"image not found: {sample.image_path}; the images of split {self.split!r} "
                    f"must be at {self.files.images}/<file_name in {self.files.data.name}> "
                    f"(Capture*/<sequence>/cam*/image*.jpg)"
                )


__all__ = [
    "CameraParameters",
    "InterHandDataset",
    "InterHandSample",
    "ManoAnnotation",
]
