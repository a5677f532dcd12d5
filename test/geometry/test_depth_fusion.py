"""Correcting hand placement from depth: known meshes in rendered depth images come back where
they are, whatever lies in front of them; depth images decode to metres in both encodings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repehand_ros.geometry.camera import PinholeCamera
from repehand_ros.geometry.depth_fusion import (
    SCALE,
    TRANSLATE,
    DepthFusionError,
    DepthFusionSettings,
    HandMesh,
    fuse_depth,
    fuse_hand_depth,
    rasterise_depth,
    scaled_camera,
)
from repehand_ros.io.depth import DepthImageError, decode_depth, depth_to_metres

CAMERA = PinholeCamera(
    np.array([[615.0, 0.0, 319.5], [0.0, 615.0, 239.5], [0.0, 0.0, 1.0]]), np.zeros(0), "", 640, 480
)
DISTORTED = PinholeCamera(
    np.array([[600.0, 0.0, 322.0], [0.0, 602.0, 236.0], [0.0, 0.0, 1.0]]),
    np.array([-0.08, 0.02, 0.0005, -0.0004, 0.0]),
    "plumb_bob",
    640,
    480,
)


def ellipsoid(radii=(0.045, 0.08, 0.025), rings=20, segments=36) -> tuple[np.ndarray, np.ndarray]:
    """A closed triangulated ellipsoid around the origin (a palm-sized blob), faces outward."""
    polar = np.linspace(0.0, math.pi, rings + 1)[1:-1]
    around = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
    ring_points = [
        [math.sin(p) * math.cos(a), math.sin(p) * math.sin(a), -math.cos(p)]
        for p in polar
        for a in around
    ]
    vertices = np.array([[0.0, 0.0, -1.0], *ring_points, [0.0, 0.0, 1.0]]) * radii
    faces = [[0, 1 + (j + 1) % segments, 1 + j] for j in range(segments)]
    for ring in range(rings - 2):
        for j in range(segments):
            a = 1 + ring * segments + j
            b = 1 + ring * segments + (j + 1) % segments
            faces += [[a, b, b + segments], [a, b + segments, a + segments]]
    last, base = len(vertices) - 1, 1 + (rings - 2) * segments
    faces += [[last, base + j, base + (j + 1) % segments] for j in range(segments)]
    return vertices, np.array(faces)


def tilted(vertices: np.ndarray, angle: float = 0.5) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return vertices @ np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]).T


HAND, FACES = ellipsoid()
WALL_M = 2.5


def scene_depth(
    meshes: list[tuple[np.ndarray, np.ndarray]], camera: PinholeCamera = CAMERA
) -> np.ndarray:
    """What a perfect depth camera sees: the meshes before a wall, float32 metres."""
    depth, _ = rasterise_depth(meshes, camera)
    return np.where(np.isfinite(depth), depth, WALL_M).astype(np.float32)


def hand_at(position, angle: float = 0.5) -> np.ndarray:
    return tilted(HAND, angle) + np.asarray(position)


# ----------------------------------------------------------------------------- rasteriser


def test_rasterised_depth_is_the_exact_depth_of_a_plane():
    corners = np.array([[-0.3, -0.3, 1.0], [0.3, -0.3, 1.2], [0.0, 0.3, 0.8]])
    depth, owner = rasterise_depth([(corners, np.array([[0, 1, 2]]))], CAMERA)
    rows, cols = np.nonzero(owner == 0)
    assert len(rows) > 50_000
    rays = np.stack([(cols - CAMERA.cx) / CAMERA.fx, (rows - CAMERA.cy) / CAMERA.fy], 1)
    rays = np.concatenate([rays, np.ones((len(rays), 1))], 1)
    normal = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    expected = (normal @ corners[0]) / (rays @ normal)
    np.testing.assert_allclose(depth[rows, cols], expected, atol=1e-7)
    assert np.all(np.isinf(depth[owner < 0]))


def test_rasterised_sphere_matches_the_sphere_and_its_outline():
    radius, centre = 0.05, np.array([0.02, -0.01, 0.6])
    vertices, faces = ellipsoid((radius, radius, radius), rings=48, segments=96)
    depth, owner = rasterise_depth([(vertices + centre, faces)], CAMERA)
    rows, cols = np.nonzero(owner == 0)
    rays = np.stack(
        [(cols - CAMERA.cx) / CAMERA.fx, (rows - CAMERA.cy) / CAMERA.fy, np.ones(len(rows))], 1
    )
    # Nearest intersection of each ray t * r with the sphere; pixels near the outline skipped.
    a, b = np.sum(rays**2, 1), rays @ centre
    discriminant = b**2 - a * (centre @ centre - radius**2)
    inner = discriminant > 0.3 * discriminant.max()
    t = (b - np.sqrt(np.maximum(discriminant, 0.0))) / a
    assert np.count_nonzero(inner) > 0.5 * len(rows)
    np.testing.assert_allclose(depth[rows, cols][inner], t[inner], atol=3e-4)
    # The outline: as many pixels as the sphere's image disc (within the tessellation).
    disc = math.pi * (CAMERA.fx * radius / math.sqrt(centre @ centre - radius**2)) ** 2
    assert abs(len(rows) - disc) < 0.03 * disc


def test_each_pixel_belongs_to_the_nearer_mesh_and_meshes_behind_the_camera_are_skipped():
    near, far = hand_at([0.0, 0.0, 0.5]), hand_at([0.03, 0.0, 0.6])
    behind = hand_at([0.0, 0.0, -0.5])
    depth, owner = rasterise_depth([(far, FACES), (near, FACES), (behind, FACES)], CAMERA)
    alone_far, _ = rasterise_depth([(far, FACES)], CAMERA)
    alone_near, _ = rasterise_depth([(near, FACES)], CAMERA)
    assert not np.any(owner == 2)
    both = np.isfinite(alone_far) & np.isfinite(alone_near)
    assert both.any() and np.all(owner[both] == 1)
    np.testing.assert_array_equal(depth, np.minimum(alone_far, alone_near))


# ----------------------------------------------------------------------------- fusion


def test_a_hand_placed_right_stays_where_it_is():
    hand = hand_at([0.05, 0.02, 0.8])
    fit = fuse_hand_depth(hand, FACES, CAMERA, scene_depth([(hand, FACES)]))
    assert fit.fused, fit.reason
    assert fit.scale == pytest.approx(1.0, abs=1e-7)
    assert fit.residual_mm < 1e-3
    assert fit.agreeing_pixels == fit.measured_pixels == fit.visible_pixels > 1000


def test_the_mano_topology_is_fused_exactly_too(mano_arrays):
    template = mano_arrays["right"]["v_template"] - mano_arrays["right"]["v_template"].mean(0)
    faces = mano_arrays["right"]["f"].astype(np.int64)
    true = tilted(template) + np.array([-0.04, 0.03, 0.7])
    fit = fuse_hand_depth(true * 1.08, faces, CAMERA, scene_depth([(true, faces)]))
    assert fit.fused, fit.reason
    np.testing.assert_allclose(fit.apply(true * 1.08), true, atol=1e-6)


@pytest.mark.parametrize("camera", [CAMERA, DISTORTED], ids=["pinhole", "distorted"])
def test_a_hand_too_big_and_too_far_is_corrected_in_size_and_distance(camera):
    true = hand_at([-0.06, 0.04, 1.0])
    wrist = true[0]
    placed = 1.1 * true  # 10% too big: the same image, 10% too far
    np.testing.assert_allclose(camera.project(placed), camera.project(true), atol=1e-9)
    fit = fuse_hand_depth(placed, FACES, camera, scene_depth([(true, FACES)], camera))
    assert fit.fused, fit.reason
    assert fit.mode == SCALE
    assert fit.scale == pytest.approx(1 / 1.1, abs=1e-6)
    assert fit.depth_shift_m == pytest.approx(-0.1 * true.mean(0)[2], abs=1e-5)
    np.testing.assert_allclose(fit.apply(placed), true, atol=2e-6)
    np.testing.assert_allclose(fit.apply(1.1 * wrist), wrist, atol=2e-6)


def test_translation_along_the_ray_corrects_the_distance_and_keeps_the_size():
    true = hand_at([0.04, -0.03, 0.9])
    placed = true + 0.07 * true.mean(0) / true.mean(0)[2]  # 7 cm too far, along the ray
    settings = DepthFusionSettings(mode=TRANSLATE)
    fit = fuse_hand_depth(placed, FACES, CAMERA, scene_depth([(true, FACES)]), settings)
    assert fit.fused, fit.reason
    assert fit.scale == 1.0
    np.testing.assert_allclose(fit.apply(placed), true, atol=1e-3)


def board_in_front(depth: np.ndarray, share: float, gap_m: float) -> np.ndarray:
    """`depth` with a flat board `gap_m` before the hand's nearest point over the left
    `share` of the hand's image (and the wall beside it)."""
    hand_pixels = depth < WALL_M
    rows, cols = np.nonzero(hand_pixels)
    board = np.zeros_like(hand_pixels)
    board[:, : int(np.quantile(cols, share))] = True
    board &= np.abs(np.arange(depth.shape[0])[:, None] - rows.mean()) < 0.8 * np.ptp(rows)
    out = depth.copy()
    out[board] = np.min(depth[hand_pixels]) - gap_m
    assert abs(np.count_nonzero(board & hand_pixels) / len(rows) - share) < 0.02
    return out


