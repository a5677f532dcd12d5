"""The MANO triangle lists, for subscribers that have no MANO files.

Faces never change while the node runs, so they are not repeated in every
TwoHandMesh: the node publishes one HandMeshFaces on a latched topic
(reliable, transient local, depth 1). DDS keeps that message and hands it to
every subscriber that joins later with a transient-local QoS of its own.
"""

from __future__ import annotations

import array

import numpy as np
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from repehand_ros.msg import HandMeshFaces
from repehand_ros.pipeline.results import NUM_FACES, NUM_VERTICES

FACES_TOPIC = "~/faces"


def latched_qos() -> QoSProfile:
    """The QoS of the faces topic; subscribers must use it too to get the kept message."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


def _checked_faces(side: str, faces: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces)
    if faces.shape != (NUM_FACES, 3):
        raise ValueError(f"{side} faces: expected shape ({NUM_FACES}, 3), got {faces.shape}")
    if not np.issubdtype(faces.dtype, np.integer):
        raise ValueError(f"{side} faces: expected integer vertex indices, got {faces.dtype}")
    if faces.min() < 0 or faces.max() >= NUM_VERTICES:
        raise ValueError(
            f"{side} faces: vertex indices must be in [0, {NUM_VERTICES}), "
            f"got [{faces.min()}, {faces.max()}]"
        )
    return faces.astype(np.uint32)


def faces_message(right: np.ndarray, left: np.ndarray) -> HandMeshFaces:
    """A HandMeshFaces from two (1538, 3) integer arrays (the MANO files' `f`)."""
    msg = HandMeshFaces()
    msg.right = array.array("I", _checked_faces("right", right).tobytes())
    msg.left = array.array("I", _checked_faces("left", left).tobytes())
    return msg


def faces_from_message(msg: HandMeshFaces) -> tuple[np.ndarray, np.ndarray]:
    """The (1538, 3) right and left triangle arrays a HandMeshFaces carries."""
    arrays = []
    for side, flat in (("right", msg.right), ("left", msg.left)):
        faces = np.frombuffer(memoryview(flat), dtype=np.uint32)
        if faces.size != NUM_FACES * 3:
            raise ValueError(f"{side} faces: expected {NUM_FACES * 3} indices, got {faces.size}")
        arrays.append(_checked_faces(side, faces.reshape(NUM_FACES, 3).astype(np.int64)))
    return arrays[0], arrays[1]
