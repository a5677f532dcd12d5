"""Footage as a camera gives it: videos, folders, images and bags in turn, each at its pace."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures.bags import picture, write_image_bag

from repehand_ros.ros.footage import SourceError, SourceOptions, iter_frames


def write_png(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_video(path: Path, count: int, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for k in range(count):
        writer.write(cv2.cvtColor(picture(20 * k), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_video_folder_and_image_sources_in_turn(tmp_path):
    video = write_video(tmp_path / "clip.avi", 6, 12.0)
    folder = tmp_path / "folder"
    folder.mkdir()
    for k in (2, 0, 1):
        write_png(folder / f"{k:03d}.png", picture(80 + k))
    still = write_png(tmp_path / "still.png", picture(7))
    options = SourceOptions(repeat=3, skip=1, limit=4)
    frames = list(iter_frames([video, folder, still], options))
    assert [f.index for f in frames] == list(range(4 + 2 + 3))
    assert [f.source for f in frames] == [str(video)] * 4 + [str(folder)] * 2 + [str(still)] * 3
    assert all(f.period_s == pytest.approx(1 / 12, rel=1e-3) for f in frames[:4])
    assert all(f.period_s == pytest.approx(0.1) for f in frames[4:])
    assert [f.extra["file"] for f in frames[4:6]] == ["001.png", "002.png"]  # sorted, 1 skipped
    assert all(f.to_rgb().shape == (48, 64, 3) and f.stamp_ns is None for f in frames)
    assert frames[-1].to_rgb()[0, 0, 0] == 7
    with pytest.raises(SourceError, match="not found"):
        list(iter_frames([tmp_path / "missing.mp4"], options))
    (tmp_path / "not_a_video.mp4").write_text("no")
    with pytest.raises(SourceError, match="cannot open"):
        list(iter_frames([tmp_path / "not_a_video.mp4"], options))


def test_a_bag_is_played_at_its_pace_with_its_stamps(tmp_path):
    stamps = [5 * 10**9 + k * 50_000_000 for k in range(4)]
    write_image_bag(tmp_path / "bag", stamps)
    frames = list(iter_frames([tmp_path / "bag"], SourceOptions()))
    assert [f.stamp_ns for f in frames] == stamps
    assert [f.period_s for f in frames[:-1]] == pytest.approx([0.05] * 3)
    assert frames[2].to_rgb()[0, 0, 0] == 20 and frames[0].camera_info is None
