r"""Correcting a hand's monocular placement with a registered depth image.

`placement` finds where a hand is from its keypoints alone. Its rays are
good (the keypoints pin down the directions to the joints), but its distance
rests on the hand's size in metres, which the network guesses: a hand 10%
larger than the predicted shape is placed 10% too far (5 cm at 50 cm, 10 cm
at 1 m), and a pixel of error in the hand's image size costs depth growing
with the square of the distance. A depth image measures the distance
directly. This module takes the placed mesh,
finds out which pixels of the depth image show this hand, and corrects the
hand's distance and size so that its surface lies on the measured one.

Derivation.

1. What is measured. The depth image is registered to the colour camera:
   its pixels are in the colour camera's optical frame (same origin, same
   axes), and pixel p holds D(p), the z coordinate (REP 118: depth along the
   optical axis, not the length of the ray) of the nearest surface seen along
   p's ray, or nothing. Its intrinsics may differ from the colour camera's
   (another resolution): the model is rasterised through the depth image's
   own camera (`depth_camera`), so every comparison happens at its pixels.
   A depth image in another frame (the raw stream of a stereo pair, not the
   "aligned to colour" one) is not handled; registering it needs the
   extrinsics and is the driver's job.
2. What the model predicts. The placed mesh (vertices V, triangles F, metres,
   camera frame) is rasterised with a z-buffer (`rasterise_depth`): M(p) is
   the depth of the nearest triangle through p, found by interpolating 1/z
   with the triangle's barycentric coordinates (exact for a plane seen by a
   pinhole camera). With both hands, each is rasterised, and each pixel
   belongs to the nearer surface, the one a camera would see, once the
   hands' depths can be trusted (8); a hand is compared only with the
   pixels it owns, so the other hand does not count against it. A hand
   covering more than `max_samples` pixels is compared on every n-th pixel
   in both directions (rasterised through the camera of that grid): the
   estimate needs thousands of pixels, not a near hand's hundred thousand.
3. Scaling about the camera centre keeps the image. For s > 0 the point s P
   has the image of P: x / z and y / z do not change, and lens distortion
   acts on exactly those. So the rasterisation of the scaled mesh s V has the
   same pixels and the same owners, and its depth is s M(p). The monocular
   failure is exactly such a scaling: with every ray right and the size off
   by k, the placed hand is k times the true one. Where the depth sees the
   hand, D(p) = s M(p) with s = 1 / k, and least squares over the agreeing
   pixels, min_s sum_p w_p (D_p - s M_p)^2, gives

       s = sum_p w_p D_p M_p / sum_p w_p M_p^2.

   The corrected hand is s V, joints s J, wrist s T: farther or nearer and
   larger or smaller together, every keypoint where the image put it. The
   depth says how far, the image says how big (mode "scale", the default).
4. Translation along the ray. When the hand's size is trusted, the hand can
   instead move along the ray through its centre c (the mean of its
   vertices) by t = delta c / c_z. Every point's depth grows by delta, so
   D(p) ~ M(p) + delta and delta = sum_p w_p (D_p - M_p) / sum_p w_p. The
   pixels move by about delta / z times their distance from c's image (the
   hand's image shrinks or grows), so this is first order; a second pass
   from the moved hand (`passes`) takes out most of the rest. It leaves a
   hand of the wrong size with keypoints that no longer match the image,
   which is why scaling is the default (mode "translate").
5. Robustness. Many pixels of the hand's silhouette do not show the hand:
   an object held in front of it (nearer than the model: D < s M), the
   background through gaps, or past an imprecise outline (farther), the
   other hand, flying pixels at depth edges (anything in between), holes (no
   value). A pixel counts only where its depth is within a gate c of the
   corrected surface, |D_p - s M_p| < c, with c = max(`gate_m`,
   `gate_noise_sigmas` sigma_z(z)) (6): about the model's own surface error
   near the camera, a few noise deviations far from it. Two steps:
   a. The mode. Among the plausible corrections (s in [1 / (1 + r), 1 + r],
      or |delta| <= r z, with r = `max_relative_change`) take the one that
      the most pixels agree with, less the pixels it would have the camera
      see through. Agreement is each pixel's Tukey weight (b) at that
      correction, summed over a histogram of the ratios D / M (differences
      D - M) in bins of c / 8: a smooth kernel finds the peak of the hand's
      pixels, where a flat window of width 2 c would rather hold the hand's
      peak at one edge and an object's pixels across the rest. Seen
      through: a measured depth farther than the hand's surface by more
      than c cannot be where the hand is, while a nearer one can be anything
      in front of it. A mode, not a mean: most of the pixels can be anything
      as long as they do not agree on another correction; and an object in
      front covering more of the hand than the hand shows still loses to the
      hand, since placing the hand on the object would put the hand's
      visible part behind it.
   b. Iteratively reweighted least squares from there with Tukey's
      biweight: residual r_p = D_p - s M_p, weight (1 - (r_p / c)^2)^2
      inside the gate and 0 beyond it, which converges to the nearest local
      mode of the residuals. An object in front by more than c weighs
      nothing: it cannot pull the hand forward; one nearer than c weighs
      less the farther it is. (A gate shrinking from a few centimetres, set
      from the spread of the residuals inside it, was tried first: an
      object 1 cm in front of most of the hand keeps that spread wide, and
      the estimate follows the object.)
6. The noise. Active stereo measures disparity d = f b / z (focal length f
   in pixels, baseline b); a disparity error eps gives
   sigma_z = z^2 eps / (f b): noise grows with the square of the distance
   (about 4 mm at 1 m for a RealSense D435: b = 50 mm, f ~ 450 px at
   848 x 480, eps ~ 0.08 px). `noise_at_1m_m` is sigma_z at 1 m; the gate
   is at least a few sigma_z, so the hand's own pixels stay in at range.
7. Falling back. The correction is taken only if enough pixels agree: at
   least `min_pixels`, and at least `min_fraction` of the hand's visible
   pixels (holes count as not agreeing); the RMS residual of the agreeing
   pixels is at most `max_residual_ratio` of the gate (residuals spread
   evenly over the gate, RMS c / sqrt(3), are no surface; noise held at
   3 sigma gives c / 3); and the correction is inside the plausible range.
   Otherwise the hand keeps its monocular placement, and the result says
   why.
8. Two hands, passes. Which pixels show which hand depends on where both
   hands are, and the monocular depths cannot say which hand is in front
   when they are a few centimetres apart. So the first pass compares each
   hand only at the pixels that no other hand's model covers. Each further
   pass rasterises the corrected hands again: a pixel two hands cover then
   goes to the nearer one if both were corrected from depth, and to neither
   while one of them still has only its monocular depth. Corrections
   compose (s2 (s1 P + t1) + t2); a pass that cannot fit keeps the earlier
   correction. One hand in mode "scale" needs one pass: its pixels cannot
   change.

Lens distortion: vertices are projected through it; a triangle's inside is
interpolated between its projected corners, exact without distortion and
close for MANO's small triangles with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from repehand_ros.geometry.camera import PinholeCamera

SCALE = "scale"
TRANSLATE = "translate"
FUSION_MODES: tuple[str, ...] = (SCALE, TRANSLATE)

NEAR_PLANE_M = 0.01
"""Triangles with a corner nearer than this, metres, are not rasterised."""

_CHUNK_CANDIDATES = 1 << 21
"""(triangle, pixel) fragments rasterised at once: bounds the memory (~100 MB)."""
_FACE_BITS = 22
_DEPTH_QUANTUM_M = 1e-8
"""The z-buffer packs depth (in these units) and the triangle's index into one int64."""


