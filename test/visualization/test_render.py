"""Hand meshes drawn over images: where the hand projects, and nowhere else.

The OpenCV renderer is always tested; pyrender only where it renders
off-screen here (skipped otherwise). The mesh of the last tests comes from
the real network with a plumbing checkpoint (random weights, plausible hand
size) and fixture MANO files on real footage: data flow, never accuracy.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.checkpoints import write_plumbing_checkpoint

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.hands import HandSide
from repehand_ros.visualization.render import (
    HandDrawing,
    OpenCVRenderer,
    RendererUnavailableError,
    create_renderer,
    drawings_from_result,
)

TEST = Path(__file__).resolve().parents[1]

PINHOLE = PinholeCamera.default(320, 240)
DISTORTED = PinholeCamera(
    k=np.array([[300.0, 0.0, 159.5], [0.0, 300.0, 119.5], [0.0, 0.0, 1.0]]),
    d=np.array([-0.25, 0.08, 0.001, -0.001, 0.0]),
    distortion_model="plumb_bob",
    width=320,
    height=240,
)


def box_mesh(centre, size) -> tuple[np.ndarray, np.ndarray]:
    """A closed box: 8 corners, 12 outward-facing triangles."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    faces = np.array(
        [
            [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
            [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
        ]
    )  # fmt: skip
    return corners * np.asarray(size) / 2 + np.asarray(centre), faces


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=2)


def projected_box(camera: PinholeCamera, vertices: np.ndarray, margin: float):
    """Pixels inside the projected vertices' bounding box grown by `margin` pixels."""
    pixels = camera.project(vertices)
    low, high = pixels.min(axis=0) - margin, pixels.max(axis=0) + margin
    v, u = np.mgrid[: camera.height, : camera.width]
    return (u >= low[0]) & (u <= high[0]) & (v >= low[1]) & (v <= high[1])


def background() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)


@pytest.mark.parametrize("camera", [PINHOLE, DISTORTED], ids=["pinhole", "distorted"])
def test_opencv_draws_inside_the_projected_mesh_and_nowhere_else(camera):
    vertices, faces = box_mesh([0.04, -0.02, 0.5], [0.06, 0.05, 0.04])
    image = background()
    out = OpenCVRenderer().render(image, camera, [HandDrawing(HandSide.RIGHT, vertices, faces)])
    assert out.shape == image.shape and out.dtype == np.uint8
    drawn = changed(image, out)
    inside = projected_box(camera, vertices, margin=1.0)
    assert not np.any(drawn & ~inside)
    # A box seen from the front covers most of its projected bounding box.
    assert drawn.sum() > 0.5 * projected_box(camera, vertices, margin=0.0).sum()
    assert np.array_equal(image, background()), "the input image must not be drawn on"


def test_opencv_shades_faces_and_colours_the_hands_apart():
    right = box_mesh([-0.06, 0.0, 0.5], [0.05, 0.05, 0.05])
    left = box_mesh([0.06, 0.0, 0.5], [0.05, 0.05, 0.05])
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    out = OpenCVRenderer().render(
        image,
        PINHOLE,
        [HandDrawing(HandSide.RIGHT, *right), HandDrawing(HandSide.LEFT, *left)],
    )
    right_pixels = out[projected_box(PINHOLE, right[0], -2.0)].astype(float)
    left_pixels = out[projected_box(PINHOLE, left[0], -2.0)].astype(float)
    # Different hues: which channel dominates differs between the hands.
    assert np.argmax(right_pixels.mean(axis=0)) != np.argmax(left_pixels.mean(axis=0))
    # Lambert shading: faces turned differently towards the camera get different shades.
    assert len(np.unique(right_pixels.sum(axis=1))) > 1


def test_nearer_faces_cover_farther_ones():
    far = box_mesh([0.0, 0.0, 0.8], [0.2, 0.2, 0.02])
    near = box_mesh([0.0, 0.0, 0.4], [0.03, 0.03, 0.02])
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    # The near (left-coloured) box is listed first, the far (right-coloured) one last.
    out = OpenCVRenderer().render(
        image, PINHOLE, [HandDrawing(HandSide.LEFT, *near), HandDrawing(HandSide.RIGHT, *far)]
    )
    centre = out[120, 160].astype(float)
    alone = OpenCVRenderer().render(image, PINHOLE, [HandDrawing(HandSide.LEFT, *near)])
    np.testing.assert_allclose(centre, alone[120, 160], atol=1)


