"""Results of the ROS-free pipeline to and from repehand_ros messages.

One function per direction. The header is the caller's: the node copies the
source image's header (stamp and optical frame) into every TwoHandMesh.
"""

from __future__ import annotations

import array
from typing import TypeVar

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from std_msgs.msg import Header

from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.rotations import matrix_from_quaternion, quaternion_from_matrix
from repehand_ros.hands import HandSide
from repehand_ros.msg import HandMesh, ImageBox, TwoHandMesh
from repehand_ros.pipeline.results import (
    NUM_VERTICES,
    DepthStatus,
    HandResult,
    Placement,
    StageTimes,
    TwoHandResult,
)

PLACEMENT_CODES: dict[Placement, int] = {
    Placement.MONOCULAR: HandMesh.MONOCULAR,
    Placement.DEPTH: HandMesh.DEPTH,
    Placement.DEPTH_HELD: HandMesh.DEPTH_HELD,
}
"""HandMesh.placement of each Placement."""
DEPTH_STATUS_CODES: dict[DepthStatus, int] = {
    DepthStatus.OFF: TwoHandMesh.DEPTH_OFF,
    DepthStatus.USED: TwoHandMesh.DEPTH_USED,
    DepthStatus.UNMATCHED: TwoHandMesh.DEPTH_UNMATCHED,
    DepthStatus.STALE: TwoHandMesh.DEPTH_STALE,
    DepthStatus.REFUSED: TwoHandMesh.DEPTH_REFUSED,
}
"""TwoHandMesh.depth_status of each DepthStatus."""


Code = TypeVar("Code", Placement, DepthStatus)


def _decoded(codes: dict[Code, int], value: int, what: str) -> Code:
    """The key of `codes` whose message constant is `value`; ValueError for another value."""
    for key, code in codes.items():
        if code == value:
            return key
    raise ValueError(f"{what} {value} is none of {sorted(codes.values())}")


def _float32(value: float) -> float:
    """Round to float32 now, so a message holds exactly what it will send."""
    return float(np.float32(value))


def image_box_from_box(box: Box | None) -> ImageBox:
    """An ImageBox; all zeros stands for "no box"."""
    if box is None:
        return ImageBox()
    return ImageBox(
        x_min=_float32(box.x_min),
        y_min=_float32(box.y_min),
        x_max=_float32(box.x_max),
        y_max=_float32(box.y_max),
    )


def box_from_image_box(msg: ImageBox) -> Box | None:
    values = (msg.x_min, msg.y_min, msg.x_max, msg.y_max)
    if not any(values):
        return None
    return Box(*values)


def hand_mesh_from_result(hand: HandResult, with_vertices: bool = True) -> HandMesh:
    """A HandMesh for one hand; vertices are left empty when not wanted or not known."""
    msg = HandMesh(side=int(hand.side), valid=hand.valid)
    if not hand.valid:
        return msg
    msg.confidence = _float32(hand.confidence)
    msg.side_confidence = _float32(hand.side_confidence)
    x, y, z, w = quaternion_from_matrix(hand.wrist_rotation)
    position = hand.wrist_position.astype(np.float64)
    msg.wrist = Pose(
        position=Point(x=position[0], y=position[1], z=position[2]),
        orientation=Quaternion(x=x, y=y, z=z, w=w),
    )
    msg.joints = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in hand.joints]
    if with_vertices and hand.vertices is not None:
        msg.vertices = array.array("f", np.ascontiguousarray(hand.vertices).tobytes())
    msg.mano_pose = hand.mano_pose.copy()
    msg.mano_shape = hand.mano_shape.copy()
    msg.keypoints_2d = hand.keypoints_2d.reshape(-1).copy()
    msg.box = image_box_from_box(hand.box)
    msg.placement = PLACEMENT_CODES[hand.placement]
    msg.depth_scale = _float32(hand.depth_scale)
    msg.depth_shift = _float32(hand.depth_shift_m)
    return msg


def hand_result_from_mesh(msg: HandMesh) -> HandResult:
    """The HandResult a HandMesh carries; raises ValueError on a malformed message. The
    depth fit's details (`depth_fit`) are not in the message: None."""
    side = HandSide(msg.side)
    if not msg.valid:
        return HandResult(side=side)
    vertices = None
    if len(msg.vertices):
        flat = np.frombuffer(memoryview(msg.vertices), dtype=np.float32)
        if flat.size != NUM_VERTICES * 3:
            raise ValueError(
                f"{side.name.lower()} hand: vertices must hold {NUM_VERTICES * 3} floats "
                f"(778 x, y, z), got {flat.size}"
            )
        vertices = flat.reshape(NUM_VERTICES, 3).copy()
    orientation = msg.wrist.orientation
    position = msg.wrist.position
    return HandResult(
        side=side,
        valid=True,
        confidence=msg.confidence,
        side_confidence=msg.side_confidence,
        joints=np.array([(p.x, p.y, p.z) for p in msg.joints], dtype=np.float32),
        vertices=vertices,
        wrist_rotation=matrix_from_quaternion(
            np.array([orientation.x, orientation.y, orientation.z, orientation.w])
        ),
        wrist_position=np.array([position.x, position.y, position.z]),
        mano_pose=np.asarray(msg.mano_pose),
        mano_shape=np.asarray(msg.mano_shape),
        keypoints_2d=np.asarray(msg.keypoints_2d).reshape(-1, 2),
        box=box_from_image_box(msg.box),
        placement=_decoded(PLACEMENT_CODES, msg.placement, f"{side.name.lower()} placement"),
        depth_scale=msg.depth_scale,
        depth_shift_m=msg.depth_shift,
    )


def two_hand_mesh_from_result(
    result: TwoHandResult, header: Header, with_vertices: bool = True
) -> TwoHandMesh:
    """The TwoHandMesh for one image, stamped with that image's header."""
    translation = result.relative_translation.astype(np.float64)
    return TwoHandMesh(
        header=header,
        right=hand_mesh_from_result(result.right, with_vertices),
        left=hand_mesh_from_result(result.left, with_vertices),
        relative_translation=Vector3(x=translation[0], y=translation[1], z=translation[2]),
        crops=[image_box_from_box(box) for box in result.crops],
        backend=result.backend,
        detection_ms=_float32(result.times.detection_ms),
        network_ms=_float32(result.times.network_ms),
        mano_ms=_float32(result.times.mano_ms),
        total_ms=_float32(result.times.total_ms),
        depth_status=DEPTH_STATUS_CODES[result.depth_status],
        depth_ms=_float32(result.times.depth_ms),
    )


def two_hand_result_from_mesh(msg: TwoHandMesh) -> TwoHandResult:
    """The TwoHandResult a TwoHandMesh carries (the header is the caller's to read)."""
    translation = msg.relative_translation
    crops = tuple(box for box in map(box_from_image_box, msg.crops) if box is not None)
    return TwoHandResult(
        right=hand_result_from_mesh(msg.right),
        left=hand_result_from_mesh(msg.left),
        relative_translation=np.array([translation.x, translation.y, translation.z]),
        crops=crops,
        backend=msg.backend,
        times=StageTimes(
            detection_ms=msg.detection_ms,
            network_ms=msg.network_ms,
            mano_ms=msg.mano_ms,
            total_ms=msg.total_ms,
            depth_ms=msg.depth_ms,
        ),
        depth_status=_decoded(DEPTH_STATUS_CODES, msg.depth_status, "depth_status"),
    )