class DepthFusionError(ValueError):
    """Inputs that cannot be fused: wrong shapes, types, or a depth image of another camera."""


@dataclass(frozen=True)
class DepthFusionSettings:
    """How a hand's placement is corrected from depth; see the module's derivation."""

    mode: str = SCALE
    """"scale": scale about the camera centre (distance and size); "translate": move along
    the ray through the hand's centre (distance only)."""
    gate_m: float = 0.015
    """The gate, metres: a pixel counts when its measured depth is within the gate of the
    corrected hand's surface. At least the model's own surface error (its pose is not the
    hand's) and the quantisation; the noise at range widens it (`gate_noise_sigmas`)."""
    noise_at_1m_m: float = 0.004
    """Depth noise (standard deviation) at 1 m, metres; it grows with the distance squared."""
    gate_noise_sigmas: float = 3.0
    """The gate is at least this many noise standard deviations at the hand's depth."""
    max_relative_change: float = 0.35
    """Largest correction: scale in [1 / (1 + r), 1 + r], or a shift of r times the depth."""
    min_pixels: int = 30
    """Fewest agreeing pixels that still give a correction."""
    min_fraction: float = 0.2
    """Fewest agreeing pixels, as a fraction of the hand's visible pixels."""
    max_residual_ratio: float = 0.55
    """Largest RMS residual of the agreeing pixels over the gate. Residuals spread evenly
    over the gate (RMS 1 / sqrt(3) = 0.58 of it) are no surface; noise that the gate holds
    at 3 sigma gives 0.33."""
    passes: int = 2
    """Fits, each from the hands the one before corrected (see the derivation, 8)."""
    iterations: int = 12
    """Most reweighting iterations per fit."""
    max_samples: int = 40000
    """A hand bigger than this in the depth image, in pixels, is compared on a regular grid
    of every n-th pixel (n the same in both directions), so near hands cost no more."""

    def __post_init__(self) -> None:
        if self.mode not in FUSION_MODES:
            raise ValueError(f"depth fusion mode must be one of {FUSION_MODES}, not {self.mode!r}")
        positive = ("gate_m", "max_relative_change", "max_residual_ratio")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"depth fusion {name} must be a positive number, got {value}")
        for name in ("noise_at_1m_m", "gate_noise_sigmas"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"depth fusion {name} must be a number >= 0, got {value}")
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ValueError(
                f"depth fusion min_fraction must be in [0, 1], got {self.min_fraction}"
            )
        for name in ("min_pixels", "passes", "iterations", "max_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"depth fusion {name} must be an integer >= 1, got {value!r}")

    def noise_m(self, depth_m: float) -> float:
        """Depth noise (standard deviation) at `depth_m` metres."""
        return self.noise_at_1m_m * depth_m * depth_m

    def gate_at(self, depth_m: float) -> float:
        """The gate for a hand at `depth_m` metres."""
        return max(self.gate_m, self.gate_noise_sigmas * self.noise_m(depth_m))


@dataclass(frozen=True)
class DepthFit:
    """One hand's correction from depth: corrected point = scale * point + translation.

    When `fused` is false the hand keeps its monocular placement (scale 1,
    translation 0) and `reason` says why.
    """

    fused: bool
    reason: str = ""
    scale: float = 1.0
    """Factor about the camera centre; also the hand's size relative to the model's."""
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    """(3,) metres, camera frame, added after scaling."""
    depth_shift_m: float = 0.0
    """How much farther (negative: nearer) the hand's centre is after the correction, metres."""
    visible_pixels: int = 0
    """Depth-image pixels where this hand's model is the nearest surface (of the pixels
    compared: every `DepthFusionSettings.max_samples`-limited n-th pixel of a near hand)."""
    measured_pixels: int = 0
    """Of those, the pixels with a depth value."""
    agreeing_pixels: int = 0
    """Of those, the pixels inside the final gate: the ones the correction rests on."""
    residual_mm: float = math.nan
    """RMS of the agreeing pixels' residuals, millimetres (NaN when no fit was made)."""
    gate_mm: float = math.nan
    """The gate the pixels were held to, millimetres (DepthFusionSettings.gate_at)."""
    mode: str = SCALE

    def __post_init__(self) -> None:
        translation = np.asarray(self.translation, dtype=np.float64).reshape(3).copy()
        translation.flags.writeable = False
        object.__setattr__(self, "translation", translation)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 3) of this hand, camera frame, metres, corrected (float64)."""
        return self.scale * np.asarray(points, dtype=np.float64) + self.translation


@dataclass(frozen=True)
class HandMesh:
    """A placed hand mesh: vertices (V, 3) in the camera frame, metres; triangles (F, 3)."""

    vertices: np.ndarray
    faces: np.ndarray


def fuse_depth(
    hands: Sequence[HandMesh],
    camera: PinholeCamera,
    depth: np.ndarray,
    settings: DepthFusionSettings | None = None,
    depth_camera: PinholeCamera | None = None,
) -> list[DepthFit]:
    """Each hand's correction (one `DepthFit` per hand, in order) from a registered depth image.

    hands: the placed meshes of the hands in view (one or two); pass every
        hand, so that each pixel goes to the hand that is in front.
    camera: the colour camera the hands were placed with.
    depth: (H, W) float metres in the colour camera's optical frame; 0, NaN,
        infinity or a negative value is no data (decode 16UC1 millimetres
        first: `repehand_ros.io.depth`).
    depth_camera: the depth image's intrinsics when its size differs from the
        colour camera's; by default the colour camera, or, for an image of
        the same aspect ratio, the colour camera scaled to its size.
    Raises DepthFusionError for inputs that cannot be used; a hand the depth
    cannot correct comes back with fused False and the reason.
    """
    settings = settings if settings is not None else DepthFusionSettings()
    depth = _checked_depth(depth)
    depth_camera = resolve_depth_camera(camera, depth.shape, depth_camera)
    meshes = [_checked_mesh(hand, index) for index, hand in enumerate(hands)]
    if not meshes:
        return []
    passes = settings.passes
    if len(meshes) == 1 and settings.mode == SCALE:
        passes = 1  # one hand, scaling: the pixels it owns cannot change (derivation, 3)
    depth, depth_camera = _window(meshes, depth, depth_camera, settings.max_samples)
    fits = [DepthFit(False, "not fitted", mode=settings.mode) for _ in meshes]
    first_depth = np.stack(
        [rasterise_depth([(mesh.vertices, mesh.faces)], depth_camera)[0] for mesh in meshes]
    )
    for done in range(passes):
        moved = [
            HandMesh(fit.apply(mesh.vertices), mesh.faces) if fit.fused else mesh
            for fit, mesh in zip(fits, meshes, strict=True)
        ]
        if done == 0:
            model_depth = first_depth
        elif settings.mode == SCALE:  # a scaled hand's depth is the scaled depth (derivation, 3)
            model_depth = first_depth * np.array([fit.scale for fit in fits])[:, None, None]
        else:
            model_depth = np.stack(
                [rasterise_depth([(m.vertices, m.faces)], depth_camera)[0] for m in moved]
            )
        owned = _owned_pixels(model_depth, [fit.fused for fit in fits])
        for index, mesh in enumerate(moved):
            pixels = owned[index]
            new = _fit_hand(
                model_depth[index][pixels], depth[pixels], mesh.vertices.mean(axis=0), settings
            )
            previous = fits[index]
            if new.fused:
                fits[index] = _composed(previous, new) if previous.fused else new
            elif not previous.fused:
                fits[index] = new
            # A later pass that cannot fit keeps the earlier correction.
    return fits


def _owned_pixels(model_depth: np.ndarray, trusted: Sequence[bool]) -> np.ndarray:
    """(N, H, W) the pixels each of N hands is compared at (derivation, 8): the ones it alone
    covers, and those it shares where it is the nearer and every hand there is trusted."""
    covered = np.isfinite(model_depth)
    nearest = np.argmin(model_depth, axis=0)
    shared = np.count_nonzero(covered, axis=0) > 1
    doubtful = ~np.asarray(trusted, dtype=bool)[:, None, None]
    ambiguous = shared & np.any(covered & doubtful, axis=0)
    hands = np.arange(len(model_depth))[:, None, None]
    return covered & (nearest[None] == hands) & ~ambiguous[None]


def _window(
    meshes: Sequence[HandMesh], depth: np.ndarray, camera: PinholeCamera, max_samples: int
) -> tuple[np.ndarray, PinholeCamera]:
    """The part of the depth image the hands can cover, on every n-th pixel, and its camera.

    The window is the box around all the hands' projected vertices (no triangle leaves
    it); n is chosen so that the largest hand's box holds at most about `max_samples`
    pixels. The window's camera takes pixel (i, j) to the image's (x0 + n i, y0 + n j).
    """
    limit = np.array([camera.width - 1, camera.height - 1], dtype=np.float64)
    boxes = []
    for mesh in meshes:
        in_front = mesh.vertices[mesh.vertices[:, 2] > NEAR_PLANE_M]
        if len(in_front):
            pixels = camera.project(in_front)
            boxes.append(
                (np.clip(pixels.min(axis=0), 0, limit), np.clip(pixels.max(axis=0), 0, limit))
            )
    if not boxes:
        return depth, camera
    largest = max(float(np.prod(high - low + 1.0)) for low, high in boxes)
    stride = max(1, math.ceil(math.sqrt(largest / max_samples)))
    x0, y0 = np.floor(np.min([low for low, _ in boxes], axis=0)).astype(int)
    x1, y1 = np.ceil(np.max([high for _, high in boxes], axis=0)).astype(int)
    window = depth[y0 : y1 + 1 : stride, x0 : x1 + 1 : stride]
    k = np.array(
        [
            [camera.fx / stride, 0.0, (camera.cx - x0) / stride],
            [0.0, camera.fy / stride, (camera.cy - y0) / stride],
            [0.0, 0.0, 1.0],
        ]
    )
    height, width = window.shape[:2]
    return window, PinholeCamera(k, camera.d, camera.distortion_model, width, height)


def fuse_hand_depth(
    vertices: np.ndarray,
    faces: np.ndarray,
    camera: PinholeCamera,
    depth: np.ndarray,
    settings: DepthFusionSettings | None = None,
    depth_camera: PinholeCamera | None = None,
) -> DepthFit:
    """One hand alone (no other hand in view); see `fuse_depth`."""
    return fuse_depth([HandMesh(vertices, faces)], camera, depth, settings, depth_camera)[0]


def resolve_depth_camera(
    camera: PinholeCamera, depth_shape: tuple[int, ...], depth_camera: PinholeCamera | None
) -> PinholeCamera:
    """The camera of a registered depth image of `depth_shape` (H, W).

    The given `depth_camera` when there is one (its size must be the image's);
    else the colour camera for a depth image of its size, or the colour camera
    scaled to the depth image's size when that is the same picture at another
    resolution (equal aspect ratio). Anything else is refused.
    """
    height, width = int(depth_shape[0]), int(depth_shape[1])
    if depth_camera is not None:
        if (depth_camera.width, depth_camera.height) != (width, height):
            raise DepthFusionError(
                f"the depth image is {width}x{height} but its camera is for "
                f"{depth_camera.width}x{depth_camera.height} images"
            )
        return depth_camera
    if (camera.width, camera.height) == (width, height):
        return camera
    ratio_x, ratio_y = width / camera.width, height / camera.height
    if abs(ratio_x - ratio_y) > 1e-9 * max(ratio_x, ratio_y):
        raise DepthFusionError(
            f"the depth image is {width}x{height} and the colour image "
            f"{camera.width}x{camera.height}: not the same picture at another resolution. "
            "Use the depth stream registered (aligned) to the colour camera, or pass its "
            "CameraInfo as depth_camera"
        )
    return scaled_camera(camera, width, height)


def scaled_camera(camera: PinholeCamera, width: int, height: int) -> PinholeCamera:
    """The camera that takes `camera`'s picture at `width` x `height` pixels.

    A pixel centre at u becomes (u + 1/2) r - 1/2 for the size ratio r
    (pixel (i, j) is centred at (i, j)); distortion acts on normalised
    coordinates and does not change.
    """
    ratio_x, ratio_y = width / camera.width, height / camera.height
    k = np.array(
        [
            [camera.fx * ratio_x, 0.0, (camera.cx + 0.5) * ratio_x - 0.5],
            [0.0, camera.fy * ratio_y, (camera.cy + 0.5) * ratio_y - 0.5],
            [0.0, 0.0, 1.0],
        ]
    )
    return PinholeCamera(k, camera.d, camera.distortion_model, width, height)


def rasterise_depth(
    meshes: Sequence[tuple[np.ndarray, np.ndarray]], camera: PinholeCamera
) -> tuple[np.ndarray, np.ndarray]:
    """The z-buffer of triangle meshes seen by `camera`: depth and which mesh, per pixel.

    meshes: (vertices (V, 3) metres in the camera frame, triangles (F, 3)) each.
    Returns depth (H, W) float64 metres (z, infinity where no mesh is seen)
    and owner (H, W) int32, the index of the mesh seen there (-1: none).
    A pixel is covered when its centre is inside the projected triangle;
    triangles with a corner nearer than NEAR_PLANE_M are left out.
    """
    width, height = camera.width, camera.height
    corners, inverse_depths, mesh_of_face = _projected_triangles(meshes, camera)
    best = np.full(width * height, np.iinfo(np.int64).max, dtype=np.int64)
    if len(corners):
        _rasterise_into(best, corners, inverse_depths, width, height)
    seen = best != np.iinfo(np.int64).max
    depth = np.full(width * height, np.inf)
    depth[seen] = (best[seen] >> _FACE_BITS) * _DEPTH_QUANTUM_M
    owner = np.full(width * height, -1, dtype=np.int32)
    owner[seen] = mesh_of_face[best[seen] & ((1 << _FACE_BITS) - 1)]
    return depth.reshape(height, width), owner.reshape(height, width)


def _projected_triangles(
    meshes: Sequence[tuple[np.ndarray, np.ndarray]], camera: PinholeCamera
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangles that can be seen: corners (T, 3, 2) in pixels, 1 / z (T, 3), mesh index (T,)."""
    all_corners, all_inverse, all_mesh = [], [], []
    for index, (vertices, faces) in enumerate(meshes):
        points = np.asarray(vertices, dtype=np.float64)
        triangles = np.asarray(faces)
        if points.ndim != 2 or points.shape[1] != 3:
            raise DepthFusionError(f"mesh {index}: vertices must be (V, 3), got {points.shape}")
        if triangles.ndim != 2 or triangles.shape[1] != 3 or triangles.dtype.kind not in "iu":
            raise DepthFusionError(
                f"mesh {index}: faces must be (F, 3) integers, got {triangles.shape} "
                f"{triangles.dtype}"
            )
        if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(points)):
            raise DepthFusionError(f"mesh {index}: faces index vertices that do not exist")
        if not np.all(np.isfinite(points)):
            raise DepthFusionError(f"mesh {index}: vertices contain NaN or infinity")
        in_front = points[:, 2] > NEAR_PLANE_M
        pixels = np.full((len(points), 2), np.nan)
        if np.any(in_front):
            pixels[in_front] = camera.project(points[in_front])
        usable = np.all(in_front[triangles], axis=1)
        triangles = triangles[usable]
        all_corners.append(pixels[triangles])
        all_inverse.append(1.0 / points[triangles, 2])
        all_mesh.append(np.full(len(triangles), index, dtype=np.int32))
    if not all_corners:
        return np.zeros((0, 3, 2)), np.zeros((0, 3)), np.zeros(0, dtype=np.int32)
    corners = np.concatenate(all_corners)
    if len(corners) >= 1 << _FACE_BITS:
        raise DepthFusionError(f"too many triangles to rasterise ({len(corners)})")
    return corners, np.concatenate(all_inverse), np.concatenate(all_mesh)


