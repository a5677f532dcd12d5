"""RViz markers of both hands: mesh, skeleton and joints, in the camera's optical frame.

Each hand and kind has its own namespace (`right/mesh`, `left/skeleton`, ...)
and a fixed id, so every frame replaces the previous one in place and RViz
lets users toggle each of them. Markers carry a lifetime, so they vanish when
the node stops publishing; a hand that is not valid in a frame gets a DELETE
of each of its markers at once instead of lingering for that lifetime. The
same holds for a valid hand's mesh when there are no vertices (a joint-only
backend) or no faces.

Speed: a mesh is 1538 triangles, 4614 points, and rclpy builds each
geometry_msgs/Point in Python. The 778 vertices are made into Points once and
the triangle list refers to them by index, so a mesh costs 778 Points rather
than 4614 (about five times faster). Points are therefore shared between
entries: the array is built to be published, not edited in place.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Iterable, Sequence

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from rclpy.duration import Duration
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from repehand_ros.hands import BONES, HandSide
from repehand_ros.pipeline.results import NUM_VERTICES, HandResult, TwoHandResult

KINDS: tuple[str, ...] = ("mesh", "skeleton", "joints")

# (r, g, b) per hand, 0..1: warm for the right hand, cool for the left.
HAND_RGB: dict[HandSide, tuple[float, float, float]] = {
    HandSide.RIGHT: (0.95, 0.55, 0.25),
    HandSide.LEFT: (0.25, 0.60, 0.95),
}
# Alpha per kind: the mesh is see-through so the skeleton shows inside it.
KIND_ALPHA: dict[str, float] = {"mesh": 0.6, "skeleton": 1.0, "joints": 1.0}
SKELETON_LINE_WIDTH_M = 0.004
JOINT_DIAMETER_M = 0.012

_BONE_ENDS = operator.itemgetter(*(index for bone in BONES for index in bone))


def marker_namespace(side: HandSide, kind: str) -> str:
    """The namespace of one hand's markers of one kind, e.g. `right/mesh`."""
    return f"{side.name.lower()}/{kind}"


def marker_id(side: HandSide, kind: str) -> int:
    """A fixed id per hand and kind, the same whichever kinds are asked for."""
    return int(side) * len(KINDS) + KINDS.index(kind)


def _points(positions: np.ndarray) -> list[Point]:
    return [Point(x=x, y=y, z=z) for x, y, z in positions.astype(np.float64).tolist()]


def _checked_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown marker kinds {unknown}; known kinds are {list(KINDS)}")
    return kinds


def _checked_faces(faces: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise ValueError(f"faces must be an (F, 3) integer array, got {faces.dtype} {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= NUM_VERTICES):
        raise ValueError(f"face vertex indices must be in [0, {NUM_VERTICES})")
    return faces


def _marker(header: Header, side: HandSide, kind: str) -> Marker:
    """The marker with the identity of one hand and kind, and the image's frame and stamp."""
    return Marker(
        header=Header(stamp=copy.copy(header.stamp), frame_id=header.frame_id),
        ns=marker_namespace(side, kind),
        id=marker_id(side, kind),
    )


def _draw(
    marker: Marker, side: HandSide, kind: str, marker_type: int, scale: Vector3, lifetime: Duration
) -> None:
    """Make `marker` an ADD of the given type, in the hand's colour and the kind's alpha."""
    r, g, b = HAND_RGB[side]
    marker.type = marker_type
    marker.action = Marker.ADD
    marker.pose = Pose(orientation=Quaternion(w=1.0))
    marker.scale = scale
    marker.color = ColorRGBA(r=r, g=g, b=b, a=KIND_ALPHA[kind])
    marker.lifetime = lifetime.to_msg()


def _hand_markers(
    hand: HandResult,
    header: Header,
    faces: np.ndarray | None,
    lifetime: Duration,
    kinds: Sequence[str],
) -> list[Marker]:
    markers = []
    joints = _points(hand.joints) if hand.valid else []
    for kind in kinds:
        marker = _marker(header, hand.side, kind)
        markers.append(marker)
        mesh = None if hand.vertices is None or faces is None else (hand.vertices, faces)
        if not hand.valid or (kind == "mesh" and mesh is None):
            marker.action = Marker.DELETE
        elif kind == "mesh" and mesh is not None:
            vertices = _points(mesh[0])
            marker.points = [vertices[i] for i in mesh[1].ravel().tolist()]
            # TRIANGLE_LIST points are scaled by `scale`: keep metres.
            scale = Vector3(x=1.0, y=1.0, z=1.0)
            _draw(marker, hand.side, kind, Marker.TRIANGLE_LIST, scale, lifetime)
        elif kind == "skeleton":
            marker.points = list(_BONE_ENDS(joints))
            scale = Vector3(x=SKELETON_LINE_WIDTH_M)
            _draw(marker, hand.side, kind, Marker.LINE_LIST, scale, lifetime)
        else:
            marker.points = joints
            scale = Vector3(x=JOINT_DIAMETER_M, y=JOINT_DIAMETER_M, z=JOINT_DIAMETER_M)
            _draw(marker, hand.side, kind, Marker.SPHERE_LIST, scale, lifetime)
    return markers


def hand_markers(
    result: TwoHandResult,
    header: Header,
    faces: tuple[np.ndarray, np.ndarray] | None,
    lifetime_s: float,
    kinds: Iterable[str] = KINDS,
) -> MarkerArray:
    """The markers of both hands for one image, in its frame and with its stamp.

    `faces` are the (right, left) MANO triangles, (1538, 3) vertex indices;
    without them no mesh is drawn. `lifetime_s` is how long RViz keeps a
    marker that is not refreshed (0: until deleted).
    """
    if not np.isfinite(lifetime_s) or lifetime_s < 0:
        raise ValueError(f"lifetime_s must be finite and >= 0, got {lifetime_s}")
    kinds = _checked_kinds(kinds)
    checked = (None, None) if faces is None else tuple(_checked_faces(f) for f in faces)
    lifetime = Duration(nanoseconds=round(lifetime_s * 1e9))
    markers: list[Marker] = []
    for hand, hand_faces in zip(result.hands, checked, strict=True):
        markers += _hand_markers(hand, header, hand_faces, lifetime, kinds)
    return MarkerArray(markers=markers)


def delete_all_markers(header: Header) -> MarkerArray:
    """One DELETEALL, which clears every marker on the topic (on deactivate)."""
    return MarkerArray(
        markers=[
            Marker(
                header=Header(stamp=copy.copy(header.stamp), frame_id=header.frame_id),
                action=Marker.DELETEALL,
            )
        ]
    )
