"""PNG, OBJ and video files: complete or absent, never half-written."""

from __future__ import annotations

import cv2
import numpy as np

from repehand_ros.io.files import PARTIAL_MARK
from repehand_ros.io.writers import VideoFile, obj_bytes, write_obj, write_png


def test_obj_is_one_based_with_its_comment(tmp_path):
    vertices = np.array([[0.0, 0.0, 0.5], [0.1, 0.0, 0.5], [0.0, 0.1, 0.5]])
    text = obj_bytes(vertices, np.array([[0, 1, 2]]), "a hand\nmetres").decode()
    assert text.splitlines() == [
        "# a hand",
        "# metres",
        "v 0.000000 0.000000 0.500000",
        "v 0.100000 0.000000 0.500000",
        "v 0.000000 0.100000 0.500000",
        "f 1 2 3",
    ]
    path = write_obj(tmp_path / "hand.obj", vertices, np.array([[0, 1, 2]]))
    assert path.read_text().count("\nf ") == 1


def test_png_round_trips_rgb(tmp_path):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    path = write_png(tmp_path / "image.png", rgb)
    assert cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)[0, 0].tolist() == [200, 0, 0]


def test_a_video_appears_only_when_closed_and_not_at_all_without_frames(tmp_path):
    with VideoFile(tmp_path / "clip", 10.0, 64, 48) as video:
        for value in (0, 100, 200):
            video.write(np.full((48, 64, 3), value, dtype=np.uint8))
        assert not video.path.exists()
        assert [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]
    assert video.path.is_file() and video.path.stem == "clip"
    capture = cv2.VideoCapture(str(video.path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == 3
    with VideoFile(tmp_path / "empty", 10.0, 64, 48) as empty:
        pass
    assert not empty.path.exists()
    assert not [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name]
