"""InterHand2.6M read as released: images, camera, 3D joint and MANO (NeuralAnnot) annotations.

Layout (v1.0, both the 5 fps and the 30 fps releases), under the dataset root:

    images/{split}/Capture{c}/{sequence}/cam{camera}/image{frame}.jpg
    annotations/{split}/InterHand2.6M_{split}_data.json
    annotations/{split}/InterHand2.6M_{split}_camera.json
    annotations/{split}/InterHand2.6M_{split}_joint_3d.json
    annotations/{split}/InterHand2.6M_{split}_MANO_NeuralAnnot.json

The older v0.0 release kept the same four files in one folder per annotation
subset instead of per split (`annotations/all/`, `annotations/human_annot/`,
`annotations/machine_annot/`); that layout is read as well when asked for a
subset or when the per-split folder is absent.

File contents:

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

Joint order. InterHand2.6M lists the right hand's 21 joints (0-20), then the
left hand's (21-41); within a hand: thumb tip (thumb4), thumb3, thumb2,
thumb1, then index 4..1, middle 4..1, ring 4..1, pinky 4..1 (tip first,
knuckle nearest the palm last), and the wrist last (20 / 41). RepeHand's
order (`repehand_ros.mano.joints.JOINT_NAMES`) is wrist first, then each
finger from its knuckle to its tip. `REPEHAND_FROM_INTERHAND[k]` is the
InterHand index (within one hand) of RepeHand joint k:

    wrist -> 20; thumb_1..4 -> 3, 2, 1, 0; index_1..4 -> 7, 6, 5, 4;
    middle_1..4 -> 11, 10, 9, 8; ring_1..4 -> 15, 14, 13, 12;
    pinky_1..4 -> 19, 18, 17, 16.

Everything the reader returns is in RepeHand's order, hands stacked
(right, left).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from repehand_ros.geometry.boxes import Box
from repehand_ros.hands import FINGERS, JOINT_NAMES, NUM_JOINTS

SPLITS: tuple[str, ...] = ("train", "val", "test")
ANNOTATION_SUBSETS: tuple[str, ...] = ("all", "human_annot", "machine_annot")
"""The per-subset annotation folders of the v0.0 release."""

HANDS: tuple[str, str] = ("right", "left")
HAND_TYPES: tuple[str, ...] = ("right", "left", "interacting")

INTERHAND_JOINTS_PER_HAND = 21
INTERHAND_WRIST = 20

INTERHAND_JOINT_NAMES: tuple[str, ...] = (
    *(f"{finger}_{k}" for finger in FINGERS for k in (4, 3, 2, 1)),
    "wrist",
)
"""One hand's joints in InterHand2.6M's order (names as RepeHand spells them)."""

REPEHAND_FROM_INTERHAND: tuple[int, ...] = tuple(
    INTERHAND_JOINT_NAMES.index(name) for name in JOINT_NAMES
)
"""For each RepeHand joint, its index among one InterHand2.6M hand's 21 joints."""

FILE_KINDS: tuple[str, ...] = ("data", "camera", "joint_3d", "MANO_NeuralAnnot")

_CAMERA_KEYS = ("campos", "camrot", "focal", "princpt")
_IMAGE_KEYS = ("id", "file_name", "capture", "camera", "frame_idx")
_ANNOTATION_KEYS = ("id", "image_id", "bbox", "joint_valid", "hand_type", "hand_type_valid")
_MANO_KEYS = ("pose", "shape", "trans")


class InterHandLayoutError(ValueError):
    """A folder or file that is not InterHand2.6M as released: says what is missing or wrong."""


def interhand_to_repehand(joints: np.ndarray) -> np.ndarray:
    """InterHand2.6M joints (..., 42, D) to RepeHand order, hands stacked: (..., 2, 21, D)."""
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != 2 * INTERHAND_JOINTS_PER_HAND:
        raise ValueError(f"expected (..., 42, D) InterHand2.6M joints, got shape {joints.shape}")
    per_hand = joints.reshape(*joints.shape[:-2], 2, INTERHAND_JOINTS_PER_HAND, joints.shape[-1])
    return per_hand[..., list(REPEHAND_FROM_INTERHAND), :]


