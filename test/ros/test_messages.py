"""The generated message classes, as a fresh Python process sees them."""

from __future__ import annotations

import json
import subprocess
import sys

from repehand_ros.hands import JOINT_NAMES

INSPECT = """
import json
from repehand_ros.msg import HandMesh, HandMeshFaces, ImageBox, TwoHandMesh
print(json.dumps({
    "two_hand_mesh": TwoHandMesh.get_fields_and_field_types(),
    "hand_mesh": HandMesh.get_fields_and_field_types(),
    "faces": HandMeshFaces.get_fields_and_field_types(),
    "image_box": ImageBox.get_fields_and_field_types(),
    "constants": {
        "RIGHT": HandMesh.RIGHT, "LEFT": HandMesh.LEFT, "NUM_JOINTS": HandMesh.NUM_JOINTS,
        "NUM_VERTICES": HandMesh.NUM_VERTICES, "NUM_FACES": HandMesh.NUM_FACES,
        "MONOCULAR": HandMesh.MONOCULAR, "DEPTH": HandMesh.DEPTH,
        "DEPTH_HELD": HandMesh.DEPTH_HELD,
    },
    "depth_constants": {
        name: getattr(TwoHandMesh, name)
        for name in ("DEPTH_OFF", "DEPTH_USED", "DEPTH_UNMATCHED", "DEPTH_STALE", "DEPTH_REFUSED")
    },
    "module": TwoHandMesh.__module__,
}))
"""


def inspect_in_fresh_process() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", INSPECT], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_generated_messages_import_in_a_fresh_process_with_documented_fields():
    info = inspect_in_fresh_process()
    assert info["module"] == "repehand_ros.msg._two_hand_mesh"
    assert info["two_hand_mesh"] == {
        "header": "std_msgs/Header",
        "right": "repehand_ros/HandMesh",
        "left": "repehand_ros/HandMesh",
        "relative_translation": "geometry_msgs/Vector3",
        "crops": "sequence<repehand_ros/ImageBox, 2>",
        "backend": "string",
        "detection_ms": "float",
        "network_ms": "float",
        "mano_ms": "float",
        "total_ms": "float",
        "depth_status": "uint8",
        "depth_ms": "float",
    }
    assert info["hand_mesh"] == {
        "side": "uint8",
        "valid": "boolean",
        "confidence": "float",
        "side_confidence": "float",
        "wrist": "geometry_msgs/Pose",
        "joints": "geometry_msgs/Point[21]",
        "vertices": "sequence<float>",
        "mano_pose": "float[48]",
        "mano_shape": "float[10]",
        "keypoints_2d": "float[42]",
        "box": "repehand_ros/ImageBox",
        "placement": "uint8",
        "depth_scale": "float",
        "depth_shift": "float",
    }
    assert info["faces"] == {
        "header": "std_msgs/Header",
        "right": "sequence<uint32>",
        "left": "sequence<uint32>",
    }
    assert info["image_box"] == {k: "float" for k in ("x_min", "y_min", "x_max", "y_max")}
    assert info["constants"] == {
        "RIGHT": 0,
        "LEFT": 1,
        "NUM_JOINTS": 21,
        "NUM_VERTICES": 778,
        "NUM_FACES": 1538,
        "MONOCULAR": 0,
        "DEPTH": 1,
        "DEPTH_HELD": 2,
    }
    assert info["depth_constants"] == {
        "DEPTH_OFF": 0,
        "DEPTH_USED": 1,
        "DEPTH_UNMATCHED": 2,
        "DEPTH_STALE": 3,
        "DEPTH_REFUSED": 4,
    }


def test_message_definition_documents_the_joint_order_the_library_uses():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "msg" / "HandMesh.msg").read_text()
    assert "0 wrist" in text
    for finger in ("thumb", "index", "middle", "ring", "pinky"):
        first = JOINT_NAMES.index(f"{finger}_1")
        assert f"{first}-{first + 3} {finger}_1..{finger}_4" in text


def test_every_placement_and_depth_status_has_its_documented_constant():
    """The pipeline's enums and the messages' constants name the same things."""
    from repehand_ros.msg import HandMesh, TwoHandMesh

    from repehand_ros.pipeline.results import DepthStatus, Placement
    from repehand_ros.ros.conversions import DEPTH_STATUS_CODES, PLACEMENT_CODES

    assert set(PLACEMENT_CODES) == set(Placement)
    assert set(DEPTH_STATUS_CODES) == set(DepthStatus)
    for placement, code in PLACEMENT_CODES.items():
        assert getattr(HandMesh, placement.name) == code
    for status, code in DEPTH_STATUS_CODES.items():
        assert getattr(TwoHandMesh, f"DEPTH_{status.name}") == code
