"""Footage with the node's answers: a frame per period shown, the best answer's frame kept."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np

from repehand_ros.visualization.answered_video import draw_answer, write_answered_video


def hand(valid: bool, confidence: float = 0.0) -> SimpleNamespace:
    keypoints = np.stack([np.linspace(10, 50, 21), np.linspace(10, 40, 21)], axis=1).reshape(-1)
    return SimpleNamespace(
        valid=valid, confidence=confidence, keypoints_2d=keypoints, vertices=np.zeros(0)
    )


def answer(left: float | None) -> SimpleNamespace:
    return SimpleNamespace(
        right=hand(False), left=hand(left is not None, left or 0.0), backend="test"
    )


def test_each_frame_is_shown_as_long_as_it_was_and_the_best_one_is_kept(tmp_path):
    rgb = np.full((48, 64, 3), 40, dtype=np.uint8)
    frames = [
        SimpleNamespace(rgb=rgb, period_s=0.1, label="frame 0", answer=None),
        SimpleNamespace(rgb=rgb, period_s=0.3, label="frame 1", answer=answer(0.9)),
        SimpleNamespace(rgb=rgb, period_s=0.1, label="frame 2", answer=answer(0.5)),
    ]
    video, best = write_answered_video(
        frames, tmp_path / "hands", (128, 96), 10.0, tmp_path / "b.png"
    )
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == 5  # 0.5 s at 10 frames per second
    assert best == tmp_path / "b.png"
    np.testing.assert_array_equal(
        cv2.cvtColor(cv2.imread(str(best)), cv2.COLOR_BGR2RGB),
        cv2.resize(draw_answer(rgb, "frame 1", answer(0.9)), (128, 96)),
    )
    assert np.all(rgb == 40), "the footage itself is not drawn on"


def test_no_hand_found_leaves_no_best_frame(tmp_path):
    frames = [
        SimpleNamespace(rgb=np.zeros((48, 64, 3), np.uint8), period_s=0.1, label="0", answer=None)
    ]
    video, best = write_answered_video(
        frames, tmp_path / "hands", (64, 48), 10.0, tmp_path / "b.png"
    )
    assert video.is_file() and best is None and not (tmp_path / "b.png").exists()