def repehand_to_interhand(joints: np.ndarray) -> np.ndarray:
    """The inverse of `interhand_to_repehand`: (..., 2, 21, D) hands to (..., 42, D)."""
    joints = np.asarray(joints)
    if joints.ndim < 3 or joints.shape[-3:-1] != (2, INTERHAND_JOINTS_PER_HAND):
        raise ValueError(f"expected (..., 2, 21, D) RepeHand joints, got shape {joints.shape}")
    per_hand = np.empty_like(joints)
    per_hand[..., list(REPEHAND_FROM_INTERHAND), :] = joints
    return per_hand.reshape(*joints.shape[:-3], 2 * INTERHAND_JOINTS_PER_HAND, joints.shape[-1])


def file_name(split: str, kind: str) -> str:
    """The released name of one annotation file, e.g. InterHand2.6M_test_camera.json."""
    return f"InterHand2.6M_{split}_{kind}.json"


@dataclass(frozen=True)
class AnnotationFiles:
    """The four annotation files of one split, and the folder of its images."""

    data: Path
    camera: Path
    joint_3d: Path
    mano: Path
    images: Path


def _expected_layout(root: Path, split: str) -> str:
    names = file_name(split, "{" + ",".join(FILE_KINDS) + "}")
    return (
        f"expected {root}/annotations/{split}/{names} and images in "
        f"{root}/images/{split}/Capture*/<sequence>/cam*/"
    )


def _hint_for_root(root: Path) -> str:
    if root.name in ("annotations", "images") and (root.parent / "images").is_dir():
        return f" (pass the folder that holds annotations/ and images/: {root.parent})"
    nested = [p.parent for p in sorted(root.glob("*/annotations")) if p.is_dir()]
    if nested:
        return f" (the dataset seems to be one level down: {nested[0]})"
    return ""


def locate_files(root: str | Path, split: str, subset: str | None = None) -> AnnotationFiles:
    """The annotation files and image folder of `split` under `root`, or InterHandLayoutError.

    `subset` picks a v0.0 annotation subset folder (all, human_annot,
    machine_annot); None means the v1.0 per-split folder, falling back to
    `all` when only the v0.0 layout is there.
    """
    root = Path(root).expanduser()
    if split not in SPLITS:
        raise InterHandLayoutError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if subset is not None and subset not in ANNOTATION_SUBSETS:
        raise InterHandLayoutError(
            f"unknown annotation subset {subset!r}: expected one of {', '.join(ANNOTATION_SUBSETS)}"
        )
    if not root.exists():
        raise InterHandLayoutError(f"InterHand2.6M folder not found: {root}")
    if not root.is_dir():
        raise InterHandLayoutError(f"InterHand2.6M root {root} is a file, not a folder")
    annotations = root / "annotations"
    if not annotations.is_dir():
        raise InterHandLayoutError(
            f"{root} is not an InterHand2.6M folder: no annotations/ folder in it"
            f"{_hint_for_root(root)}; {_expected_layout(root, split)}"
        )
    if subset is not None:
        folder = annotations / subset
    elif (annotations / split).is_dir():
        folder = annotations / split
    elif (annotations / "all").is_dir():
        folder = annotations / "all"
    else:
        present = sorted(p.name for p in annotations.iterdir() if p.is_dir())
        raise InterHandLayoutError(
            f"no annotations for split {split!r} in {annotations}: no {split}/ folder "
            f"(v1.0 layout) nor all/ (v0.0 layout); folders there: {present or 'none'}; "
            f"{_expected_layout(root, split)}"
        )
    if not folder.is_dir():
        raise InterHandLayoutError(f"annotation folder not found: {folder}")
    paths = {kind: folder / file_name(split, kind) for kind in FILE_KINDS}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir())
        raise InterHandLayoutError(
            f"{folder} lacks {', '.join(missing)} (found: {', '.join(present) or 'nothing'}); "
            f"{_expected_layout(root, split)}"
        )
    images = root / "images" / split
    if not images.is_dir():
        raise InterHandLayoutError(
            f"image folder not found: {images}; {_expected_layout(root, split)}"
        )
    return AnnotationFiles(
        data=paths["data"],
        camera=paths["camera"],
        joint_3d=paths["joint_3d"],
        mano=paths["MANO_NeuralAnnot"],
        images=images,
    )


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as stream:
            return json.load(stream)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InterHandLayoutError(f"{path} is not readable JSON: {error}") from error


