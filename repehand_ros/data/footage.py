"""Real camera footage with a real hand, from Debian's opencv-doc package.

`right04.jpg` (640 x 480, grey): a person facing the camera holds a
chessboard with their left hand, which is at the image's right side.
`tree.avi` (320 x 240, 15 fps, about 30 s): a tree; a hand comes into view in
the last frames OpenCV decodes. Both are OpenCV sample data (Apache-2.0 and
BSD-3-Clause); they are not committed here but fetched once with
`apt-get download opencv-doc` (no root needed), and only these two files are
extracted from the package into the cache folder: `$REPEHAND_CACHE/opencv-doc`,
or `~/.cache/repehand_ros/opencv-doc`.

`python -m repehand_ros.data.footage` fetches them (scripts/setup_env.sh does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from repehand_ros.io.files import write_bytes_atomically

PACKAGE = "opencv-doc"
DATA_DIR = "./usr/share/doc/opencv-doc/examples/data/"
FILES = ("right04.jpg", "tree.avi")


class FootageUnavailableError(RuntimeError):
    """The footage is not cached and cannot be fetched here (no apt, no network, ...)."""


def cache_root() -> Path:
    """The project's cache folder: $REPEHAND_CACHE, or ~/.cache/repehand_ros."""
    return Path(os.environ.get("REPEHAND_CACHE") or Path.home() / ".cache/repehand_ros")


def cache_dir() -> Path:
    """Where the footage is kept: the `opencv-doc` folder of the cache."""
    return cache_root() / PACKAGE


def is_cached() -> bool:
    return all((cache_dir() / name).is_file() for name in FILES)


def footage_path(name: str) -> Path:
    """The cached file `name` (one of FILES), fetched first if needed.

    Raises FootageUnavailableError when it cannot be fetched.
    """
    if name not in FILES:
        raise ValueError(f"unknown footage {name!r}; known: {FILES}")
    path = cache_dir() / name
    if not path.is_file():
        fetch(cache_dir())
    return path


def fetch(directory: Path | None = None) -> Path:
    """Download opencv-doc with apt-get and extract FILES into `directory`; returns it."""
    directory = cache_dir() if directory is None else Path(directory)
    missing_tools = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing_tools:
        raise FootageUnavailableError(
            f"{' and '.join(missing_tools)} not found: the {PACKAGE} footage is fetched with "
            f"`apt-get download {PACKAGE}` (Debian/Ubuntu). Elsewhere, copy {' and '.join(FILES)} "
            f"from OpenCV's samples/data into {directory}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        download = subprocess.run(
            ["apt-get", "download", PACKAGE], cwd=tmp, capture_output=True, text=True
        )
        debs = sorted(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        if download.returncode != 0 or not debs:
            reason = download.stderr.strip().splitlines()[-1:] or ["no .deb was written"]
            raise FootageUnavailableError(
                f"`apt-get download {PACKAGE}` failed ({reason[0]}); run `apt-get update` "
                "(as root) and check the network, then try again"
            )
        _extract(debs[0], directory)
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise FootageUnavailableError(f"{debs[0].name} did not contain {missing}")
    return directory


def _extract(deb: Path, directory: Path) -> None:
    """Only FILES, each written to the cache whole (io.files: never a partial file)."""
    wanted = {DATA_DIR + name: name for name in FILES}
    with (
        subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE
        ) as unpack,
        tarfile.open(fileobj=unpack.stdout, mode="r|") as tar,
    ):
        for member in tar:
            name = wanted.get(member.name)
            source = tar.extractfile(member) if name else None
            if name and source:
                write_bytes_atomically(directory / name, source.read())


def right04_rgb() -> np.ndarray:
    """right04.jpg as RGB uint8 (it is grey; the detector wants three channels)."""
    import cv2

    path = footage_path("right04.jpg")
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise FootageUnavailableError(f"{path} cannot be read as an image")
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def tree_frames_rgb() -> list[np.ndarray]:
    """Every frame OpenCV decodes from tree.avi, RGB uint8."""
    import cv2

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


def main() -> int:
    """Fetch the footage if it is not cached; one line either way."""
    try:
        if is_cached():
            print(f"footage: {', '.join(FILES)} present in {cache_dir()}")
        else:
            print(f"footage: fetched {', '.join(FILES)} into {fetch()}")
    except FootageUnavailableError as error:
        print(f"footage: warning: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
