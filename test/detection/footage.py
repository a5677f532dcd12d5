"""Real camera footage for the detection tests, from Debian's opencv-doc package.

`right04.jpg` (640 x 480, grey): a person facing the camera holds a
chessboard with their left hand, which is at the image's right side.
`tree.avi` (320 x 240): a tree; a hand comes into view in the last frames
OpenCV decodes. Fetched once with `apt-get download` (no root needed) and
cached in $REPEHAND_CACHE or ~/.cache/repehand_ros/opencv-doc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

PACKAGE = "opencv-doc"
DATA_DIR = "./usr/share/doc/opencv-doc/examples/data/"
FILES = ("right04.jpg", "tree.avi")


def cache_dir() -> Path:
    return Path(os.environ.get("REPEHAND_CACHE") or Path.home() / ".cache/repehand_ros/opencv-doc")


def footage_path(name: str) -> Path:
    """The cached file `name` (one of FILES), fetched first if needed."""
    if name not in FILES:
        raise ValueError(f"unknown footage {name!r}; known: {FILES}")
    path = cache_dir() / name
    if not path.is_file():
        _fetch(cache_dir())
    return path


def _fetch(directory: Path) -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip(f"apt-get and dpkg-deb are needed to fetch {PACKAGE} footage")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        download = subprocess.run(
            ["apt-get", "download", PACKAGE], cwd=tmp, capture_output=True, text=True
        )
        debs = list(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        if download.returncode != 0 or not debs:
            raise RuntimeError(
                f"`apt-get download {PACKAGE}` failed (try `apt-get update`): {download.stderr}"
            )
        wanted = {DATA_DIR + name: name for name in FILES}
        with (
            subprocess.Popen(
                ["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE
            ) as unpack,
            tarfile.open(fileobj=unpack.stdout, mode="r|") as tar,
        ):
            for member in tar:
                name = wanted.get(member.name)
                source = tar.extractfile(member) if name else None
                if name and source:
                    partial = Path(tmp) / name
                    partial.write_bytes(source.read())
                    os.replace(partial, directory / name)
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"{PACKAGE} did not contain {missing}")


def right04_rgb() -> np.ndarray:
    """right04.jpg as RGB uint8 (it is grey; the detector wants three channels)."""
    grey = cv2.imread(str(footage_path("right04.jpg")), cv2.IMREAD_GRAYSCALE)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def tree_frames_rgb() -> list[np.ndarray]:
    """Every frame OpenCV decodes from tree.avi, RGB uint8."""
    capture = cv2.VideoCapture(str(footage_path("tree.avi")))
    frames = []
    try:
        ok, frame = capture.read()
        while ok:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            ok, frame = capture.read()
    finally:
        capture.release()
    return frames
