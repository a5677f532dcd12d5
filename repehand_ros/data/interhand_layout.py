"""Where InterHand2.6M's files are, and reading them as JSON with errors that say what is wrong.

Layout (v1.0, both the 5 fps and the 30 fps releases), under the dataset root:

    images/{split}/Capture{c}/{sequence}/cam{camera}/image{frame}.jpg
    annotations/{split}/InterHand2.6M_{split}_data.json
    annotations/{split}/InterHand2.6M_{split}_camera.json
    annotations/{split}/InterHand2.6M_{split}_joint_3d.json
    annotations/{split}/InterHand2.6M_{split}_MANO_NeuralAnnot.json

The older v0.0 release kept the same four files in one folder per annotation
subset instead of per split (`annotations/all/`, `annotations/human_annot/`,
`annotations/machine_annot/`); that layout is read as well when asked for a
subset or when the per-split folder is absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLITS: tuple[str, ...] = ("train", "val", "test")
ANNOTATION_SUBSETS: tuple[str, ...] = ("all", "human_annot", "machine_annot")
"""The per-subset annotation folders of the v0.0 release."""

FILE_KINDS: tuple[str, ...] = ("data", "camera", "joint_3d", "MANO_NeuralAnnot")


class InterHandLayoutError(ValueError):
    """A folder or file that is not InterHand2.6M as released: says what is missing or wrong."""


def file_name(split: str, kind: str) -> str:
    """The released name of one annotation file, e.g. InterHand2.6M_test_camera.json."""
    return f"InterHand2.6M_{split}_{kind}.json"


@dataclass(frozen=True)
class AnnotationFiles:
    """The four annotation files of one split, and the folder of its images."""

    data: Path
    camera: Path
    joint_3d: Path
    mano: Path
    images: Path


def _expected_layout(root: Path, split: str) -> str:
    names = file_name(split, "{" + ",".join(FILE_KINDS) + "}")
    return (
        f"expected {root}/annotations/{split}/{names} and images in "
        f"{root}/images/{split}/Capture*/<sequence>/cam*/"
    )


def _hint_for_root(root: Path) -> str:
    if root.name in ("annotations", "images") and (root.parent / "images").is_dir():
        return f" (pass the folder that holds annotations/ and images/: {root.parent})"
    nested = [p.parent for p in sorted(root.glob("*/annotations")) if p.is_dir()]
    if nested:
        return f" (the dataset seems to be one level down: {nested[0]})"
    return ""


def _annotation_folder(root: Path, split: str, subset: str | None) -> Path:
    """The folder holding `split`'s annotation files (see `locate_files`)."""
    annotations = root / "annotations"
    if not annotations.is_dir():
        raise InterHandLayoutError(
            f"{root} is not an InterHand2.6M folder: no annotations/ folder in it"
            f"{_hint_for_root(root)}; {_expected_layout(root, split)}"
        )
    if subset is not None:
        folder = annotations / subset
    elif (annotations / split).is_dir():
        folder = annotations / split
    elif (annotations / "all").is_dir():
        folder = annotations / "all"
    else:
        present = sorted(p.name for p in annotations.iterdir() if p.is_dir())
        raise InterHandLayoutError(
            f"no annotations for split {split!r} in {annotations}: no {split}/ folder "
            f"(v1.0 layout) nor all/ (v0.0 layout); folders there: {present or 'none'}; "
            f"{_expected_layout(root, split)}"
        )
    if not folder.is_dir():
        raise InterHandLayoutError(f"annotation folder not found: {folder}")
    return folder


def locate_files(root: str | Path, split: str, subset: str | None = None) -> AnnotationFiles:
    """The annotation files and image folder of `split` under `root`, or InterHandLayoutError.

    `subset` picks a v0.0 annotation subset folder (all, human_annot,
    machine_annot); None means the v1.0 per-split folder, falling back to
    `all` when only the v0.0 layout is there.
    """
    root = Path(root).expanduser()
    if split not in SPLITS:
        raise InterHandLayoutError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if subset is not None and subset not in ANNOTATION_SUBSETS:
        raise InterHandLayoutError(
            f"unknown annotation subset {subset!r}: expected one of {', '.join(ANNOTATION_SUBSETS)}"
        )
    if not root.exists():
        raise InterHandLayoutError(f"InterHand2.6M folder not found: {root}")
    if not root.is_dir():
        raise InterHandLayoutError(f"InterHand2.6M root {root} is a file, not a folder")
    folder = _annotation_folder(root, split, subset)
    paths = {kind: folder / file_name(split, kind) for kind in FILE_KINDS}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir())
        raise InterHandLayoutError(
            f"{folder} lacks {', '.join(missing)} (found: {', '.join(present) or 'nothing'}); "
            f"{_expected_layout(root, split)}"
        )
    images = root / "images" / split
    if not images.is_dir():
        raise InterHandLayoutError(
            f"image folder not found: {images}; {_expected_layout(root, split)}"
        )
    return AnnotationFiles(
        data=paths["data"],
        camera=paths["camera"],
        joint_3d=paths["joint_3d"],
        mano=paths["MANO_NeuralAnnot"],
        images=images,
    )


def read_json_object(path: Path, what: str) -> Mapping[str, Any]:
    """The JSON object at the top of annotation file `path` (an InterHand2.6M `what` file),
    or InterHandLayoutError saying why not."""
    try:
        with path.open("rb") as stream:
            value = json.load(stream)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InterHandLayoutError(f"{path} is not readable JSON: {error}") from error
    if not isinstance(value, Mapping):
        raise InterHandLayoutError(
            f"{path} is not an InterHand2.6M {what} file: expected a JSON object at the top, "
            f"found {type(value).__name__}"
        )
    return value


def check_keys(entry: Any, keys: Sequence[str], path: Path, what: str) -> None:
    """InterHandLayoutError unless `entry` (`what` in file `path`) is an object with `keys`."""
    if not isinstance(entry, Mapping):
        raise InterHandLayoutError(f"{path}: {what} is a {type(entry).__name__}, not an object")
    missing = [key for key in keys if key not in entry]
    if missing:
        raise InterHandLayoutError(
            f"{path}: {what} lacks {', '.join(missing)} (has: {', '.join(map(str, entry))})"
        )


__all__ = [
    "ANNOTATION_SUBSETS",
    "FILE_KINDS",
    "SPLITS",
    "AnnotationFiles",
    "InterHandLayoutError",
    "check_keys",
    "file_name",
    "locate_files",
    "read_json_object",
]