def test_points_behind_the_camera_are_not_drawn():
    vertices, faces = box_mesh([0.0, 0.0, -0.5], [0.1, 0.1, 0.1])
    image = background()
    out = OpenCVRenderer().render(image, PINHOLE, [HandDrawing(HandSide.RIGHT, vertices, faces)])
    assert np.array_equal(out, image)


def test_image_and_camera_must_match():
    with pytest.raises(ValueError, match="camera is for 320x240"):
        OpenCVRenderer().render(np.zeros((480, 640, 3), np.uint8), PINHOLE, [])


def test_auto_falls_back_to_opencv_without_pyrender(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrender", None)  # import pyrender -> ImportError
    assert create_renderer("auto").name == "opencv"
    with pytest.raises(RendererUnavailableError, match="pyrender cannot render"):
        create_renderer("pyrender")
    assert create_renderer("opencv").name == "opencv"
    with pytest.raises(ValueError, match="renderer must be one of"):
        create_renderer("vulkan")


@pytest.fixture(scope="module")
def pyrender_renderer():
    try:
        renderer = create_renderer("pyrender")
    except RendererUnavailableError as error:
        pytest.skip(str(error))
    with renderer:
        yield renderer


@pytest.mark.parametrize("camera", [PINHOLE, DISTORTED], ids=["pinhole", "distorted"])
def test_pyrender_puts_the_mesh_where_opencv_does(pyrender_renderer, camera):
    vertices, faces = box_mesh([0.05, 0.03, 0.5], [0.06, 0.05, 0.04])
    image = background()
    hands = [HandDrawing(HandSide.LEFT, vertices, faces)]
    gl = changed(image, pyrender_renderer.render(image, camera, hands))
    cv = changed(image, OpenCVRenderer().render(image, camera, hands))
    assert pyrender_renderer.name.startswith("pyrender-")
    assert not np.any(gl & ~projected_box(camera, vertices, margin=2.0))
    overlap = (gl & cv).sum() / (gl | cv).sum()
    assert overlap > 0.9, overlap


# --- a reconstructed hand on real footage -------------------------------------------------


def _right04_rgb() -> np.ndarray:
    spec = importlib.util.spec_from_file_location("footage", TEST / "detection" / "footage.py")
    footage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(footage)
    return footage.right04_rgb()


@pytest.fixture(scope="module")
def reconstructed(tmp_path_factory, mano_dir):
    from repehand_ros.pipeline.config import ReconstructorConfig
    from repehand_ros.pipeline.reconstructor import HandReconstructor

    image = _right04_rgb()
    checkpoint = write_plumbing_checkpoint(tmp_path_factory.mktemp("render") / "plumbing.pth")
    config = ReconstructorConfig(
        mano_dir=mano_dir, checkpoint=checkpoint, device="cpu", min_confidence=0.0
    )
    camera = PinholeCamera.default(image.shape[1], image.shape[0])
    with HandReconstructor(config) as reconstructor:
        result = reconstructor.reconstruct(image, camera, 0.0)
        faces = reconstructor.faces
    hands = drawings_from_result(result, faces)
    assert hands, "right04.jpg shows a hand: the plumbing network must place it"
    return image, camera, hands


def test_reconstructed_hand_is_drawn_on_its_projection(reconstructed):
    image, camera, hands = reconstructed
    out = OpenCVRenderer().render(image, camera, hands)
    drawn = changed(image, out)
    inside = np.zeros_like(drawn)
    for hand in hands:
        inside |= projected_box(camera, hand.vertices, margin=1.0)
    assert drawn.sum() > 50
    assert not np.any(drawn & ~inside)


def test_skeleton_is_drawn_over_the_mesh(reconstructed):
    image, camera, hands = reconstructed
    renderer = OpenCVRenderer()
    plain = renderer.render(image, camera, hands)
    with_skeleton = renderer.render(image, camera, hands, skeleton=True)
    difference = changed(plain, with_skeleton)
    assert difference.any()
    keypoints = np.round(hands[0].keypoints_2d).astype(int)
    assert difference[keypoints[:, 1], keypoints[:, 0]].mean() > 0.9
