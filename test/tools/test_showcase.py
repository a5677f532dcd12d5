"""The main command's flow: player, node and recorder processes over real DDS, on real footage.

A few frames of Debian opencv-doc's footage (tree.avi's last frames, where a
hand comes into view, then right04.jpg, a left hand holding a chessboard)
go through `repehand showcase` with the node's keypoint backend (MediaPipe,
no weights). The bag must hold one TwoHandMesh per processed frame, stamped
as that frame; on right04 the hand must be found where it is in the image.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import uuid
from pathlib import Path

import cv2
import pytest
import yaml

from repehand_ros.data.footage import FootageUnavailableError, footage_path
from repehand_ros.ros import bags

pytestmark = [pytest.mark.dds, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
TREE_SKIP, TREE_FRAMES, STILL_FRAMES = 56, 12, 6
# Where the left hand is in right04.jpg (640 x 480), from MediaPipe's landmarks: the
# keypoints span about x 402..502, y 194..345; the box leaves a margin around them.
RIGHT04_HAND = (380.0, 170.0, 525.0, 400.0)


@pytest.fixture(scope="module")
def sources() -> list[Path]:
    try:
        return [footage_path("tree.avi"), footage_path("right04.jpg")]
    except FootageUnavailableError as error:
        pytest.skip(f"no footage: {error}")


@pytest.fixture(scope="module")
def run(sources, tmp_path_factory) -> dict:
    """One showcase run, shared by the tests below."""
    directory = tmp_path_factory.mktemp("showcase")
    values = yaml.safe_load((REPO / "config" / "hands.yaml").read_text())["/**"]["ros__parameters"]
    # Keypoints explicitly: weights a developer dropped into weights/ must not change the test.
    values.update(backend="keypoints", device="cpu", cache_dir=str(directory / "cache"))
    params = directory / "params.yaml"
    params.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))
    namespace = f"t{uuid.uuid4().hex[:8]}"
    out = directory / "out"
    command = [
        str(Path(sys.executable).with_name("repehand")), "showcase", *map(str, sources),
        "--out", str(out), "--params-file", str(params), "--namespace", namespace,
        "--skip", str(TREE_SKIP), "--limit", str(TREE_FRAMES), "--repeat", str(STILL_FRAMES),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=200, cwd=directory)
    assert result.returncode == 0, result.stdout + result.stderr
    frames = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    store = bags.typestore()
    hands = [
        (logged, store.deserialize_cdr(data, msgtype))
        for _, msgtype, logged, data in bags.read_messages(
            out / "bag", topics={f"/{namespace}/hands/hands"}
        )
    ]
    return {"out": out, "stdout": result.stdout, "frames": frames, "hands": hands, "ns": namespace}


def stamp(message) -> int:
    return message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec


def test_every_processed_frame_has_one_result_with_its_stamp(run):
    frames, hands = run["frames"], run["hands"]
    assert len(frames) == TREE_FRAMES + STILL_FRAMES
    published = {frame["stamp_ns"]: frame for frame in frames}
    stamps = [stamp(message) for _, message in hands]
    assert len(stamps) == len(set(stamps)), "a frame was answered twice"
    assert set(stamps) <= set(published), "a result with a stamp no frame had"
    assert frames[-1]["stamp_ns"] in stamps, "the last frame was never answered"
    summary = json.loads((run["out"] / "summary.json").read_text())
    assert summary["frames_processed_by_node"] == len(hands)
    assert summary["frames_received_by_node"] == len(frames)
    assert summary["frames_dropped"] == len(frames) - len(hands)
    for logged, message in hands:
        assert message.header.frame_id == published[stamp(message)]["frame_id"]
        assert message.backend == "mediapipe-keypoints"
        assert logged >= stamp(message), "received before it was taken"


def test_the_hand_in_right04_is_found_where_it_is(run):
    sources = {frame["stamp_ns"]: Path(frame["source"]).name for frame in run["frames"]}
    on_right04 = [m for _, m in run["hands"] if sources[stamp(m)] == "right04.jpg"]
    assert on_right04, "no result on right04.jpg"
    for message in on_right04:
        # right04 shows the person's left hand, and no right hand.
        assert message.left.valid and not message.right.valid
        assert len(message.left.vertices) == 0, "the keypoint backend has no mesh"
        assert len(message.left.joints) == 21
        assert all(0.1 < joint.z < 5.0 for joint in message.left.joints)
        u, v = message.left.keypoints_2d[0::2], message.left.keypoints_2d[1::2]
        x_min, y_min, x_max, y_max = RIGHT04_HAND
        assert x_min < u.min() and u.max() < x_max, u
        assert y_min < v.min() and v.max() < y_max, v
        assert 0.0 < message.left.confidence <= 1.0


def test_the_hand_coming_into_tree_avi_is_found_on_the_image(run):
    sources = {frame["stamp_ns"]: Path(frame["source"]).name for frame in run["frames"]}
    found = [
        hand
        for _, m in run["hands"]
        if sources[stamp(m)] == "tree.avi"
        for hand in (m.right, m.left)
        if hand.valid
    ]
    assert found, "no hand in tree.avi's last frames"
    for hand in found:
        assert all(math.isfinite(value) for value in hand.keypoints_2d)
        u, v = hand.keypoints_2d[0::2], hand.keypoints_2d[1::2]
        assert -40 < u.min() < u.max() < 360
        assert -40 < v.min() < v.max() < 280


def test_tf_markers_and_diagnostics_are_in_the_bag(run):
    counts = {}
    for topic, _, _, _ in bags.read_messages(run["out"] / "bag"):
        counts[topic] = counts.get(topic, 0) + 1
    ns = run["ns"]
    assert counts.get(f"/{ns}/hands/markers", 0) == len(run["hands"])
    assert counts.get("/tf", 0) >= 1
    assert counts.get("/diagnostics", 0) >= 1


def test_video_best_frame_and_summary_are_well_formed(run):
    out = run["out"]
    summary = json.loads((out / "summary.json").read_text())
    video = Path(summary["outputs"]["video"])
    assert video.is_file() and video.suffix in (".mp4", ".avi")
    capture = cv2.VideoCapture(str(video))
    decoded = 0
    ok, image = capture.read()
    while ok:
        assert image.shape == (480, 640, 3)
        decoded += 1
        ok, image = capture.read()
    capture.release()
    assert decoded >= summary["frames_in"]
    best = cv2.imread(summary["outputs"]["best_frame"])
    assert best is not None and best.shape == (480, 640, 3)
    assert summary["frames_in"] == TREE_FRAMES + STILL_FRAMES
    assert summary["hands_found"]["left"] >= 1
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["max"] < 10_000
    assert summary["backends"] == ["mediapipe-keypoints"]
    printed = json.loads(run["stdout"].strip().splitlines()[-1])
    assert printed["frames_in"] == summary["frames_in"]
    assert "hands found:" in run["stdout"] and "latency" in run["stdout"]


def test_the_same_flow_runs_repehand_on_its_test_fixtures(sources, tmp_path, mano_dir, mano_arrays):
    """RepeHand itself through the main command: plumbing, with a fixture checkpoint and MANO."""
    from fixtures.checkpoints import write_plumbing_checkpoint

    values = yaml.safe_load((REPO / "config" / "hands.yaml").read_text())["/**"]["ros__parameters"]
    values.update(
        backend="torch",
        device="cpu",
        checkpoint=str(write_plumbing_checkpoint(tmp_path / "plumbing.pth")),
        mano_dir=str(mano_dir),
        min_confidence=0.0,
        cache_dir=str(tmp_path / "cache"),
    )
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))
    namespace = f"t{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    command = [
        str(Path(sys.executable).with_name("repehand")), "showcase", str(sources[1]),
        "--out", str(out), "--params-file", str(params), "--namespace", namespace,
        "--repeat", "4",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=200, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    frames = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    store = bags.typestore()
    messages = {
        topic: [store.deserialize_cdr(data, msgtype) for _, msgtype, _, data in rows]
        for topic in (f"/{namespace}/hands/hands", f"/{namespace}/hands/faces")
        for rows in [list(bags.read_messages(out / "bag", topics={topic}))]
    }
    hands = messages[f"/{namespace}/hands/hands"]
    assert hands and {stamp(m) for m in hands} <= {f["stamp_ns"] for f in frames}
    assert all(m.backend == "repehand-5m/torch-cpu" for m in hands)
    assert any(m.left.valid for m in hands)
    for message in hands:
        if message.left.valid:
            assert len(message.left.vertices) == 778 * 3
            assert all(math.isfinite(v) for v in message.left.vertices)
    (faces,) = messages[f"/{namespace}/hands/faces"]
    assert len(faces.right) == len(faces.left) == 1538 * 3
