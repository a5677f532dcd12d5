"""Hand meshes drawn over the camera image they were reconstructed from.

Two renderers, one interface (`HandRenderer.render`):

* `PyrenderRenderer`: a real, shaded OpenGL rendering (pyrender, off-screen
  through EGL or OSMesa, as HaMeR renders its hands). The perspective camera
  is the real one: its K gives the projection, and its lens distortion is
  applied afterwards by remapping the pinhole rendering into the distorted
  image, so meshes land where `PinholeCamera.project` puts their vertices.
* `OpenCVRenderer`: no dependency beyond OpenCV. Triangles projected with the
  camera (distortion included), filled far to near (painter's algorithm) with
  Lambert shading from their face normals, lit from the camera.

`create_renderer("auto")` takes pyrender when it imports and can open an
off-screen context here, and OpenCV otherwise; `renderer.name` says which.
pyrender picks its OpenGL platform from PYOPENGL_PLATFORM, which must be set
before OpenGL is first imported; when unset, this module sets it to "egl"
(EGL works with the PyOpenGL 3.1.0 that pyrender 0.1.45 pins; OSMesa needs a
newer PyOpenGL).

Images are H x W x 3 uint8 RGB; meshes are in the camera's optical frame
(x right, y down, z forward), metres. The right hand is drawn in one colour,
the left in another (the hues of `overlay.HAND_COLOURS`); the skeleton of
`overlay.draw_hand` can go on top.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import HandSide
from repehand_ros.pipeline.results import TwoHandResult
from repehand_ros.resources import Closeable
from repehand_ros.visualization.overlay import HAND_COLOURS, draw_hand

logger = logging.getLogger(__name__)

RENDERERS: tuple[str, ...] = ("auto", "pyrender", "opencv")

MESH_COLOURS: dict[HandSide, tuple[float, float, float]] = {
    side: (red / 255.0, green / 255.0, blue / 255.0)
    for side, (red, green, blue) in HAND_COLOURS.items()
}
"""Mesh colour of each hand, RGB in [0, 1]: the overlay's (and RViz markers') hues."""

MESH_OPACITY = 0.9
"""How much the mesh hides the image behind it (1: fully)."""

DEFAULT_GL_PLATFORM = "egl"
GL_PLATFORM_VARIABLE = "PYOPENGL_PLATFORM"

_AMBIENT = 0.35
_DIFFUSE = 0.65


class RendererUnavailableError(RuntimeError):
    """The renderer asked for cannot run here (not installed, no off-screen OpenGL)."""


@dataclass(frozen=True)
class HandDrawing:
    """One hand to draw: its mesh in the camera frame and, for the skeleton, its joints.

    A hand from a backend without a mesh (keypoints) has no vertices and faces: its
    skeleton is drawn instead, whether or not the skeleton was asked for.
    """

    side: HandSide
    vertices: np.ndarray | None
    """(V, 3) camera frame, metres; None without a mesh."""
    faces: np.ndarray | None
    """(F, 3) vertex indices; None without a mesh."""
    keypoints_2d: np.ndarray | None = None
    """(21, 2) projected joints, pixels; needed for the skeleton."""

    @property
    def has_mesh(self) -> bool:
        return self.vertices is not None and self.faces is not None

    @property
    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """(vertices, faces); ValueError for a hand without a mesh (see `has_mesh`)."""
        if self.vertices is None or self.faces is None:
            raise ValueError(f"the {self.side.name.lower()} hand has no mesh to draw")
        return self.vertices, self.faces

    @property
    def color(self) -> tuple[float, float, float]:
        return MESH_COLOURS[self.side]


def drawings_from_result(
    result: TwoHandResult, faces: tuple[np.ndarray, np.ndarray] | None
) -> list[HandDrawing]:
    """The valid hands of `result`; `faces` are (right, left) from MANO, None for a backend
    without a mesh (its hands are drawn as skeletons)."""
    drawings = []
    for index, hand in enumerate(result.hands):
        if not hand.valid:
            continue
        if faces is not None and hand.vertices is not None:
            drawings.append(HandDrawing(hand.side, hand.vertices, faces[index], hand.keypoints_2d))
        else:
            drawings.append(HandDrawing(hand.side, None, None, hand.keypoints_2d))
    return drawings


class HandRenderer(Closeable, ABC):
    """Draws hand meshes over an image; `name` says which renderer this is."""

    name = "none"

    def render(
        self,
        image: np.ndarray,
        camera: PinholeCamera,
        hands: Sequence[HandDrawing],
        skeleton: bool = False,
    ) -> np.ndarray:
        """A copy of `image` (H x W x 3 uint8 RGB, taken by `camera`) with `hands` drawn on it."""
        image = _checked_image(image, camera)
        meshes = [hand for hand in hands if hand.has_mesh]
        out = self._draw_meshes(image, camera, meshes) if meshes else image.copy()
        for hand in hands:
            if hand.keypoints_2d is not None and (skeleton or not hand.has_mesh):
                draw_hand(out, hand.keypoints_2d, hand.side)
        return out

    @abstractmethod
    def _draw_meshes(
        self, image: np.ndarray, camera: PinholeCamera, hands: Sequence[HandDrawing]
    ) -> np.ndarray:
        """A copy of `image` with the hands' meshes drawn: each renderer's own way."""


class OpenCVRenderer(HandRenderer):
    """Flat-shaded triangles filled far to near with OpenCV; always available."""

    name = "opencv"

    def _draw_meshes(
        self, image: np.ndarray, camera: PinholeCamera, hands: Sequence[HandDrawing]
    ) -> np.ndarray:
        polygons, colors, depths = [], [], []
        for hand in hands:
            triangles, shades, depth = _shaded_triangles(*hand.mesh, camera)
            polygons.append(triangles)
            colors.append(shades[:, None] * np.asarray(hand.color)[None, :])
            depths.append(depth)
        triangles = np.concatenate(polygons)
        if len(triangles) == 0:
            return image.copy()
        shades = np.concatenate(colors)
        order = np.argsort(-np.concatenate(depths), kind="stable")  # far first
        layer = np.zeros_like(image)
        mask = np.zeros(image.shape[:2], dtype=np.uint8)
        # Sub-pixel vertex positions: 4 fractional bits.
        fixed = list(np.round(triangles[order] * 16.0).astype(np.int32))
        colors_255 = np.clip(shades[order] * 255.0, 0, 255).round().astype(np.int32).tolist()
        for triangle, color in zip(fixed, colors_255, strict=True):
            cv2.fillConvexPoly(layer, triangle, color, lineType=cv2.LINE_8, shift=4)
            cv2.fillConvexPoly(mask, triangle, 255, lineType=cv2.LINE_8, shift=4)
        return _composite(image, layer, mask.astype(np.float32) / 255.0 * MESH_OPACITY)


def _shaded_triangles(
    vertices: np.ndarray, faces: np.ndarray, camera: PinholeCamera
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projected triangles (F, 3, 2) pixels, their Lambert shade (F,) and mean depth (F,).

    Triangles with a vertex behind the camera are left out. Shading is
    two-sided (a face seen from behind is lit like its front), with the light
    at the camera: shade = ambient + diffuse * |cos(normal, ray)|.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    pixels = np.full((len(vertices), 2), np.nan)
    in_front = vertices[:, 2] > 1e-6
    if np.any(in_front):
        pixels[in_front] = camera.project(vertices[in_front])
    corners = vertices[faces]  # (F, 3, 3)
    projected = pixels[faces]  # (F, 3, 2)
    keep = np.all(np.isfinite(projected), axis=(1, 2))
    corners, projected = corners[keep], projected[keep]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    centres = corners.mean(axis=1)
    lengths = np.linalg.norm(normals, axis=1) * np.linalg.norm(centres, axis=1)
    cosine = np.abs(np.einsum("ij,ij->i", normals, centres)) / np.maximum(lengths, 1e-20)
    shades = _AMBIENT + _DIFFUSE * np.where(lengths > 1e-20, cosine, 0.0)
    # Keep the polygons inside what OpenCV's fixed-point coordinates can hold.
    limit = 4.0 * max(camera.width, camera.height)
    projected = np.clip(projected, -limit, limit)
    return projected, shades, centres[:, 2]


class PyrenderRenderer(HandRenderer):
    """Smooth-shaded meshes rendered off-screen by pyrender, with the real camera."""

    def __init__(self) -> None:
        platform = os.environ.setdefault(GL_PLATFORM_VARIABLE, DEFAULT_GL_PLATFORM)
        _load_llvm_users_first()
        try:
            import pyrender
            import trimesh

            self._renderer = pyrender.OffscreenRenderer(viewport_width=64, viewport_height=64)
        except Exception as error:  # ImportError, OSError, OpenGL and EGL errors alike
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise RendererUnavailableError(
                f"pyrender cannot render off-screen here ({type(error).__name__}"
                f"{': ' + reason if reason else ''}); it needs pyrender and trimesh installed "
                f"and {GL_PLATFORM_VARIABLE}=egl (libEGL) or osmesa (libOSMesa, PyOpenGL>=3.1.5)"
            ) from error
        self._pyrender = pyrender
        self._trimesh = trimesh
        self.name = f"pyrender-{platform}"
        self._map_camera: PinholeCamera | None = None
        self._maps: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    def _draw_meshes(
        self, image: np.ndarray, camera: PinholeCamera, hands: Sequence[HandDrawing]
    ) -> np.ndarray:
        pyrender = self._pyrender
        scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(0.25, 0.25, 0.25))
        # OpenGL cameras look down -z with y up: the optical frame turned about x.
        flip = np.array([1.0, -1.0, -1.0])
        for hand in hands:
            vertices, faces = hand.mesh
            mesh = self._trimesh.Trimesh(
                np.asarray(vertices, dtype=np.float64) * flip,
                np.asarray(faces, dtype=np.int64),
                process=False,
            )
            material = pyrender.MetallicRoughnessMaterial(
                baseColorFactor=(*hand.color, 1.0),
                metallicFactor=0.0,
                roughnessFactor=0.6,
                alphaMode="OPAQUE",
                doubleSided=True,
            )
            scene.add(pyrender.Mesh.from_trimesh(mesh, material=material, smooth=True))
        # OpenCV puts pixel centres at integers, OpenGL at half-integers.
        scene.add(
            pyrender.IntrinsicsCamera(
                camera.fx, camera.fy, camera.cx + 0.5, camera.cy + 0.5, znear=0.01, zfar=100.0
            )
        )
        for pose in _light_poses():
            scene.add(pyrender.DirectionalLight(color=(1.0, 1.0, 1.0), intensity=1.6), pose=pose)
        self._renderer.viewport_width = camera.width
        self._renderer.viewport_height = camera.height
        color, _ = self._renderer.render(scene, flags=pyrender.RenderFlags.RGBA)
        color = np.ascontiguousarray(color)
        if camera.has_distortion:
            map_x, map_y = self._distortion_map(camera)
            color = cv2.remap(color, map_x, map_y, cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
        alpha = color[..., 3].astype(np.float32) / 255.0 * MESH_OPACITY
        return _composite(image, color[..., :3], alpha)

    def _distortion_map(self, camera: PinholeCamera) -> tuple[np.ndarray, np.ndarray]:
        """For every pixel of the distorted image, where it lies in the pinhole rendering."""
        if self._map_camera is not camera:
            u, v = np.meshgrid(
                np.arange(camera.width, dtype=np.float64),
                np.arange(camera.height, dtype=np.float64),
            )
            rays = camera.undistort_points(np.stack((u.ravel(), v.ravel()), axis=1))
            map_x = (rays[:, 0] * camera.fx + camera.cx).reshape(u.shape).astype(np.float32)
            map_y = (rays[:, 1] * camera.fy + camera.cy).reshape(u.shape).astype(np.float32)
            self._map_camera, self._maps = camera, (map_x, map_y)  # one camera at a time
        return self._maps

    def close(self) -> None:
        renderer = getattr(self, "_renderer", None)
        if renderer is not None:
            renderer.delete()
            self._renderer = None


def _load_llvm_users_first() -> None:
    """Imports Triton, if installed, before an OpenGL context exists.

    Triton (PyTorch's kernel compiler, imported by torch._dynamo, which timm
    and torchvision.models import) carries its own LLVM. Loaded after Mesa's
    software rasteriser (llvmpipe, with the system's LLVM) has made an EGL or
    OSMesa context, it crashes the process with a segmentation fault; loaded
    before, both work.
    """
    if importlib.util.find_spec("triton") is None:
        return
    try:
        importlib.import_module("triton")
    except Exception as error:  # a broken Triton is PyTorch's problem, not the renderer's
        logger.debug("triton did not import (%s)", error)


def _light_poses() -> list[np.ndarray]:
    """Three directional lights around the camera's view direction (HaMeR's Raymond lights)."""
    poses = []
    for azimuth in (0.0, 2.0 * np.pi / 3.0, 4.0 * np.pi / 3.0):
        tilt = np.pi / 6.0
        direction = np.array(
            [np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth), np.cos(tilt)]
        )
        # The light shines along its -z axis; z points back towards the camera.
        z = direction / np.linalg.norm(direction)
        x = np.cross([0.0, 1.0, 0.0], z)
        x /= np.linalg.norm(x)
        pose = np.eye(4)
        pose[:3, :3] = np.stack((x, np.cross(z, x), z), axis=1)
        poses.append(pose)
    return poses


def create_renderer(kind: str = "auto") -> HandRenderer:
    """The renderer `kind` ("auto", "pyrender" or "opencv"); "auto" falls back to OpenCV.

    Raises RendererUnavailableError when "pyrender" is asked for and cannot run.
    """
    if kind not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {kind!r}")
    if kind == "opencv":
        return OpenCVRenderer()
    try:
        renderer = PyrenderRenderer()
    except RendererUnavailableError as error:
        if kind == "pyrender":
            raise
        logger.info("%s: drawing the meshes with OpenCV instead", error)
        return OpenCVRenderer()
    logger.debug("rendering with %s", renderer.name)
    return renderer


def _composite(image: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`layer` over `image` with per-pixel opacity `alpha` in [0, 1]; untouched where alpha is 0."""
    out = image.copy()
    drawn = alpha > 0.0
    if np.any(drawn):
        a = alpha[drawn][:, None]
        blended = a * layer[drawn].astype(np.float32) + (1.0 - a) * image[drawn]
        out[drawn] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return out


def _checked_image(image: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.dtype} {image.shape}")
    if image.shape[:2] != (camera.height, camera.width):
        raise ValueError(
            f"the camera is for {camera.width}x{camera.height} images but the image is "
            f"{image.shape[1]}x{image.shape[0]}"
        )
    return image
