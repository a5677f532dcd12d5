"""Frame sources: an image, a folder, a video, each with its frames' names and timing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from repehand_ros.io.frames import (
    FOLDER,
    IMAGE,
    IMAGE_SUFFIXES,
    VIDEO,
    FrameInput,
    SourceError,
    VideoSource,
    image_frames,
    repeated_image,
    source_kind,
    window,
)


def picture(value: int, width: int = 64, height: int = 48) -> np.ndarray:
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:, :, 0] = value
    return rgb


def write_image(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_video(path: Path, count: int, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for k in range(count):
        writer.write(cv2.cvtColor(picture(20 * k), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_one_suffix_list_with_pgm():
    assert {".pgm", ".ppm", ".png", ".jpg"} <= IMAGE_SUFFIXES


def test_a_folder_gives_its_images_by_name_and_an_unreadable_one_says_why(tmp_path):
    write_image(tmp_path / "b.png", picture(2))
    assert cv2.imwrite(str(tmp_path / "a.pgm"), picture(1)[:, :, 0])
    write_image(tmp_path / "a.png", picture(3))
    (tmp_path / "c.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("not an image")
    with FrameInput(tmp_path) as source:
        assert source.kind == FOLDER and source.count == 4 and source.size is None
        frames = list(source.frames())
    assert [f.source for f in frames] == ["a.pgm", "a.png", "b.png", "c.jpg"]
    assert [f.name for f in frames] == ["a_pgm", "a_png", "b", "c"]
    assert frames[0].rgb.shape == (48, 64, 3) and frames[2].rgb[0, 0, 0] == 2
    assert frames[3].rgb is None and "cannot read image" in frames[3].error
    assert [f.time_s for f in frames] == [0.0, 1.0, 2.0, 3.0]


def test_a_video_is_timed_at_its_frame_rate(tmp_path):
    path = write_video(tmp_path / "clip.avi", 5, 12.0)
    assert source_kind(path) == VIDEO
    with FrameInput(path) as source:
        assert (source.kind, source.size, source.unit) == (VIDEO, (64, 48), "frame")
        assert source.fps == pytest.approx(12.0)
        frames = list(source.frames())
    assert [f.name for f in frames] == [f"{k:06d}" for k in range(5)]
    assert frames[3].source == "frame 3" and frames[3].time_s == pytest.approx(0.25)
    assert all(f.period_s == pytest.approx(1 / 12) for f in frames)
    with VideoSource(path) as video:
        assert [f.period_s for f in video.frames(fps=10.0)][:1] == [0.1]


def test_an_image_is_checked_when_opened_and_can_be_repeated(tmp_path):
    still = write_image(tmp_path / "still.png", picture(7, 32, 24))
    source = FrameInput(still)
    assert (source.kind, source.size, source.stem) == (IMAGE, (32, 24), "still")
    frames = list(repeated_image(still, 3, 0.5))
    assert [f.time_s for f in frames] == [0.0, 0.5, 1.0] and frames[2].rgb[0, 0, 0] == 7
    assert [f.index for f in window(image_frames([still] * 6), skip=1, limit=3)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("missing.jpg", None, "input not found"),
        ("broken.jpg", b"\xff\xd8 not really", "cannot read image"),
        ("broken.mp4", b"\x00" * 64, "cannot read video"),
        ("notes.dat", b"hello", "neither an image nor a video"),
        ("", None, "no images in folder"),
    ],
)
def test_a_bad_source_is_one_clear_error(tmp_path, name, data, message):
    folder = tmp_path / "inputs"
    folder.mkdir()
    path = folder / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        FrameInput(path)