@pytest.mark.parametrize("size", [0.9, 1.1])
def test_an_object_in_front_does_not_pull_the_hand_forward(size):
    true = hand_at([0.0, 0.0, 0.6])
    depth = board_in_front(scene_depth([(true, FACES)]), share=0.45, gap_m=0.015)
    fit = fuse_hand_depth(size * true, FACES, CAMERA, depth)
    assert fit.fused, fit.reason
    assert fit.scale * size == pytest.approx(1.0, abs=2e-3)
    assert fit.agreeing_pixels < 0.7 * fit.visible_pixels  # the board is not agreed with


def test_an_object_over_most_of_the_hand_does_not_win_over_the_hand():
    # More board than hand in the hand's image: the most common depth is the board's. But
    # putting the hand there would have the camera see its uncovered part through it.
    true = hand_at([0.0, 0.0, 0.6])
    depth = board_in_front(scene_depth([(true, FACES)]), share=0.6, gap_m=0.01)
    fit = fuse_hand_depth(1.1 * true, FACES, CAMERA, depth)
    assert fit.fused, fit.reason
    assert fit.scale * 1.1 == pytest.approx(1.0, abs=2e-3)


def test_the_other_hand_in_front_does_not_corrupt_either_hand():
    right = hand_at([0.0, 0.0, 0.8], angle=0.4)
    left = hand_at([0.05, 0.03, 0.75], angle=-0.6)  # 5 cm nearer, half over the right hand
    depth = scene_depth([(right, FACES), (left, FACES)])
    right_alone, _ = rasterise_depth([(right, FACES)], CAMERA)
    left_alone, _ = rasterise_depth([(left, FACES)], CAMERA)
    hidden = np.isfinite(right_alone) & (left_alone < right_alone)
    assert 0.2 < hidden.sum() / np.isfinite(right_alone).sum() < 0.6
    # The left hand's estimate is placed behind the right one's: the depths cannot say
    # which is in front until both are corrected.
    fits = fuse_depth([HandMesh(1.08 * right, FACES), HandMesh(1.12 * left, FACES)], CAMERA, depth)
    assert all(fit.fused for fit in fits), [fit.reason for fit in fits]
    np.testing.assert_allclose(fits[0].apply(1.08 * right), right, atol=1e-4)
    np.testing.assert_allclose(fits[1].apply(1.12 * left), left, atol=1e-4)