def _rasterise_into(
    best: np.ndarray, corners: np.ndarray, inverse_depths: np.ndarray, width: int, height: int
) -> None:
    """Scan-convert the triangles: per triangle and pixel row, the span of pixel centres
    inside it, 1 / z along it from the triangle's screen-space plane; the nearest per pixel
    wins in `best` (depth and triangle index packed into one int64)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    doubled_area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (
        b[:, 1] - a[:, 1]
    )
    top = np.clip(np.ceil(corners[:, :, 1].min(axis=1) - 1e-9), 0, height)
    bottom = np.clip(np.floor(corners[:, :, 1].max(axis=1) + 1e-9), -1, height - 1)
    rows = (bottom - top + 1).astype(np.int64)
    keep = np.flatnonzero(
        (rows > 0)
        & (np.abs(doubled_area) > 1e-12)
        & (corners[:, :, 0].max(axis=1) >= 0)
        & (corners[:, :, 0].min(axis=1) <= width - 1)
    )
    if len(keep) == 0:
        return
    # Barycentric coordinate k is affine in the pixel, lambda_k = A_k x + B_k y + C_k: the
    # edge opposite corner k (corners in cyclic order) over the doubled area.
    start = corners[keep][:, [1, 2, 0]]
    end = corners[keep][:, [2, 0, 1]]
    area = doubled_area[keep][:, None]
    dx, dy = end[:, :, 0] - start[:, :, 0], end[:, :, 1] - start[:, :, 1]
    coef_x, coef_y = -dy / area, dx / area
    coef_1 = (dy * start[:, :, 0] - dx * start[:, :, 1]) / area
    # 1 / z is affine in the image of a plane: the same combination of the corners' 1 / z.
    inverse = inverse_depths[keep]
    plane = np.stack([np.sum(coef * inverse, axis=1) for coef in (coef_x, coef_y, coef_1)], 1)
    row_counts = rows[keep]
    span_triangle = np.repeat(np.arange(len(keep)), row_counts)
    span_y = top[keep][span_triangle] + _ramps(row_counts)
    # Inside: every lambda_k >= -1e-9, a bound on x per edge that is not horizontal.
    slope = coef_x[span_triangle]
    level = coef_y[span_triangle] * span_y[:, None] + coef_1[span_triangle] + 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = -level / slope
    lower = np.max(np.where(slope > 0, bound, -np.inf), axis=1)
    upper = np.min(np.where(slope < 0, bound, np.inf), axis=1)
    closed = np.any((slope == 0) & (level < 0), axis=1)
    x_first = np.maximum(np.ceil(lower), 0.0)
    x_last = np.minimum(np.floor(upper), width - 1.0)
    lengths = np.where(closed, 0.0, x_last - x_first + 1.0).clip(min=0.0).astype(np.int64)
    spans = np.flatnonzero(lengths)
    if len(spans) == 0:
        return
    span_triangle, span_y, x_first, lengths = (
        span_triangle[spans],
        span_y[spans],
        x_first[spans].astype(np.int64),
        lengths[spans],
    )
    face = keep[span_triangle]
    step = plane[span_triangle, 0]
    row_plane = plane[span_triangle, 1] * span_y + plane[span_triangle, 2]
    row_start = span_y.astype(np.int64) * width + x_first
    ends = np.cumsum(lengths)
    first = 0
    while first < len(spans):
        done = ends[first - 1] if first else 0
        last = max(int(np.searchsorted(ends, done + _CHUNK_CANDIDATES, side="right")), first + 1)
        counts = lengths[first:last]
        span = np.repeat(np.arange(first, last), counts)
        along = _ramps(counts)
        inverse_z = row_plane[span] + step[span] * (x_first[span] + along)
        depth_units = np.rint(1.0 / (inverse_z * _DEPTH_QUANTUM_M)).astype(np.int64)
        np.minimum.at(best, row_start[span] + along, (depth_units << _FACE_BITS) | face[span])
        first = last


def _ramps(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., n - 1 for each n in `counts`, concatenated."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


@dataclass(frozen=True)
class _Model:
    """One hand's pixels and the correction model being fitted to them."""

    model: np.ndarray
    measured: np.ndarray
    mode: str

    def predicted(self, parameter: float) -> np.ndarray:
        if self.mode == SCALE:
            return parameter * self.model
        return self.model + parameter

    def solve(self, weights: np.ndarray) -> float:
        if self.mode == SCALE:
            return float(
                np.sum(weights * self.measured * self.model) / np.sum(weights * self.model**2)
            )
        return float(np.sum(weights * (self.measured - self.model)) / np.sum(weights))


