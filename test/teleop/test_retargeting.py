"""ROS-free retargeting: frames, open hand against fist on the project's five-finger hand, errors.

The synthetic hands here are built in dex-retargeting's operator frame of a right hand (+z along
the fingers, +y towards the thumb, +x out of the palm) and then placed in front of a camera, so
the tests also check that the camera-frame joints are brought back into that frame.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from repehand_ros.teleop.retargeting import (
    HandRetargeter,
    RetargetingError,
    operator_frame_joints,
    wrist_frame,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONFIG = FIXTURES / "five_finger_hand.yml"
URDF = FIXTURES / "five_finger_hand.urdf"
FINGERS = ("index", "middle", "ring", "pinky")
# Knuckle (y, z) and phalanx lengths, metres: an adult hand, like the fixture URDF.
KNUCKLES = {"index": (0.027, 0.090), "middle": (0.0, 0.093), "ring": (-0.018, 0.088)}
KNUCKLES["pinky"] = (-0.035, 0.080)
PHALANGES = {
    "index": (0.045, 0.026, 0.022),
    "middle": (0.049, 0.030, 0.024),
    "ring": (0.045, 0.029, 0.023),
    "pinky": (0.036, 0.021, 0.020),
}
# Flexion of MCP, PIP and DIP in a fist, radians.
FIST_FLEXION = (1.4, 1.6, 1.0)
THUMB_OPEN = np.array([[0.01, 0.022, 0.025], [0.015, 0.055, 0.06], [0.018, 0.075, 0.085]])
THUMB_OPEN = np.vstack([THUMB_OPEN, [0.02, 0.09, 0.105]])
THUMB_CURLED = np.array([[0.01, 0.022, 0.025], [0.035, 0.03, 0.06], [0.05, 0.012, 0.08]])
THUMB_CURLED = np.vstack([THUMB_CURLED, [0.05, -0.006, 0.092]])


def rotation_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def random_rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def right_hand(curl: float) -> np.ndarray:
    """21 joints of a right hand in its operator frame: curl 0 is flat and open, 1 a fist."""
    joints = [np.zeros(3), *((1.0 - curl) * THUMB_OPEN + curl * THUMB_CURLED)]
    for finger in FINGERS:
        point = np.array([0.0, *KNUCKLES[finger]])
        joints.append(point)
        angle = 0.0
        for length, flexion in zip(PHALANGES[finger], FIST_FLEXION, strict=True):
            angle += curl * flexion  # towards +x, the palm side
            point = point + rotation_y(angle) @ np.array([0.0, 0.0, length])
            joints.append(point)
    return np.stack(joints)


def in_camera(joints: np.ndarray, seed: int = 3) -> np.ndarray:
    """The hand turned and placed 0.5 m in front of the camera (optical frame)."""
    return joints @ random_rotation(seed).T + np.array([0.08, -0.04, 0.5])


def flexion(retargeter: HandRetargeter, positions: np.ndarray, finger: str) -> float:
    names = [f"{finger}_{joint}" for joint in ("mcp", "pip", "dip")]
    if finger == "thumb":
        names = ["thumb_cmc_flexion", "thumb_mcp", "thumb_ip"]
    return float(sum(positions[retargeter.joint_names.index(name)] for name in names))


def settle(retargeter: HandRetargeter, joints: np.ndarray, frames: int = 3) -> np.ndarray:
    """The output after the same hand was seen for a few frames (warm start, low-pass filter)."""
    for _ in range(frames):
        positions = retargeter.retarget(joints)
    return positions


@pytest.fixture(scope="module")
def retargeter() -> HandRetargeter:
    return HandRetargeter(CONFIG, URDF, "right")


def test_camera_joints_come_back_in_the_operator_frame_whatever_the_pose():
    hand = right_hand(0.3)  # middle_1 on +z, index_1 in the y-z plane: the frame's own axes
    for seed in range(5):
        camera = in_camera(hand, seed)
        np.testing.assert_allclose(operator_frame_joints(camera, "right"), hand, atol=1e-9)
        frame = wrist_frame(camera)
        np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)
        assert np.linalg.det(frame) == pytest.approx(1.0)


def test_a_left_hand_comes_back_mirrored_as_dex_urdf_left_hands_are_built():
    mirror = np.diag([1.0, -1.0, 1.0])
    left = right_hand(0.3) @ mirror  # thumb towards -y
    np.testing.assert_allclose(operator_frame_joints(in_camera(left), "left"), left, atol=1e-9)


def test_the_retargeter_exposes_the_robot_joints_and_the_config(retargeter):
    assert len(retargeter.joint_names) == 20
    assert {"index_mcp", "thumb_ip", "pinky_dip"} <= set(retargeter.joint_names)
    assert retargeter.retargeting_type == "VECTOR"
    assert retargeter.human_indices.tolist() == [[0, 0, 0, 0, 0], [4, 8, 12, 16, 20]]
    assert retargeter.joint_limits.shape == (20, 2)
    assert retargeter.urdf_path == URDF


def test_a_fist_flexes_every_finger_far_more_than_an_open_hand(retargeter):
    retargeter.reset()
    open_hand = settle(retargeter, in_camera(right_hand(0.0)))
    retargeter.reset()
    fist = settle(retargeter, in_camera(right_hand(1.0)))
    for positions in (open_hand, fist):
        assert positions.shape == (20,)
        assert (positions >= retargeter.joint_limits[:, 0]).all()
        assert (positions <= retargeter.joint_limits[:, 1]).all()
    for finger in FINGERS:
        assert flexion(retargeter, open_hand, finger) < 1.0, finger
        assert flexion(retargeter, fist, finger) > 3.0, finger
    assert flexion(retargeter, fist, "thumb") > flexion(retargeter, open_hand, "thumb") + 0.5


def test_closing_the_hand_flexes_the_fingers_step_by_step(retargeter):
    retargeter.reset()
    totals = [
        sum(flexion(retargeter, settle(retargeter, in_camera(right_hand(c))), f) for f in FINGERS)
        for c in (0.0, 0.5, 1.0)
    ]
    assert totals[0] + 2.0 < totals[1] < totals[2] - 2.0


def test_the_same_hand_seen_from_another_camera_pose_gives_the_same_joints(retargeter):
    retargeter.reset()
    first = settle(retargeter, in_camera(right_hand(0.6), seed=1), frames=6)
    retargeter.reset()
    second = settle(retargeter, in_camera(right_hand(0.6), seed=2), frames=6)
    np.testing.assert_allclose(first, second, atol=1e-3)


@pytest.mark.parametrize(
    ("joints", "message"),
    [
        (np.full((21, 3), np.nan), "not finite"),
        (np.zeros((20, 3)), "(21, 3)"),
        (np.zeros((21, 3)), "no palm"),
    ],
)
def test_bad_joints_are_refused_clearly(retargeter, joints, message):
    with pytest.raises(RetargetingError, match=re.escape(message)):
        retargeter.retarget(joints)


def test_one_nan_joint_is_named():
    joints = in_camera(right_hand(0.0))
    joints[12, 1] = np.nan
    with pytest.raises(RetargetingError, match=r"joints \[12\] are not finite"):
        operator_frame_joints(joints, "right")


def test_a_missing_config_is_named(tmp_path):
    with pytest.raises(RetargetingError, match=r"retargeting config not found: .*nothing\.yml"):
        HandRetargeter(tmp_path / "nothing.yml", URDF)


def test_a_missing_urdf_is_named_with_what_to_pass(tmp_path):
    with pytest.raises(RetargetingError, match=r"URDF not found: .*missing\.urdf"):
        HandRetargeter(CONFIG, tmp_path / "missing.urdf")
    config = tmp_path / "allegro.yml"
    config.write_text(CONFIG.read_text().replace("five_finger_hand.urdf", "allegro/right.urdf"))
    with pytest.raises(RetargetingError, match=r"allegro/right\.urdf.*dex-urdf"):
        HandRetargeter(config)
    with pytest.raises(RetargetingError, match="looked in directory"):
        HandRetargeter(config, tmp_path)


def test_the_urdf_may_be_given_as_the_directory_the_config_names_it_in(tmp_path):
    (tmp_path / "hands").mkdir()
    shutil.copy(URDF, tmp_path / "hands" / "five_finger_hand.urdf")
    config = tmp_path / "configs" / "hand.yml"
    config.parent.mkdir()
    config.write_text(CONFIG.read_text())
    retargeter = HandRetargeter(config, tmp_path / "hands")
    assert retargeter.urdf_path == (tmp_path / "hands" / "five_finger_hand.urdf").resolve()


def test_a_config_whose_urdf_does_not_load_says_so(tmp_path):
    broken = tmp_path / "broken.urdf"
    broken.write_text("<robot name='broken'><link name='palm'>")
    with pytest.raises(RetargetingError, match=r"cannot build the retargeter .*broken\.urdf"):
        HandRetargeter(CONFIG, broken)
    wrong_links = tmp_path / "wrong_links.yml"
    wrong_links.write_text(CONFIG.read_text().replace('"thumb_tip"', '"thumb_nail"'))
    with pytest.raises(RetargetingError, match="thumb_nail"):
        HandRetargeter(wrong_links, URDF)


def test_a_config_that_is_not_dex_retargeting_yaml_says_so(tmp_path):
    config = tmp_path / "other.yml"
    config.write_text("robot: allegro\n")
    with pytest.raises(RetargetingError, match="no 'retargeting:' section"):
        HandRetargeter(config, URDF)
    config.write_text("retargeting:\n  type: teleport\n  urdf_path: x.urdf\n")
    with pytest.raises(RetargetingError, match="invalid retargeting config"):
        HandRetargeter(config, URDF)
    with pytest.raises(RetargetingError, match="side must be"):
        HandRetargeter(CONFIG, URDF, side="both")


def test_the_retarget_subcommand_parses_and_reports_a_missing_config_as_one_line(tmp_path):
    from repehand_ros.tools.command import CommandError
    from repehand_ros.tools.retarget import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["retarget", "--config", str(tmp_path / "x.yml"), "--side", "left"])
    assert (args.side, args.urdf, args.accepts_ros_args) == ("left", None, True)
    with pytest.raises(CommandError, match="retargeting config not found"):
        args.func(args)