def _require_mapping(value: Any, path: Path, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InterHandLayoutError(
            f"{path} is not an InterHand2.6M {what} file: expected a JSON object at the top, "
            f"found {type(value).__name__}"
        )
    return value


def _check_keys(entry: Any, keys: Sequence[str], path: Path, what: str) -> None:
    if not isinstance(entry, Mapping):
        raise InterHandLayoutError(f"{path}: {what} is a {type(entry).__name__}, not an object")
    missing = [key for key in keys if key not in entry]
    if missing:
        raise InterHandLayoutError(
            f"{path}: {what} lacks {', '.join(missing)} (has: {', '.join(map(str, entry))})"
        )


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
        data = _require_mapping(_read_json(self.files.data), self.files.data, "data")
        for key in ("images", "annotations"):
            if not isinstance(data.get(key), list):
                raise InterHandLayoutError(
                    f"{self.files.data} is not an InterHand2.6M data file: no {key!r} list "
                    f"(COCO style: 'images' and 'annotations')"
                )
        self._images: dict[int, Mapping[str, Any]] = {}
        for entry in data["images"]:
            _check_keys(entry, _IMAGE_KEYS, self.files.data, "an 'images' entry")
            self._images[_as_int(entry["id"])] = entry
        self._annotations: list[Mapping[str, Any]] = list(data["annotations"])
        for entry in self._annotations[:1]:
            _check_keys(entry, _ANNOTATION_KEYS, self.files.data, "an 'annotations' entry")
        self._cameras = _require_mapping(_read_json(self.files.camera), self.files.camera, "camera")
        self._joints = _require_mapping(
            _read_json(self.files.joint_3d), self.files.joint_3d, "joint_3d"
        )
        self._mano = _require_mapping(
            _read_json(self.files.mano), self.files.mano, "MANO_NeuralAnnot"
        )
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
            _check_keys(entry, _CAMERA_KEYS, path, f"capture {capture}")
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

    def _mano_for(self, capture: str, frame: str) -> tuple[ManoAnnotation | None, ...]:
        entry = self._mano.get(capture, {}).get(frame)
        fits: list[ManoAnnotation | None] = []
        for hand in HANDS:
            fit = entry.get(hand) if isinstance(entry, Mapping) else None
            if not isinstance(fit, Mapping):
                fits.append(None)
                continue
            _check_keys(fit, _MANO_KEYS, self.files.mano, f"capture {capture} frame {frame} {hand}")
            pose = np.asarray(fit["pose"], dtype=np.float64).reshape(-1)
            shape = np.asarray(fit["shape"], dtype=np.float64).reshape(-1)
            trans = np.asarray(fit["trans"], dtype=np.float64).reshape(-1)
            if pose.shape != (48,) or shape.shape != (10,) or trans.shape != (3,):
                raise InterHandLayoutError(
                    f"{self.files.mano}: capture {capture} frame {frame} {hand}: expected pose "
                    f"(48), shape (10), trans (3), got {pose.shape}, {shape.shape}, {trans.shape}"
                )
            fits.append(ManoAnnotation(pose[:3], pose[3:], shape, trans))
        return tuple(fits)

    def _build(self, index: int) -> InterHandSample:
        annotation = self._annotations[index]
        _check_keys(annotation, _ANNOTATION_KEYS, self.files.data, f"annotation {index}")
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
            mano=self._mano_for(capture, frame),  # type: ignore[arg-type]
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
    "ANNOTATION_SUBSETS",
    "HANDS",
    "HAND_TYPES",
    "INTERHAND_JOINT_NAMES",
    "NUM_JOINTS",
    "REPEHAND_FROM_INTERHAND",
    "SPLITS",
    "AnnotationFiles",
    "CameraParameters",
    "InterHandDataset",
    "InterHandLayoutError",
    "InterHandSample",
    "ManoAnnotation",
    "interhand_to_repehand",
    "locate_files",
    "repehand_to_interhand",
]