def _fit_hand(
    model: np.ndarray, measured: np.ndarray, centre: np.ndarray, settings: DepthFusionSettings
) -> DepthFit:
    """The correction of one hand from its own pixels: model depth and measured depth."""
    mode = settings.mode
    visible = len(model)
    if visible == 0:
        return DepthFit(False, "the hand is not in the depth image (no visible pixels)", mode=mode)
    has_depth = np.isfinite(measured) & (measured > 0)
    counted = DepthFit(
        False,
        visible_pixels=visible,
        measured_pixels=int(np.count_nonzero(has_depth)),
        mode=mode,
    )
    needed = max(settings.min_pixels, math.ceil(settings.min_fraction * visible))
    if counted.measured_pixels < needed:
        return replace(
            counted,
            reason=f"too few pixels with depth: {counted.measured_pixels} of {visible} visible "
            f"(need {needed})",
        )
    pixels = _Model(model[has_depth], measured[has_depth].astype(np.float64), mode)
    reference = float(np.median(pixels.model))
    limit = settings.max_relative_change
    gate = settings.gate_at(reference)
    if mode == SCALE:
        low, high = 1.0 / (1.0 + limit), 1.0 + limit
        values = pixels.measured / pixels.model
        half_window = gate / reference
    else:
        low, high = -limit * reference, limit * reference
        values = pixels.measured - pixels.model
        half_window = gate
    parameter, support = _mode(values, low, high, half_window)
    if support < needed:
        return replace(
            counted,
            reason=f"too few pixels agree on one correction: {support} of {visible} visible "
            f"(need {needed})",
        )
    parameter = _reweighted(pixels, parameter, gate, settings.iterations)
    residual = pixels.measured - pixels.predicted(parameter)
    agree = np.abs(residual) < gate
    agreeing = int(np.count_nonzero(agree))
    rms = float(np.sqrt(np.mean(residual[agree] ** 2))) if agreeing else math.nan
    measured_fit = replace(
        counted, agreeing_pixels=agreeing, residual_mm=1e3 * rms, gate_mm=1e3 * gate
    )
    if agreeing < needed:
        reason = f"too few pixels agree with the hand: {agreeing} of {visible} (need {needed})"
    elif not rms <= settings.max_residual_ratio * gate:
        reason = (
            f"the surfaces disagree: residual {1e3 * rms:.1f} mm, over "
            f"{settings.max_residual_ratio:g} of the {1e3 * gate:.1f} mm gate"
        )
    elif not low <= parameter <= high:
        what = f"scale {parameter:.3f}" if mode == SCALE else f"shift {parameter:+.3f} m"
        reason = f"the correction is implausible: {what} outside [{low:.3f}, {high:.3f}]"
    else:
        reason = ""
    if reason:
        return replace(measured_fit, reason=reason)
    if mode == SCALE:
        return replace(
            measured_fit,
            fused=True,
            scale=parameter,
            depth_shift_m=(parameter - 1.0) * float(centre[2]),
        )
    return replace(
        measured_fit,
        fused=True,
        translation=parameter * centre / centre[2],
        depth_shift_m=parameter,
    )


