"""The hand joints as TF frames, for tf2 listeners and RViz's TF display.

Frames: one per joint of each valid hand, named `{prefix}{side}_{joint}`
(`right_wrist`, `left_index_3`, ...), all direct children of the camera's
optical frame. The result already holds every joint in that frame, so a flat
tree publishes exactly what was measured: each frame stands on its own, with
no chain of 21 transforms whose rounding adds up, and a listener reaches any
joint from the camera in one step. Tools that want the hand's kinematic chain
have it in mano.joints.BONES.

Orientation: every frame of a hand carries the hand's global orientation (the
MANO root rotation, `wrist_rotation`); finger frames are that frame moved to
the joint. The result holds no per-joint orientation in the camera frame, and
one made up from neighbouring joints would need an arbitrary roll, so the
fingers' frames say where each joint is, and their axes all agree with the
wrist's.

tf2_msgs is used when it is installed (a ROS 2 installation). The PyPI wheels
lack it, so scripts/setup_env.sh builds a stand-in from interfaces/tf2_msgs
with ROS's very definition: the same DDS type and type hash on `/tf`.
"""

from __future__ import annotations

import copy

import numpy as np
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
from std_msgs.msg import Header

from repehand_ros.geometry.rotations import quaternion_from_matrix
from repehand_ros.hands import JOINT_NAMES
from repehand_ros.pipeline.results import TwoHandResult

TF_TOPIC = "/tf"


def tf_message_type() -> type:
    """The TFMessage class of tf2_msgs, the real package or the project's stand-in."""
    try:
        from tf2_msgs.msg import TFMessage
    except ImportError as error:
        raise ImportError(
            "tf2_msgs is not installed, so TF cannot be published: source a ROS 2 "
            "installation that has it, or run scripts/setup_env.sh, which builds the "
            "stand-in in interfaces/tf2_msgs into .venv"
        ) from error
    return TFMessage


def joint_frame_name(prefix: str, side: str, joint: str) -> str:
    """The TF frame of one joint, e.g. `hand_` + `right` + `index_3`."""
    return f"{prefix}{side}_{joint}"


def joint_transforms(
    result: TwoHandResult, header: Header, prefix: str = "", parent: str | None = None
) -> list[TransformStamped]:
    """One TransformStamped per joint of each valid hand (42 at most), stamped as `header`.

    `parent` is the frame the joints are expressed in; by default the image's
    (`header.frame_id`). Give it when the camera driver stamps its images with
    a frame that is not its optical frame in the TF tree.
    """
    parent_frame = header.frame_id if parent is None else parent
    if not parent_frame:
        raise ValueError(
            "the joints' parent frame is empty: the image header has no frame_id "
            "and no parent frame was given"
        )
    transforms: list[TransformStamped] = []
    for hand in result.hands:
        if not hand.valid:
            continue
        side = hand.side.name.lower()
        x, y, z, w = quaternion_from_matrix(hand.wrist_rotation).tolist()
        for joint, (px, py, pz) in zip(
            JOINT_NAMES, hand.joints.astype(np.float64).tolist(), strict=True
        ):
            transforms.append(
                TransformStamped(
                    header=Header(stamp=copy.copy(header.stamp), frame_id=parent_frame),
                    child_frame_id=joint_frame_name(prefix, side, joint),
                    transform=Transform(
                        translation=Vector3(x=px, y=py, z=pz),
                        rotation=Quaternion(x=x, y=y, z=z, w=w),
                    ),
                )
            )
    return transforms