def test_noise_holes_and_flying_pixels_cost_little():
    rng = np.random.default_rng(3)
    true = hand_at([0.03, 0.01, 1.0])
    depth = scene_depth([(true, FACES)]).astype(np.float64)
    depth += rng.normal(0.0, 0.004, depth.shape)  # 4 mm, a D435 at 1 m
    depth[rng.uniform(size=depth.shape) < 0.1] = np.nan
    flying = rng.uniform(size=depth.shape) < 0.05
    depth[flying] = rng.uniform(0.5, 2.5, np.count_nonzero(flying))
    fit = fuse_hand_depth(1.07 * true, FACES, CAMERA, depth.astype(np.float32))
    assert fit.fused, fit.reason
    assert abs(fit.scale * 1.07 - 1.0) < 0.002  # 2 mm at 1 m
    assert 2.0 < fit.residual_mm < 8.0


def test_a_depth_image_at_another_resolution_of_the_same_picture_is_used_at_its_pixels():
    true = hand_at([0.02, 0.02, 0.7])
    small = scaled_camera(CAMERA, 320, 240)
    fit = fuse_hand_depth(0.9 * true, FACES, CAMERA, scene_depth([(true, FACES)], small))
    assert fit.fused, fit.reason
    assert fit.scale * 0.9 == pytest.approx(1.0, abs=1e-6)
    full_size = fuse_hand_depth(0.9 * true, FACES, CAMERA, scene_depth([(true, FACES)]))
    assert fit.visible_pixels < 0.3 * full_size.visible_pixels