def _reweighted(pixels: _Model, parameter: float, gate: float, iterations: int) -> float:
    """Tukey-biweight IRLS from `parameter` with the gate as its scale (derivation, 5b)."""
    for _ in range(iterations):
        residual = pixels.measured - pixels.predicted(parameter)
        inside = np.abs(residual) < gate
        if np.count_nonzero(inside) < 3:
            break
        weights = np.where(inside, (1.0 - (residual / gate) ** 2) ** 2, 0.0)
        updated = pixels.solve(weights)
        converged = abs(updated - parameter) < 1e-9 * max(1.0, abs(parameter))
        parameter = updated
        if converged:
            break
    return parameter


_MODE_BINS_PER_GATE = 8


def _mode(values: np.ndarray, low: float, high: float, gate: float) -> tuple[float, int]:
    """The correction in [low, high] that most values agree with (derivation, 5a), and how
    many are within `gate` of it.

    Agreement is the Tukey weight (1 - (r / gate)^2)^2 of each value's distance r (a
    smooth kernel, so a window's edges do not decide), summed over a histogram of bins of
    gate / 8; from it are taken the values beyond the gate on the far side.
    """
    width = gate / _MODE_BINS_PER_GATE
    edges = np.arange(low - gate, high + gate + width, width)
    counts, _ = np.histogram(values, edges)
    offsets = np.arange(-_MODE_BINS_PER_GATE, _MODE_BINS_PER_GATE + 1) * width
    kernel = (1.0 - (offsets / gate) ** 2) ** 2
    agreement = np.convolve(counts, kernel, mode="same")
    centres = 0.5 * (edges[:-1] + edges[1:])
    not_beyond = np.searchsorted(np.sort(values), centres + gate, side="right")
    score = agreement - (len(values) - not_beyond)
    allowed = (centres >= low) & (centres <= high)
    if not np.any(allowed):
        return 0.5 * (low + high), 0
    best = int(np.argmax(np.where(allowed, score, -np.inf)))
    centre = float(centres[best])
    return centre, int(np.count_nonzero(np.abs(values - centre) < gate))


