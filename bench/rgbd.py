"""Benchmark: wrist position error of monocular placement against depth fusion, per distance.

Synthetic RGB-D frames with known hands, one run, seeded (deterministic):

Hands (--hand; the JSON's "hand_model" says which was used and what it is):
- "mano": MANO hands from the project's MANO layer (`repehand_ros.mano.layer`)
  and the real MANO files in weights/mano or --mano-dir (an error without
  them; the default when they are there). Each true hand: a uniformly random
  orientation, finger pose N(0, 0.25 rad) per axis-angle component, shape
  N(0, 0.8) clipped to +-2.
- "capsule" (the default without real MANO files): a procedural capsule hand,
  not MANO. An adult hand's 21-joint skeleton (JOINT_NAMES order; wrist to
  the middle fingertip 17.6 cm, 18.4 cm to the end of its cap) with a tapered
  capsule (two hemispheres joined by a cone) along each of the 15 finger
  bones, radii 11-7 mm from knuckle to tip (thumb 13-8.5 mm, its
  metacarpal standing in for the thenar eminence), and a palm slab, the
  convex hull of ellipsoids at the knuckles and the wrist's sides (about
  83 x 93 x 25 mm). Every part is a closed surface; they overlap, and the
  z-buffer keeps the nearest. 1586 vertices, 3108 triangles. Each true hand:
  open, relaxed or fist-like (equally likely), each finger's flexions moved
  together by a curl N(0, 12 deg) and each joint angle by N(0, 4 deg); the
  palm towards the camera, its normal within 60 degrees of the optical axis
  (uniform over that cap), turned about the axis within +-90 degrees of
  fingers up; the whole hand scaled by N(1, 0.05) clipped to 0.9-1.1. The
  left hand is the right one mirrored (x -> -x in the hand's frame, the
  triangles turned over). Its silhouette, size and self-occlusion are a
  hand's; its surface is smoother than skin and has no creases, and it has
  no forearm (nor has MANO).
- "mano-fixture": the tests' fixture MANO files (MANO's real sizes and
  topology, random values: the template is a ~10 cm blob of random
  triangles, not a hand's surface), sampled as "mano"; the bench's earlier
  default, kept for comparison.
Each true hand's wrist is at depth z = the distance, its image anywhere in
the middle 40% of a 640 x 480 colour camera (f = 615 px, a RealSense D435's
colour stream at that size). Distances 0.2, 0.3, 0.35, 0.5, 0.75, 1.0, 1.25,
1.5 m.

Scenarios. "clean": one hand before a tilted background wall 0.3-1.0 m
behind it. "occluder": the same with an object held in front of the hand, a
box face or a cylinder (alternating) 0.5-3 cm nearer than the nearest part
of the hand it covers, covering 30-50% of the hand's silhouette (measured
and reported). "two_hands": the other (left) hand 3-8 cm nearer, moved
across the image until it hides 20-50% of the right hand's silhouette (the
share is reported), with its own monocular error; both hands are fused
together, the right hand's error is the one reported.

Depth camera model: an active stereo camera like the D435 (baseline
b = 50 mm; its depth imager's focal length f_d = 447 px at 848 x 480, an
87 degree field of view; subpixel disparity error 0.08 px), registered to
the colour camera (the driver's "aligned depth"; the alignment's own
resampling is not modelled). On the true depth Z:
- noise sigma_z = Z^2 0.08 / (f_d b) (Intel's RMS error formula: 3.6 mm at
  1 m, 8 mm at 1.5 m), as 0.6 white + 0.8 spatially correlated noise (white
  noise blurred with a Gaussian of 2 px, rescaled to unit variance), since
  stereo matching windows correlate neighbouring pixels;
- holes: the occlusion shadow of stereo (background pixels left of a nearer
  surface that the second imager cannot see, from the disparities f b / Z),
  edge pixels (within 1-2 px of a jump of 2 cm or more: 50% no data, 30%
  flying pixels anywhere between the nearest and farthest depth around them,
  20% kept), 1.5% random dropouts and blob-shaped holes over about 2%;
- quantisation: written as 16UC1 millimetres (0 = no data), read back with
  `repehand_ros.io.depth.depth_to_metres`.
Not modelled: the camera's calibration bias (absolute accuracy, up to 2% of
the distance in a D435's specification; fused error inherits it one to one),
its minimum range (D4xx cameras return nothing nearer than a few tens of
centimetres, less at lower resolutions: then the fusion falls back), IR
interference, the skin's subsurface scattering.

Monocular error model (an assumption, stated as such: it is how this bench
makes the image-only estimate err, not a measurement of any network). The
estimated hand has the true shape with N(0, 0.05 rad) added to each
global-orientation component and N(0, 0.1 rad) to each finger component
(its surface is not the true one; the capsule hand: the true hand turned by
a rotation of N(0, 0.05 rad) per axis-angle component, N(0, 0.1 rad) added
to each of its 20 finger angles, its size and bones true), its wrist at the
true wrist's depth on
the ray of the true wrist's pixel plus N(0, 1.5 px) per axis (keypoint
noise), and all of it is scaled about the camera centre by k ~ U(0.9, 1.1):
the hand-size error the image cannot see, which keeps the image and puts the
hand k times as far (see geometry/placement.py, 4). Its distance error is
therefore about |k - 1| times the distance. The keypoint noise moves the
hand across its ray, which depth cannot see: 1.5 px is 2.4 mm per axis at
1 m, a floor under the fused error.

Methods, per frame: "monocular" (the estimate); "fused" (`fuse_depth`,
default settings: scaling about the camera centre, falling back to the
monocular wrist when too few pixels agree); "one pixel" (a naive baseline:
the estimate scaled about the camera centre by the median measured depth of
the 5 x 5 pixels at the wrist's image over the estimate's own surface depth
there). Reported per scenario and distance: the wrist position error (mm),
10th percentile, median and 90th percentile, the fraction of fused frames
that fell back, and why.

    .venv/bin/python bench/rgbd.py --json rgbd.json --plot rgbd.png
    .venv/bin/python bench/rgbd.py --quick --json rgbd.json   # under a minute
    .venv/bin/python bench/rgbd.py --hand mano-fixture --quick   # the old default
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test"))

from repehand_ros.geometry.camera import NO_DISTORTION, PinholeCamera  # noqa: E402
from repehand_ros.geometry.depth_fusion import (  # noqa: E402
    DepthFit,
    DepthFusionSettings,
    HandMesh,
    fuse_depth,
    rasterise_depth,
)
from repehand_ros.hands import FINGERS, NUM_JOINTS, WRIST  # noqa: E402
from repehand_ros.io.depth import MILLIMETRES, depth_to_metres  # noqa: E402

WIDTH, HEIGHT = 640, 480
FOCAL_PX = 615.0
CAMERA = PinholeCamera(
    np.array([[FOCAL_PX, 0.0, 319.5], [0.0, FOCAL_PX, 239.5], [0.0, 0.0, 1.0]]),
    np.zeros(0),
    NO_DISTORTION,
    WIDTH,
    HEIGHT,
)
DISTANCES = (0.2, 0.3, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5)
QUICK_DISTANCES = (0.35, 1.0, 1.5)
SCENARIOS = ("clean", "occluder", "two_hands")
TRIALS = 24
QUICK_TRIALS = 6
DEFAULT_MANO_DIR = ROOT / "weights" / "mano"


@dataclass(frozen=True)
class StereoModel:
    """An active stereo depth camera registered to the colour camera (D435-like numbers)."""

    baseline_m: float = 0.050
    depth_focal_px: float = 447.0
    """The depth imager's focal length at 848 x 480 (87 degrees across)."""
    subpixel: float = 0.08
    """RMS disparity error, pixels."""
    correlated_share: float = 0.8
    """Weight of the spatially correlated part of the noise (white part: sqrt(1 - w^2))."""
    correlation_px: float = 2.0
    jump_m: float = 0.02
    edge_drop: float = 0.5
    edge_flying: float = 0.3
    dropout: float = 0.015
    blob_holes: float = 0.02
    max_range_m: float = 10.0

    def sigma_m(self, depth: np.ndarray) -> np.ndarray:
        return depth**2 * self.subpixel / (self.depth_focal_px * self.baseline_m)