def test_a_depth_image_with_intrinsics_of_its_own_is_used_through_its_camera():
    # Registered to the colour camera's frame, but another size and focal length.
    depth_camera = PinholeCamera(
        np.array([[430.0, 0.0, 421.0], [0.0, 431.0, 243.0], [0.0, 0.0, 1.0]]),
        np.zeros(0),
        "",
        848,
        480,
    )
    true = hand_at([-0.05, 0.0, 0.9])
    depth = scene_depth([(true, FACES)], depth_camera)
    fit = fuse_hand_depth(1.06 * true, FACES, CAMERA, depth, depth_camera=depth_camera)
    assert fit.fused, fit.reason
    assert fit.scale * 1.06 == pytest.approx(1.0, abs=1e-6)


def test_a_hand_partly_outside_the_image_is_fused_on_what_is_inside():
    true = hand_at([0.0, 0.0, 0.5])
    true += [0.5 * 320 / 615 - true[:, 0].mean(), 0.0, 0.0]  # its centre on the right edge
    inside = CAMERA.project(true)[:, 0] < 639.5
    assert 0.3 < inside.mean() < 0.7
    fit = fuse_hand_depth(0.92 * true, FACES, CAMERA, scene_depth([(true, FACES)]))
    assert fit.fused, fit.reason
    assert fit.scale * 0.92 == pytest.approx(1.0, abs=1e-6)


def test_a_near_hand_is_compared_on_a_grid_of_pixels():
    true = hand_at([0.0, 0.0, 0.25])
    settings = DepthFusionSettings(max_samples=5000)
    fit = fuse_hand_depth(1.1 * true, FACES, CAMERA, scene_depth([(true, FACES)]), settings)
    assert fit.fused, fit.reason
    assert fit.visible_pixels < 5000
    assert fit.scale * 1.1 == pytest.approx(1.0, abs=1e-6)


# ----------------------------------------------------------------------------- fallback


def test_no_depth_on_the_hand_falls_back_with_the_reason():
    true = hand_at([0.0, 0.0, 0.8])
    depth = scene_depth([(true, FACES)])
    depth[depth < WALL_M] = np.nan
    fit = fuse_hand_depth(true, FACES, CAMERA, depth)
    assert not fit.fused
    assert fit.reason.startswith("too few pixels with depth: 0 of")
    assert fit.scale == 1.0 and np.all(fit.translation == 0.0)
    np.testing.assert_array_equal(fit.apply(true), true)


def test_a_few_pixels_of_depth_are_not_enough():
    true = hand_at([0.0, 0.0, 0.8])
    full = scene_depth([(true, FACES)])
    depth = np.zeros_like(full)  # 0 is no data too
    rows, cols = np.nonzero(full < WALL_M)
    depth[rows[:20], cols[:20]] = full[rows[:20], cols[:20]]
    fit = fuse_hand_depth(true, FACES, CAMERA, depth)
    assert not fit.fused and "too few pixels with depth: 20 of" in fit.reason


def test_a_hand_the_depth_does_not_show_falls_back():
    true = hand_at([0.0, 0.0, 0.8])
    wall_only = np.full((480, 640), WALL_M, dtype=np.float32)
    fit = fuse_hand_depth(true, FACES, CAMERA, wall_only)
    assert not fit.fused and fit.reason.startswith("too few pixels agree")
    outside = hand_at([3.0, 0.0, 0.8])
    fit = fuse_hand_depth(outside, FACES, CAMERA, wall_only)
    assert not fit.fused and "no visible pixels" in fit.reason


def test_a_depth_image_of_noise_falls_back():
    rng = np.random.default_rng(0)
    true = hand_at([0.0, 0.0, 0.8])
    noise = rng.uniform(0.6, 1.1, (480, 640)).astype(np.float32)
    fit = fuse_hand_depth(true, FACES, CAMERA, noise)
    assert not fit.fused, fit


# ----------------------------------------------------------------------------- encodings


def test_16uc1_is_millimetres_and_32fc1_is_metres():
    millimetres = np.array([[0, 1000, 1500], [65535, 1, 250]], dtype=np.uint16)
    np.testing.assert_array_equal(
        depth_to_metres(millimetres, "16UC1"),
        np.array([[np.nan, 1.0, 1.5], [65.535, 0.001, 0.25]], dtype=np.float32),
    )
    metres = np.array([[np.nan, 0.0, 1.25], [np.inf, -np.inf, -1.0]], dtype=np.float32)
    decoded = depth_to_metres(metres, "32FC1")
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, [[np.nan, np.nan, 1.25], [np.nan] * 3])