def _composed(first: DepthFit, second: DepthFit) -> DepthFit:
    """`second` applied after `first`: s2 (s1 P + t1) + t2, with `second`'s pixel counts."""
    return replace(
        second,
        scale=second.scale * first.scale,
        translation=second.scale * first.translation + second.translation,
        depth_shift_m=first.depth_shift_m + second.depth_shift_m,
    )


def _checked_depth(depth: np.ndarray) -> np.ndarray:
    array = np.asarray(depth)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.size == 0:
        raise DepthFusionError(f"depth must be an (H, W) image, got shape {array.shape}")
    if array.dtype.kind != "f":
        raise DepthFusionError(
            f"depth must be floating-point metres, got {array.dtype}; decode 16UC1 "
            "(millimetres) with repehand_ros.io.depth first"
        )
    return array


def _checked_mesh(hand: HandMesh, index: int) -> HandMesh:
    vertices = np.asarray(hand.vertices, dtype=np.float64)
    faces = np.asarray(hand.faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise DepthFusionError(f"hand {index}: vertices must be (V, 3), got {vertices.shape}")
    if not np.all(np.isfinite(vertices)):
        raise DepthFusionError(f"hand {index}: vertices contain NaN or infinity")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.dtype.kind not in "iu" or not len(faces):
        raise DepthFusionError(
            f"hand {index}: faces must be (F, 3) integers, got {faces.shape} {faces.dtype}"
        )
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise DepthFusionError(f"hand {index}: faces index vertices that do not exist")
    if vertices.mean(axis=0)[2] <= NEAR_PLANE_M:
        raise DepthFusionError(f"hand {index}: the hand is not in front of the camera")
    return HandMesh(vertices, faces.astype(np.int64))