@dataclass(frozen=True)
class MonocularModel:
    """How the bench makes the image-only estimate err (an assumption; see the docstring)."""

    size_error: float = 0.10
    global_pose_rad: float = 0.05
    finger_pose_rad: float = 0.10
    keypoint_px: float = 1.5


@dataclass
class Frame:
    scenario: str
    distance: float
    trial: int
    rng: np.random.Generator
    true_params: dict[str, dict[str, np.ndarray]]
    """Per hand ("right", "left"): the hand model's parameters (Hands.sample)."""
    est_params: dict[str, dict[str, np.ndarray]]
    sizes: dict[str, float]


# ----------------------------------------------------------------------------- hands

HAND_CHOICES = ("mano", "capsule", "mano-fixture")


class Hands(Protocol):
    """A hand model the bench renders: how it draws a hand, errs it, and builds its mesh."""

    kind: str
    description: str
    faces: dict[str, np.ndarray]
    """Per side ("right", "left"): the triangles (F, 3), the same for every pose."""

    def sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A true hand's parameters."""
        ...

    def estimate(
        self, true: dict[str, np.ndarray], rng: np.random.Generator, model: MonocularModel
    ) -> dict[str, np.ndarray]:
        """The monocular estimate's parameters: the true ones with pose noise."""
        ...

    def meshes(
        self, side: str, params: list[dict[str, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Wrist-relative vertices (B, V, 3) and joints (B, 21, 3), camera axes, metres."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the JSON says about the model."""
        ...


# ----------------------------------------------------------------------------- MANO


class ManoHands:
    """MANO hands from the project's MANO layer: the real files, or the tests' fixture."""

    def __init__(self, pair: Any, kind: str, description: str) -> None:
        self.pair = pair
        self.kind = kind
        self.description = description
        self.faces = {"right": pair.right.faces, "left": pair.left.faces}

    def sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return hand_params(rng)

    def estimate(
        self, true: dict[str, np.ndarray], rng: np.random.Generator, model: MonocularModel
    ) -> dict[str, np.ndarray]:
        return estimated_params(true, rng, model)

    def meshes(
        self, side: str, params: list[dict[str, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        return mano_meshes(self.pair.right if side == "right" else self.pair.left, params)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "description": self.description,
            "vertices": int(self.faces["right"].max()) + 1,
            "faces": len(self.faces["right"]),
            "true_hands": "uniformly random orientation; finger pose N(0, 0.25 rad) per "
            "axis-angle component; shape N(0, 0.8) clipped to +-2",
            "estimate_pose_noise": "N(0, global_pose_rad) added to each root axis-angle "
            "component, N(0, finger_pose_rad) to each finger component; the true shape",
        }


def load_mano_hands(kind: str, mano_dir: Path | None) -> ManoHands:
    """MANO hands: the real files ("mano", an error without them) or the tests' fixture."""
    from repehand_ros.mano.layer import ManoPair

    if kind == "mano":
        folder = mano_dir if mano_dir is not None else DEFAULT_MANO_DIR
        if not has_mano_files(folder):
            raise SystemExit(
                f"--hand mano: no MANO_RIGHT.pkl and MANO_LEFT.pkl in {folder} "
                "(see weights/README.md; --hand capsule runs without them)"
            )
        return ManoHands(ManoPair.from_dir(folder).eval(), kind, f"MANO files in {folder}")
    from fixtures.mano_files import write_official_mano_dir

    description = (
        "test fixture MANO files (test/fixtures/mano_files.py: real sizes and topology, "
        "random values; the template is a ~10 cm blob of random triangles, not a hand)"
    )
    with tempfile.TemporaryDirectory(prefix="rgbd-bench-mano-") as name:
        write_official_mano_dir(Path(name))
        pair = ManoPair.from_dir(name).eval()  # read now: the files go with the folder
    return ManoHands(pair, kind, description)


def has_mano_files(folder: Path) -> bool:
    from repehand_ros.mano.layer import MANO_FILENAMES

    return all((folder / name).is_file() for name in MANO_FILENAMES.values())


def mano_meshes(layer: Any, params: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Wrist-relative vertices (B, 778, 3) and joints (B, 21, 3), metres, float64."""
    import torch

    with torch.no_grad():
        output = layer(
            torch.tensor(np.stack([p["root"] for p in params]), dtype=torch.float32),
            torch.tensor(np.stack([p["fingers"] for p in params]), dtype=torch.float32),
            torch.tensor(np.stack([p["shape"] for p in params]), dtype=torch.float32),
        )
    return (
        output.vertices.numpy().astype(np.float64),
        output.joints.numpy().astype(np.float64),
    )


def random_rotation_vector(rng: np.random.Generator) -> np.ndarray:
    """Axis-angle of a uniformly random rotation (a normalised Gaussian quaternion)."""
    quaternion = rng.normal(size=4)
    quaternion /= np.linalg.norm(quaternion)
    if quaternion[3] < 0:
        quaternion = -quaternion
    axis_length = float(np.linalg.norm(quaternion[:3]))
    angle = 2.0 * math.atan2(axis_length, quaternion[3])
    return quaternion[:3] / max(axis_length, 1e-12) * angle


def hand_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "root": random_rotation_vector(rng),
        "fingers": rng.normal(0.0, 0.25, 45),
        "shape": np.clip(rng.normal(0.0, 0.8, 10), -2.0, 2.0),
    }


def estimated_params(
    true: dict[str, np.ndarray], rng: np.random.Generator, model: MonocularModel
) -> dict[str, np.ndarray]:
    return {
        "root": true["root"] + rng.normal(0.0, model.global_pose_rad, 3),
        "fingers": true["fingers"] + rng.normal(0.0, model.finger_pose_rad, 45),
        "shape": true["shape"].copy(),
    }


# ----------------------------------------------------------------------------- capsule hand
#
# The hand's own frame (a right hand): origin at the wrist joint, +y along the middle
# finger (distal), +x towards the thumb (radial), +z out of the palm (palmar). Metres.

KNUCKLES_M: dict[str, tuple[float, float, float]] = {
    "thumb": (0.021, 0.024, 0.010),
    "index": (0.024, 0.082, 0.0),
    "middle": (0.005, 0.085, 0.0),
    "ring": (-0.013, 0.080, 0.0),
    "pinky": (-0.029, 0.072, 0.0),
}
"""Each finger's first joint (_1): the thumb's carpometacarpal joint, the other fingers'
knuckles (metacarpophalangeal joints)."""
BONES_M: dict[str, tuple[float, float, float]] = {
    "thumb": (0.044, 0.032, 0.025),
    "index": (0.040, 0.024, 0.019),
    "middle": (0.044, 0.027, 0.020),
    "ring": (0.041, 0.026, 0.020),
    "pinky": (0.032, 0.019, 0.018),
}
"""Bone lengths _1 -> _2 -> _3 -> _4 (the thumb's first is its metacarpal). Wrist to the
middle fingertip's joint 17.6 cm, 18.4 cm to the end of its cap."""
RADII_M: dict[str, tuple[float, float, float, float]] = {
    "thumb": (0.013, 0.011, 0.0095, 0.0085),
    "index": (0.0105, 0.0095, 0.0085, 0.0075),
    "middle": (0.011, 0.010, 0.009, 0.008),
    "ring": (0.0105, 0.0095, 0.0085, 0.0075),
    "pinky": (0.0095, 0.0085, 0.0075, 0.007),
}
"""The capsules' radii at joints _1 .. _4 (the thumb's metacarpal stands in for the thenar
eminence)."""
PALM_ANCHORS_M = (
    (0.024, 0.072, 0.0),
    (0.005, 0.075, 0.0),
    (-0.013, 0.070, 0.0),
    (-0.029, 0.062, 0.0),
    (-0.016, 0.012, 0.0),
    (0.016, 0.012, 0.0),
)
"""The palm slab is the convex hull of ellipsoids at these points: 1 cm short of the
knuckles of index to pinky, and the wrist's two sides."""
PALM_RADII_M = (0.015, 0.015, 0.0125)
"""The ellipsoids' semi-axes: the slab is about 83 mm wide, 93 mm long, 25 mm thick."""
FINGER_BASE_DEG = (5.0, 0.0, -5.0, -11.0)
"""Index to pinky: the direction of the finger with no spread, degrees from +y towards +x."""
FINGER_SPREAD_DEG = (8.0, 0.0, -6.0, -12.0)
"""Index to pinky: the open hand's spread added to that."""
THUMB_PAD = (-1.0, 0.0, 0.3)
"""Where the thumb's pad faces (made perpendicular to its metacarpal): it flexes that way,
across the palm towards the little finger."""


@dataclass(frozen=True)
class CapsulePose:
    """A pose class, degrees: flexion at the fingers' _1, _2, _3 joints (index to pinky);
    the thumb's metacarpal abduction (from +y towards +x) and elevation (towards +z) and
    flexion at its _2 and _3; the share of the open hand's spread."""

    fingers: tuple[float, float, float]
    thumb: tuple[float, float, float, float]
    spread: float


CAPSULE_POSES = {
    "open": CapsulePose((5.0, 5.0, 3.0), (50.0, 15.0, 5.0, 5.0), 1.0),
    "relaxed": CapsulePose((30.0, 40.0, 20.0), (30.0, 25.0, 20.0, 20.0), 0.5),
    "fist": CapsulePose((80.0, 95.0, 55.0), (10.0, 30.0, 50.0, 40.0), 0.1),
}
CURL_SD_DEG = 12.0
"""Per finger: one curl added to each of its flexions (the third joint 0.7 of it)."""
JOINT_SD_DEG = 4.0
"""Per joint angle, on top of the finger's curl."""
FLEXION_RANGE_DEG = (-5.0, 110.0)
PALM_TILT_MAX_DEG = 60.0
"""The palm faces the camera: its normal within this of the optical axis (uniform over
that cap of directions)."""
ROLL_MAX_DEG = 90.0
"""Turn about the optical axis, uniform within +-this of fingers up."""
HAND_SCALE_SD = 0.05
"""The true hand's size: the model scaled by N(1, this), clipped to 0.9-1.1."""
CAPSULE_AROUND = 12
"""Vertices around each capsule."""
CAPSULE_RINGS = 4
"""Rings of vertices per hemispherical cap, its equator included."""
HAND_TO_CAMERA = np.diag([1.0, -1.0, -1.0])
"""The hand's frame in camera axes with the palm to the camera, fingers up: thumb to the
image's right (x), fingers up the image (-y), palm towards the camera (-z)."""
MIRROR = np.diag([-1.0, 1.0, 1.0])
"""A left hand is the right one with x -> -x in the hand's frame."""


def rotation_matrix(rotation_vector: np.ndarray) -> np.ndarray:
    """The rotation of an axis-angle vector (Rodrigues)."""
    angle = float(np.linalg.norm(rotation_vector))
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = np.asarray(rotation_vector, dtype=np.float64) / angle
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + math.sin(angle) * cross + (1.0 - math.cos(angle)) * cross @ cross


def capsule_template() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One capsule's vertices in its own terms and its triangles (a closed surface).

    Returns end (V,) 0 at the bone's start, 1 at its end; directions (V, 3): the unit
    offset from that end as (across 1, across 2, along the bone); faces (F, 3). Vertex 0 is
    the start's pole, the last the end's; the rings between go from the start's cap (polar
    angle pi - k pi / 2n) over both equators to the end's cap.
    """
    n, around = CAPSULE_RINGS, CAPSULE_AROUND
    polar = [math.pi - 0.5 * math.pi * k / n for k in range(1, n + 1)]
    polar += [0.5 * math.pi * (1.0 - k / n) for k in range(n)]
    ends = [0] + [0] * n + [1] * n + [1]
    angles = [math.pi, *polar, 0.0]
    phi = 2.0 * math.pi * np.arange(around) / around
    end_list, direction_list = [], []
    for ring, (end, theta) in enumerate(zip(ends, angles, strict=True)):
        count = 1 if ring in (0, len(angles) - 1) else around
        ring_phi = phi[:count]
        end_list += [end] * count
        direction_list.append(
            np.stack(
                [
                    math.sin(theta) * np.cos(ring_phi),
                    math.sin(theta) * np.sin(ring_phi),
                    np.full(count, math.cos(theta)),
                ],
                axis=1,
            )
        )
    rings = 2 * n
    last = 1 + rings * around

    def ring_vertex(ring: int, j: int) -> int:
        return 1 + ring * around + j % around

    faces = []
    for j in range(around):
        faces.append((0, ring_vertex(0, j + 1), ring_vertex(0, j)))
        for ring in range(rings - 1):
            a, b = ring_vertex(ring, j), ring_vertex(ring, j + 1)
            c, d = ring_vertex(ring + 1, j + 1), ring_vertex(ring + 1, j)
            faces += [(a, b, c), (a, c, d)]
        faces.append((ring_vertex(rings - 1, j), ring_vertex(rings - 1, j + 1), last))
    return np.array(end_list), np.concatenate(direction_list), np.array(faces, dtype=np.int64)


def palm_mesh() -> tuple[np.ndarray, np.ndarray]:
    """The palm slab in the hand's frame: vertices (V, 3) and outward triangles (F, 3), the
    convex hull of ellipsoids (64 points each) at PALM_ANCHORS_M."""
    from scipy.spatial import ConvexHull

    count = 64
    index = np.arange(count) + 0.5
    z = 1.0 - 2.0 * index / count
    around = math.pi * (3.0 - math.sqrt(5.0)) * index
    sphere = np.stack(
        [np.sqrt(1.0 - z**2) * np.cos(around), np.sqrt(1.0 - z**2) * np.sin(around), z], 1
    )
    points = (np.array(PALM_ANCHORS_M)[:, None, :] + sphere * PALM_RADII_M).reshape(-1, 3)
    hull = ConvexHull(points)
    used, faces = np.unique(hull.simplices, return_inverse=True)
    faces = faces.reshape(-1, 3).astype(np.int64)
    vertices = points[used]
    corners = vertices[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    inward = np.einsum("ij,ij->i", normals, hull.equations[:, :3]) < 0
    faces[inward] = faces[inward][:, ::-1]
    return vertices, faces


def capsule_bones() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 15 finger bones: parent and child joint indices, radii at both ends."""
    parents, children, start_radii, end_radii = [], [], [], []
    for f, finger in enumerate(FINGERS):
        for k in range(3):
            parents.append(1 + 4 * f + k)
            children.append(2 + 4 * f + k)
            start_radii.append(RADII_M[finger][k])
            end_radii.append(RADII_M[finger][k + 1])
    return np.array(parents), np.array(children), np.array(start_radii), np.array(end_radii)


def capsule_joints(angles: np.ndarray) -> np.ndarray:
    """The 21 joints (JOINT_NAMES order) of the unit-size right hand in its own frame.

    angles (5, 4) radians: thumb (abduction, elevation, flexion at _2, at _3), then index
    to pinky (direction from +y towards +x, flexion at _1, _2, _3). Each finger bends in
    one plane: its bones turn from its first direction towards the palm's side (the
    thumb: towards its pad) by the flexions summed so far.
    """
    joints = np.zeros((NUM_JOINTS, 3))
    pad = np.array(THUMB_PAD) / np.linalg.norm(THUMB_PAD)
    for f, finger in enumerate(FINGERS):
        if finger == "thumb":
            abduction, elevation, second, third = angles[f]
            first = np.array(
                [
                    math.sin(abduction) * math.cos(elevation),
                    math.cos(abduction) * math.cos(elevation),
                    math.sin(elevation),
                ]
            )
            towards = pad - (pad @ first) * first
            flexions = (0.0, second, third)
        else:
            direction, *finger_flexions = angles[f]
            first = np.array([math.sin(direction), math.cos(direction), 0.0])
            towards = np.array([0.0, 0.0, 1.0])
            flexions = tuple(finger_flexions)
        towards = towards / np.linalg.norm(towards)
        point = np.array(KNUCKLES_M[finger], dtype=np.float64)
        joints[1 + 4 * f] = point
        bent = 0.0
        for k, length in enumerate(BONES_M[finger]):
            bent += flexions[k]
            point = point + length * (math.cos(bent) * first + math.sin(bent) * towards)
            joints[2 + 4 * f + k] = point
    return joints


class CapsuleHands:
    """A procedural stand-in for MANO: capsules along a posed 21-joint skeleton and a palm
    slab, used when the real MANO files are absent (see the module's docstring)."""

    kind = "capsule"
    description = (
        "procedural capsule hand, not MANO: an adult hand's 21-joint skeleton (wrist to "
        "middle fingertip 18 cm) posed open, relaxed or fist-like with random per-finger "
        "curl, a tapered capsule along each of its 15 finger bones (radii 13-7 mm) and a "
        "palm slab (about 83 x 93 x 25 mm); the left hand is the right one mirrored"
    )

    def __init__(self) -> None:
        self._end, self._directions, capsule_faces = capsule_template()
        self._bones = capsule_bones()
        self._palm, palm_faces = palm_mesh()
        per_capsule = len(self._end)
        bones = len(self._bones[0])
        right = np.concatenate(
            [capsule_faces + b * per_capsule for b in range(bones)]
            + [palm_faces + bones * per_capsule]
        )
        self.faces = {"right": right, "left": right[:, ::-1].copy()}
        self.vertex_count = bones * per_capsule + len(self._palm)

    def sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        pose_index = int(rng.integers(len(CAPSULE_POSES)))
        pose = list(CAPSULE_POSES.values())[pose_index]
        angles = np.zeros((len(FINGERS), 4))
        thumb_curl = rng.normal(0.0, CURL_SD_DEG)
        angles[0] = np.array(pose.thumb) + rng.normal(0.0, JOINT_SD_DEG, 4)
        angles[0, 2:] += thumb_curl
        for f in range(1, len(FINGERS)):
            curl = rng.normal(0.0, CURL_SD_DEG)
            angles[f, 0] = FINGER_BASE_DEG[f - 1] + pose.spread * FINGER_SPREAD_DEG[f - 1]
            angles[f, 0] += rng.normal(0.0, 0.5 * JOINT_SD_DEG)
            angles[f, 1:] = (
                np.array(pose.fingers)
                + curl * np.array([1.0, 1.0, 0.7])
                + rng.normal(0.0, JOINT_SD_DEG, 3)
            )
        angles[1:, 1:] = np.clip(angles[1:, 1:], *FLEXION_RANGE_DEG)
        angles[0, 2:] = np.clip(angles[0, 2:], *FLEXION_RANGE_DEG)
        roll = math.radians(rng.uniform(-ROLL_MAX_DEG, ROLL_MAX_DEG))
        cos_tilt = rng.uniform(math.cos(math.radians(PALM_TILT_MAX_DEG)), 1.0)
        tilt_axis = rng.uniform(0.0, 2.0 * math.pi)
        tilt = math.acos(cos_tilt) * np.array([math.cos(tilt_axis), math.sin(tilt_axis), 0.0])
        rotation = (
            rotation_matrix(tilt) @ rotation_matrix(np.array([0.0, 0.0, roll])) @ HAND_TO_CAMERA
        )
        return {
            "pose": np.array(pose_index),
            "angles": np.radians(angles),
            "rotation": rotation,
            "scale": np.array(np.clip(rng.normal(1.0, HAND_SCALE_SD), 0.9, 1.1)),
        }

    def estimate(
        self, true: dict[str, np.ndarray], rng: np.random.Generator, model: MonocularModel
    ) -> dict[str, np.ndarray]:
        """The true hand turned by N(0, global_pose_rad) per axis-angle component, each of
        its 20 finger angles off by N(0, finger_pose_rad); its size and bones are true."""
        turn = rotation_matrix(rng.normal(0.0, model.global_pose_rad, 3))
        return {
            "pose": true["pose"].copy(),
            "angles": true["angles"] + rng.normal(0.0, model.finger_pose_rad, (len(FINGERS), 4)),
            "rotation": turn @ true["rotation"],
            "scale": true["scale"].copy(),
        }

    def meshes(
        self, side: str, params: list[dict[str, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.mesh(side, p) for p in params]
        return np.stack([v for v, _ in pairs]), np.stack([j for _, j in pairs])

    def mesh(self, side: str, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """One hand's wrist-relative vertices (V, 3) and joints (21, 3) in camera axes."""
        joints = capsule_joints(params["angles"])
        parents, children, start_radii, end_radii = self._bones
        start, end = joints[parents], joints[children]
        along = end - start
        along /= np.linalg.norm(along, axis=1, keepdims=True)
        helper = np.where(np.abs(along[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        across_1 = np.cross(along, helper)
        across_1 /= np.linalg.norm(across_1, axis=1, keepdims=True)
        across_2 = np.cross(along, across_1)
        frames = np.stack([across_1, across_2, along], axis=1)  # (bones, 3 axes, 3)
        offsets = np.einsum("va,bak->bvk", self._directions, frames)
        at_end = self._end[None, :, None] == 1
        centres = np.where(at_end, end[:, None, :], start[:, None, :])
        radii = np.where(at_end[..., 0], end_radii[:, None], start_radii[:, None])
        capsules = centres + radii[..., None] * offsets
        vertices = np.concatenate([capsules.reshape(-1, 3), self._palm])
        scale = float(params["scale"])
        vertices, joints = scale * vertices, scale * joints
        if side == "left":
            vertices, joints = vertices @ MIRROR, joints @ MIRROR
        rotation = params["rotation"]
        return vertices @ rotation.T, joints @ rotation.T

    def describe(self) -> dict[str, Any]:
        straight = capsule_joints(np.zeros((len(FINGERS), 4)))
        return {
            "kind": self.kind,
            "description": self.description,
            "vertices": self.vertex_count,
            "faces": len(self.faces["right"]),
            "surface": "15 closed tapered capsules (two hemispheres joined by a cone, "
            f"{CAPSULE_AROUND} vertices around) and a closed convex palm slab, overlapping "
            "(the z-buffer keeps the nearest surface)",
            "knuckles_m": KNUCKLES_M,
            "bones_m": BONES_M,
            "radii_m": RADII_M,
            "palm_size_mm": [round(1e3 * float(x), 1) for x in np.ptp(self._palm, axis=0)],
            "wrist_to_middle_tip_mm": round(1e3 * float(straight[12, 1]), 1),
            "true_hands": {
                "poses_deg": {name: pose.__dict__ for name, pose in CAPSULE_POSES.items()},
                "pose_choice": "uniform among the poses",
                "finger_curl_sd_deg": CURL_SD_DEG,
                "joint_sd_deg": JOINT_SD_DEG,
                "flexion_range_deg": FLEXION_RANGE_DEG,
                "palm_tilt_max_deg": PALM_TILT_MAX_DEG,
                "roll_max_deg": ROLL_MAX_DEG,
                "size": f"N(1, {HAND_SCALE_SD}) clipped to 0.9-1.1",
            },
            "estimate_pose_noise": "the true hand turned by N(0, global_pose_rad) per "
            "axis-angle component, N(0, finger_pose_rad) added to each of its 20 finger "
            "angles; its size and bones are the true ones",
        }


def load_hands(choice: str | None, mano_dir: Path | None) -> Hands:
    """The hand model: the choice, or by default real MANO when its files are there."""
    if choice is None:
        real_mano = mano_dir is not None or has_mano_files(DEFAULT_MANO_DIR)
        choice = "mano" if real_mano else "capsule"
    if choice == "capsule":
        return CapsuleHands()
    return load_mano_hands(choice, mano_dir)


# ----------------------------------------------------------------------------- scene


def ray(pixel: np.ndarray) -> np.ndarray:
    return np.array([(pixel[0] - CAMERA.cx) / CAMERA.fx, (pixel[1] - CAMERA.cy) / CAMERA.fy, 1.0])


def pixel_rays() -> np.ndarray:
    """(H, W, 3) rays of every pixel with z = 1."""
    u, v = np.meshgrid(np.arange(WIDTH, dtype=np.float64), np.arange(HEIGHT, dtype=np.float64))
    return np.stack([(u - CAMERA.cx) / CAMERA.fx, (v - CAMERA.cy) / CAMERA.fy, np.ones_like(u)], -1)


RAYS = pixel_rays()


def background_depth(rng: np.random.Generator, distance: float) -> np.ndarray:
    """A wall 0.3-1.0 m behind the hand, tilted up to about 20 degrees."""
    normal = np.array([rng.uniform(-0.35, 0.35), rng.uniform(-0.35, 0.35), 1.0])
    point = np.array([0.0, 0.0, distance + rng.uniform(0.3, 1.0)])
    with np.errstate(divide="ignore"):
        depth = (normal @ point) / (RAYS @ normal)
    return np.where(depth > 0, np.minimum(depth, 20.0), 20.0)


def occluder_depth(
    rng: np.random.Generator, hand_depth: np.ndarray, kind: str
) -> tuple[np.ndarray, float]:
    """An object in front of 30-50% of the hand's silhouette: its depth map (inf where it is
    not), and the share of the silhouette it was built to cover."""
    rows, cols = np.nonzero(np.isfinite(hand_depth))
    pixels = np.stack([cols, rows], axis=1).astype(np.float64)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-along[1], along[0]])
    share = rng.uniform(0.3, 0.5)
    position = pixels @ along
    cut = float(np.quantile(position, share))
    start = float(position.min()) - 3.0
    covered = position <= cut
    front = float(np.min(hand_depth[rows[covered], cols[covered]])) - rng.uniform(0.005, 0.03)
    side = pixels @ across
    margin = 0.15 * (side.max() - side.min()) + 3.0
    grid = np.stack(np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT)), axis=-1).astype(np.float64)
    grid_along, grid_across = grid @ along, grid @ across
    inside = (
        (grid_along >= start)
        & (grid_along <= cut)
        & (grid_across >= side.min() - margin)
        & (grid_across <= side.max() + margin)
    )
    depth = np.full((HEIGHT, WIDTH), np.inf)
    if kind == "box":
        depth[inside] = front
    else:
        # A cylinder lying along the cut, its nearest line at `front`, spanning the band.
        radius = 0.5 * (cut - start) / FOCAL_PX * front
        middle = 0.5 * (cut + start)
        offset = (grid_along - middle) / FOCAL_PX * front
        cap = inside & (np.abs(offset) < radius)
        depth[cap] = front + radius - np.sqrt(radius**2 - offset[cap] ** 2)
    return depth, share


def simulate_stereo(
    true_depth: np.ndarray, rng: np.random.Generator, model: StereoModel
) -> np.ndarray:
    """The 16UC1 image (uint16 millimetres, 0 = no data) an active stereo camera gives."""
    depth = true_depth.astype(np.float64)
    hole = depth > model.max_range_m
    # Occlusion shadow: a pixel is hidden from the second imager when a nearer pixel to its
    # right lands left of it there (x' - d' < x - d); disparities in colour pixels.
    disparity = FOCAL_PX * model.baseline_m / depth
    landing = np.arange(WIDTH)[None, :] - disparity
    right_min = np.minimum.accumulate(landing[:, ::-1], axis=1)[:, ::-1]
    next_min = np.concatenate([right_min[:, 1:], np.full((HEIGHT, 1), np.inf)], axis=1)
    hole |= next_min < landing - 0.5
    # Depth edges: 50% lost, 30% flying pixels, within a pixel or two of a jump.
    as32 = depth.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    jump = (cv2.dilate(as32, kernel) - cv2.erode(as32, kernel)) > model.jump_m
    band = cv2.dilate(jump.astype(np.uint8), kernel).astype(bool)
    wide = np.ones((5, 5), np.uint8)
    near, far = cv2.erode(as32, wide).astype(np.float64), cv2.dilate(as32, wide).astype(np.float64)
    draw = rng.uniform(size=depth.shape)
    hole |= band & (draw < model.edge_drop)
    flying = band & (draw >= model.edge_drop) & (draw < model.edge_drop + model.edge_flying)
    noisy = depth.copy()
    noisy[flying] = near[flying] + rng.uniform(size=int(flying.sum())) * (far - near)[flying]
    # Random dropouts and blob-shaped holes.
    hole |= rng.uniform(size=depth.shape) < model.dropout
    blobs = cv2.GaussianBlur(rng.normal(size=depth.shape).astype(np.float32), (0, 0), 3.0)
    hole |= blobs > np.quantile(blobs, 1.0 - model.blob_holes)
    # Noise growing with the square of the distance, partly correlated between neighbours.
    white = rng.normal(size=depth.shape)
    smooth = cv2.GaussianBlur(
        rng.normal(size=depth.shape).astype(np.float32), (0, 0), model.correlation_px
    ).astype(np.float64)
    smooth /= smooth.std()
    share = model.correlated_share
    noise = math.sqrt(1.0 - share**2) * white + share * smooth
    noisy = noisy + model.sigma_m(noisy) * noise
    millimetres = np.rint(noisy * 1000.0)
    millimetres[hole | ~np.isfinite(millimetres) | (millimetres < 1)] = 0
    return np.clip(millimetres, 0, 65535).astype(np.uint16)


# ----------------------------------------------------------------------------- frames


def frame_rng(seed: int, scenario: int, distance: int, trial: int) -> np.random.Generator:
    return np.random.default_rng([seed, scenario, distance, trial])


def build_frames(
    seed: int,
    distances: tuple[float, ...],
    trials: int,
    monocular: MonocularModel,
    hands: Hands,
) -> list[Frame]:
    frames = []
    for s, scenario in enumerate(SCENARIOS):
        for distance in distances:
            for trial in range(trials):
                rng = frame_rng(seed, s, round(distance * 1000), trial)
                true = {"right": hands.sample(rng), "left": hands.sample(rng)}
                est = {side: hands.estimate(true[side], rng, monocular) for side in true}
                sizes = {
                    side: rng.uniform(1.0 - monocular.size_error, 1.0 + monocular.size_error)
                    for side in true
                }
                frames.append(Frame(scenario, distance, trial, rng, true, est, sizes))
    return frames


def place_true(
    rng: np.random.Generator, vertices: np.ndarray, joints: np.ndarray, distance: float
) -> tuple[np.ndarray, np.ndarray]:
    pixel = np.array([rng.uniform(0.3, 0.7) * (WIDTH - 1), rng.uniform(0.3, 0.7) * (HEIGHT - 1)])
    wrist = distance * ray(pixel)
    return vertices + wrist, joints + wrist


def place_other_hand(
    rng: np.random.Generator,
    vertices: np.ndarray,
    joints: np.ndarray,
    faces: np.ndarray,
    right_vertices: np.ndarray,
    right_silhouette: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The left hand 3-8 cm nearer than the right one, moved across the image (from
    the right hand's centre, in a random direction) until it hides 20-50% of it."""
    depth = float(right_vertices[:, 2].mean()) - rng.uniform(0.03, 0.08)
    centre = CAMERA.project(right_vertices).mean(axis=0)
    shift = depth * ray(centre) - vertices.mean(axis=0)
    alone, _ = rasterise_depth([(vertices + shift, faces)], CAMERA)
    mask = np.isfinite(alone)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)])
    target = rng.uniform(0.2, 0.5) * np.count_nonzero(right_silhouette)
    near, far = 0.0, float(WIDTH + HEIGHT)
    for _ in range(14):  # bisection on the image offset: more offset, less overlap
        middle = 0.5 * (near + far)
        dx, dy = np.rint(middle * direction).astype(int)
        overlap = np.count_nonzero(_shifted(mask, dx, dy) & right_silhouette)
        near, far = (middle, far) if overlap > target else (near, middle)
    offset = 0.5 * (near + far) * direction
    moved = shift + depth * (ray(centre + offset) - ray(centre))
    return vertices + moved, joints + moved


def _shifted(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`mask` moved by (dx, dy) pixels, False where nothing moved in."""
    out = np.zeros_like(mask)
    height, width = mask.shape
    if abs(dx) >= width or abs(dy) >= height:
        return out
    source = mask[max(-dy, 0) : height - max(dy, 0), max(-dx, 0) : width - max(dx, 0)]
    out[max(dy, 0) : height - max(-dy, 0), max(dx, 0) : width - max(-dx, 0)] = source
    return out


def one_pixel_scale(
    depth_m: np.ndarray, model_depth: np.ndarray, wrist: np.ndarray
) -> float | None:
    """The naive baseline: at the wrist's image, the median measured depth of the 5 x 5
    pixels over the median model surface depth there (None: no data or no model)."""
    pixel = CAMERA.project(wrist[None])[0]
    if not np.all(np.isfinite(pixel)):
        return None
    col, row = round(float(pixel[0])), round(float(pixel[1]))
    window = (slice(max(row - 2, 0), row + 3), slice(max(col - 2, 0), col + 3))
    measured, model = depth_m[window], model_depth[window]
    both = np.isfinite(measured) & np.isfinite(model)
    if not np.any(both):
        return None
    return float(np.median(measured[both])) / float(np.median(model[both]))


def run_frames(
    frames: list[Frame],
    hands: Hands,
    stereo: StereoModel,
    monocular: MonocularModel,
    settings: DepthFusionSettings,
) -> list[dict[str, Any]]:
    faces = hands.faces
    meshes = {
        (kind, side): hands.meshes(
            side, [(f.true_params if kind == "true" else f.est_params)[side] for f in frames]
        )
        for kind in ("true", "est")
        for side in ("right", "left")
    }
    rows = []
    for index, frame in enumerate(frames):
        hand = {key: (value[0][index], value[1][index]) for key, value in meshes.items()}
        rows.append(run_frame(frame, hand, faces, stereo, monocular, settings))
    return rows


def run_frame(
    frame: Frame,
    hand: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
    faces: dict[str, np.ndarray],
    stereo: StereoModel,
    monocular: MonocularModel,
    settings: DepthFusionSettings,
) -> dict[str, Any]:
    """One frame: the scene, its depth image, the estimates, and their wrist errors."""
    rng = frame.rng
    row: dict[str, Any] = {
        "scenario": frame.scenario,
        "distance_m": frame.distance,
        "trial": frame.trial,
    }
    if "pose" in frame.true_params["right"]:  # the capsule hand's pose class
        row["pose"] = list(CAPSULE_POSES)[int(frame.true_params["right"]["pose"])]
    true_v, true_j = place_true(rng, *hand[("true", "right")], frame.distance)
    right_alone, _ = rasterise_depth([(true_v, faces["right"])], CAMERA)
    silhouette = np.isfinite(right_alone)
    scene = np.minimum(right_alone, background_depth(rng, frame.distance))
    est_v, est_j = place_estimate(
        rng, *hand[("est", "right")], true_j[WRIST], monocular, frame.sizes["right"]
    )
    estimates = [HandMesh(est_v, faces["right"])]
    if frame.scenario == "occluder":
        kind = "box" if frame.trial % 2 == 0 else "cylinder"
        occluder, _ = occluder_depth(rng, right_alone, kind)
        scene = np.minimum(scene, occluder)
        hidden = silhouette & (occluder < right_alone)
        row.update(occluder=kind, hidden_share=float(hidden.sum() / silhouette.sum()))
    elif frame.scenario == "two_hands":
        left_v, left_j = place_other_hand(
            rng, *hand[("true", "left")], faces["left"], true_v, silhouette
        )
        left_depth, _ = rasterise_depth([(left_v, faces["left"])], CAMERA)
        scene = np.minimum(scene, left_depth)
        hidden = silhouette & (left_depth < right_alone)
        row.update(hidden_share=float(hidden.sum() / silhouette.sum()))
        left_est_v, _ = place_estimate(
            rng, *hand[("est", "left")], left_j[WRIST], monocular, frame.sizes["left"]
        )
        estimates.append(HandMesh(left_est_v, faces["left"]))
    depth_m = depth_to_metres(simulate_stereo(scene, rng, stereo), MILLIMETRES)
    started = time.perf_counter()
    fit: DepthFit = fuse_depth(estimates, CAMERA, depth_m, settings)[0]
    row["fusion_ms"] = 1e3 * (time.perf_counter() - started)
    true_wrist, mono_wrist = true_j[WRIST], est_j[WRIST]
    model_depth, _ = rasterise_depth([(est_v, faces["right"])], CAMERA)
    naive = one_pixel_scale(depth_m, model_depth, mono_wrist)
    naive_wrist = mono_wrist * (naive if naive is not None else 1.0)
    row.update(
        monocular_mm=1e3 * float(np.linalg.norm(mono_wrist - true_wrist)),
        fused_mm=1e3 * float(np.linalg.norm(fit.apply(mono_wrist) - true_wrist)),
        one_pixel_mm=1e3 * float(np.linalg.norm(naive_wrist - true_wrist)),
        size_factor=frame.sizes["right"],
        fused=fit.fused,
        reason=fit.reason,
        scale=fit.scale,
        visible_pixels=fit.visible_pixels,
        agreeing_pixels=fit.agreeing_pixels,
        residual_mm=fit.residual_mm,
    )
    return row


def place_estimate(
    rng: np.random.Generator,
    vertices_rel: np.ndarray,
    joints_rel: np.ndarray,
    true_wrist: np.ndarray,
    monocular: MonocularModel,
    size: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The monocular estimate: its own (noisy-pose) hand at the true wrist moved across the
    image by the keypoint noise, all scaled by the size error about the camera centre."""
    pixel = CAMERA.project(true_wrist[None])[0] + rng.normal(0.0, monocular.keypoint_px, 2)
    wrist = float(true_wrist[2]) * ray(pixel)
    return size * (vertices_rel + wrist), size * (joints_rel + wrist)


# ----------------------------------------------------------------------------- report


def _stats(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {
        "p10": round(float(np.quantile(array, 0.1)), 2),
        "median": round(float(np.median(array)), 2),
        "p90": round(float(np.quantile(array, 0.9)), 2),
    }


def summarise(rows: list[dict[str, Any]], distances: tuple[float, ...]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for scenario in SCENARIOS:
        per_distance = []
        for distance in distances:
            chosen = [r for r in rows if r["scenario"] == scenario and r["distance_m"] == distance]
            if not chosen:
                continue
            fell_back = [r for r in chosen if not r["fused"]]
            entry: dict[str, Any] = {
                "distance_m": distance,
                "frames": len(chosen),
                "monocular_mm": _stats([r["monocular_mm"] for r in chosen]),
                "fused_mm": _stats([r["fused_mm"] for r in chosen]),
                "one_pixel_mm": _stats([r["one_pixel_mm"] for r in chosen]),
                "fallback_fraction": round(len(fell_back) / len(chosen), 3),
                "fallback_reasons": dict(
                    Counter(r["reason"].split(":")[0] for r in fell_back).most_common()
                ),
                "median_agreeing_pixels": float(np.median([r["agreeing_pixels"] for r in chosen])),
                "median_fusion_ms": round(float(np.median([r["fusion_ms"] for r in chosen])), 1),
            }
            shares = [r["hidden_share"] for r in chosen if "hidden_share" in r]
            if shares:
                entry["hidden_share"] = {
                    "min": round(min(shares), 3),
                    "median": round(float(np.median(shares)), 3),
                    "max": round(max(shares), 3),
                }
            per_distance.append(entry)
        summary[scenario] = per_distance
    return summary


def print_table(summary: dict[str, Any]) -> None:
    print(
        f"{'scenario':<10} {'dist m':>6} | {'mono med':>8} {'p90':>7} | {'fused med':>9} "
        f"{'p90':>7} | {'1px med':>7} {'p90':>7} | {'fallback':>8}"
    )
    for scenario, entries in summary.items():
        for e in entries:
            print(
                f"{scenario:<10} {e['distance_m']:>6.2f} | {e['monocular_mm']['median']:>8.1f} "
                f"{e['monocular_mm']['p90']:>7.1f} | {e['fused_mm']['median']:>9.1f} "
                f"{e['fused_mm']['p90']:>7.1f} | {e['one_pixel_mm']['median']:>7.1f} "
                f"{e['one_pixel_mm']['p90']:>7.1f} | {e['fallback_fraction']:>8.0%}"
            )
    print("errors: wrist position, mm; 1px: the one-pixel baseline")


def plot(summary: dict[str, Any], path: Path, hand_model: dict[str, Any]) -> None:
    """Wrist error against distance, one panel per scenario: monocular and fused medians
    with their 10th-90th percentile bands, the one-pixel baseline's median, fallbacks."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FixedLocator, NullFormatter

    titles = {
        "clean": "clean: one hand, wall behind",
        "occluder": "occluder: object in front of 30-50%",
        "two_hands": "two hands: the other hides 20-50%",
    }
    figure, axes = plt.subplots(1, len(summary), figsize=(5.2 * len(summary), 4.8), sharey=True)
    axes = np.atleast_1d(axes)
    for axis, (scenario, entries) in zip(axes, summary.items(), strict=True):
        distances = np.array([e["distance_m"] for e in entries])
        for key, label, colour in (
            ("monocular_mm", "monocular", "tab:red"),
            ("fused_mm", "depth-fused", "tab:blue"),
        ):
            axis.fill_between(
                distances,
                [e[key]["p10"] for e in entries],
                [e[key]["p90"] for e in entries],
                color=colour,
                alpha=0.18,
                linewidth=0,
                label=f"{label}: 10-90th percentile",
            )
            axis.plot(
                distances,
                [e[key]["median"] for e in entries],
                "o-",
                color=colour,
                linewidth=2,
                markersize=4,
                label=f"{label}: median",
            )
        axis.plot(
            distances,
            [e["one_pixel_mm"]["median"] for e in entries],
            "s--",
            color="tab:gray",
            linewidth=1,
            markersize=3,
            label="one-pixel baseline: median",
        )
        axis.axhline(10.0, color="black", linewidth=0.8, linestyle=":")
        axis.text(distances[-1], 10.5, "1 cm", fontsize=8, ha="right", va="bottom")
        # Fallbacks along the bottom, one per distance (0%: none shown).
        for distance, entry in zip(distances, entries, strict=True):
            if entry["fallback_fraction"] > 0:
                axis.text(
                    distance,
                    0.42,
                    f"{entry['fallback_fraction']:.0%}",
                    fontsize=7,
                    color="tab:blue",
                    ha="center",
                )
        axis.set_yscale("log")
        axis.set_ylim(0.35, 300.0)
        ticks = [0.5, 1, 2, 5, 10, 20, 50, 100, 200]
        axis.yaxis.set_major_locator(FixedLocator(ticks))
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_yticklabels([f"{t:g}" for t in ticks])
        labelled = [distances[0]]
        for distance in distances[1:]:  # no label closer than 0.1 m to the one before
            if distance - labelled[-1] >= 0.1:
                labelled.append(distance)
        axis.set_xticks(distances, minor=True)
        axis.set_xticks(labelled)
        axis.set_xticklabels([f"{d:g}" for d in labelled], fontsize=8)
        axis.set_title(titles.get(scenario, scenario), fontsize=10)
        axis.set_xlabel("distance of the hand (m)")
        axis.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("wrist position error (mm, log scale)")
    axes[0].legend(fontsize=7, loc="upper left")
    frames = entries[0]["frames"] if entries else 0
    figure.suptitle(
        f"Wrist error, monocular vs RGB-D fused; hand model: {hand_model['kind']} "
        f"({'not MANO' if hand_model['kind'] == 'capsule' else hand_model['description']})"
        f"; {frames} frames per point; blue % at the bottom: fused frames that fell back "
        "to the monocular placement",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=130)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"distances {QUICK_DISTANCES}, {QUICK_TRIALS} frames each (for the tests)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        help=f"frames per scenario and distance (default {TRIALS}, quick {QUICK_TRIALS})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--hand",
        choices=HAND_CHOICES,
        help="the hand model: 'mano' (the real MANO files; an error without them), "
        "'capsule' (a procedural capsule hand, not MANO), 'mano-fixture' (the tests' MANO "
        "files: random values, not a hand's shape). Default: 'mano' when the real files are "
        "in weights/mano (or --mano-dir), else 'capsule'",
    )
    parser.add_argument(
        "--mano-dir",
        type=Path,
        help="the real MANO files for --hand mano (default: weights/mano)",
    )
    args = parser.parse_args()
    if args.mano_dir is not None and args.hand not in (None, "mano"):
        parser.error("--mano-dir is for --hand mano")
    started = time.perf_counter()
    distances = QUICK_DISTANCES if args.quick else DISTANCES
    trials = args.trials or (QUICK_TRIALS if args.quick else TRIALS)
    stereo, monocular, settings = StereoModel(), MonocularModel(), DepthFusionSettings()
    hands = load_hands(args.hand, args.mano_dir)
    hand_model = hands.describe()
    frames = build_frames(args.seed, distances, trials, monocular, hands)
    rows = run_frames(frames, hands, stereo, monocular, settings)
    summary = summarise(rows, distances)
    print(f"hand model: {hands.kind}: {hands.description}")
    print_table(summary)
    elapsed = time.perf_counter() - started
    print(f"{len(rows)} frames in {elapsed:.1f} s")
    report = {
        "hand_model": hand_model,
        "quick": args.quick,
        "seed": args.seed,
        "camera": {"width": WIDTH, "height": HEIGHT, "focal_px": FOCAL_PX},
        "stereo_model": stereo.__dict__,
        "depth_sigma_mm_at": {
            f"{z:g}": round(float(stereo.sigma_m(np.array(z))) * 1e3, 2) for z in distances
        },
        "monocular_model": {
            **monocular.__dict__,
            "note": "an assumption of this bench: the whole estimate scaled about the camera "
            "centre by U(1 - size_error, 1 + size_error), pose noise (hand_model's "
            "estimate_pose_noise), keypoint noise moving the wrist's pixel",
        },
        "fusion_settings": settings.__dict__,
        "not_modelled": [
            "depth calibration bias (D435 spec: up to 2% of the distance)",
            "minimum range of the depth camera",
            "resampling of the depth-to-colour alignment",
        ],
        "summary": summary,
        "frames": rows,
        "seconds": round(elapsed, 1),
        "python": platform.python_version(),
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    if args.plot:
        plot(summary, args.plot, hand_model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