def test_the_two_encodings_of_one_scene_fuse_alike():
    true = hand_at([0.0, 0.02, 0.6])
    metres = scene_depth([(true, FACES)])
    millimetres = np.rint(metres * 1000).astype(np.uint16)
    fits = [
        fuse_hand_depth(1.1 * true, FACES, CAMERA, depth_to_metres(image, encoding))
        for image, encoding in ((metres, "32FC1"), (millimetres, "16UC1"))
    ]
    assert all(fit.fused for fit in fits)
    assert fits[0].scale == pytest.approx(fits[1].scale, abs=0.001 / 0.66)  # within 1 mm


def test_message_bytes_decode_with_padding_and_byte_order():
    values = np.array([[1000, 0, 2000], [3, 4, 5]], dtype=np.uint16)
    padded = np.zeros((2, 4), dtype="<u2")
    padded[:, :3] = values
    little = decode_depth(padded.tobytes(), 3, 2, 8, "16UC1")
    big = decode_depth(padded.astype(">u2").tobytes(), 3, 2, 8, "16UC1", is_bigendian=True)
    expected = [[1.0, np.nan, 2.0], [0.003, 0.004, 0.005]]
    np.testing.assert_array_equal(little, np.array(expected, dtype=np.float32))
    np.testing.assert_array_equal(big, little)
    floats = np.array([[0.5, np.nan], [1.5, 2.0]], dtype=">f4")
    decoded = decode_depth(floats.tobytes() + b"\0\0", 2, 2, 8, "32FC1", is_bigendian=True)
    np.testing.assert_array_equal(decoded, np.array([[0.5, np.nan], [1.5, 2.0]], np.float32))


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("16uc1", "did you mean '16UC1'"),
        ("mono16", "mono16 is a grey image"),
        ("8UC1", "not supported"),
        ("64FC1", "not supported"),
        ("compressedDepth png", "decompress"),
    ],
)
def test_other_encodings_are_refused_with_the_reason(encoding, message):
    with pytest.raises(DepthImageError, match=message):
        depth_to_metres(np.zeros((2, 2), np.uint16), encoding)
    with pytest.raises(DepthImageError, match=message):
        decode_depth(b"\0" * 8, 2, 2, 4, encoding)


def test_wrong_types_and_sizes_are_refused():
    with pytest.raises(DepthImageError, match="unsigned 16-bit"):
        depth_to_metres(np.zeros((2, 2), np.float32), "16UC1")
    with pytest.raises(DepthImageError, match="float metres"):
        depth_to_metres(np.zeros((2, 2), np.uint16), "32FC1")
    with pytest.raises(DepthImageError, match="must be"):
        depth_to_metres(np.zeros((2, 2, 3), np.uint16), "16UC1")
    with pytest.raises(DepthImageError, match="needs 16 bytes but has 12"):
        decode_depth(b"\0" * 12, 2, 2, 8, "32FC1")
    with pytest.raises(DepthImageError, match="step 3"):
        decode_depth(b"\0" * 12, 2, 2, 3, "16UC1")
    with pytest.raises(DepthImageError, match="width must be positive"):
        decode_depth(b"", 0, 2, 4, "16UC1")


def test_fusion_refuses_depth_it_cannot_use():
    hand = hand_at([0.0, 0.0, 0.8])
    with pytest.raises(DepthFusionError, match="decode 16UC1"):
        fuse_hand_depth(hand, FACES, CAMERA, np.zeros((480, 640), np.uint16))
    with pytest.raises(DepthFusionError, match="not the same picture"):
        fuse_hand_depth(hand, FACES, CAMERA, np.zeros((480, 848), np.float32))
    with pytest.raises(DepthFusionError, match="its camera is for 640x480"):
        fuse_hand_depth(hand, FACES, CAMERA, np.zeros((240, 320), np.float32), depth_camera=CAMERA)
    with pytest.raises(DepthFusionError, match=r"\(H, W\)"):
        fuse_hand_depth(hand, FACES, CAMERA, np.zeros((480, 640, 3), np.float32))
    with pytest.raises(DepthFusionError, match="faces index"):
        fuse_hand_depth(hand, FACES + 10_000, CAMERA, np.zeros((480, 640), np.float32))
    with pytest.raises(DepthFusionError, match="not in front"):
        fuse_hand_depth(hand - [0, 0, 1.0], FACES, CAMERA, np.zeros((480, 640), np.float32))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="mode"):
        DepthFusionSettings(mode="shift")
    with pytest.raises(ValueError, match="gate_m"):
        DepthFusionSettings(gate_m=0.0)
    with pytest.raises(ValueError, match="min_pixels"):
        DepthFusionSettings(min_pixels=0)
    with pytest.raises(ValueError, match="min_fraction"):
        DepthFusionSettings(min_fraction=1.5)
