"""The RootNet boxes released with InterHand2.6M: the crops of the official evaluation.

The official test split is not cropped around the ground-truth joints but
around the box RootNet detected for each annotation, read from
`{root}/rootnet/rootnet_interhand2.6m_output_{split}.json` (the official
code's `annotations/../rootnet/`): a JSON list of {"annot_id", "bbox": [x, y,
w, h] image pixels, "abs_depth": [right, left] mm}. The box is used as it is:
its centre goes to the crop's centre and its width and height are each
stretched to the crop side, so a non-square box is stretched
(`repehand_ros.geometry.crop.CropTransform`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from repehand_ros.data.interhand_layout import InterHandLayoutError
from repehand_ros.geometry.boxes import Box

ROOTNET_FOLDER = "rootnet"


def rootnet_path(root: str | Path, split: str) -> Path:
    """Where the RootNet output of `split` belongs under the dataset root."""
    return Path(root).expanduser() / ROOTNET_FOLDER / f"rootnet_interhand2.6m_output_{split}.json"


def _box_from_xywh(entry: object, path: Path) -> Box:
    bbox = entry.get("bbox") if isinstance(entry, Mapping) else None
    try:
        x, y, width, height = (float(value) for value in bbox)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InterHandLayoutError(
            f"{path}: an entry has no 4-number 'bbox' [x, y, w, h]: {entry!r:.200}"
        ) from None
    if not all(map(math.isfinite, (x, y, width, height))) or width <= 0 or height <= 0:
        raise InterHandLayoutError(f"{path}: box {bbox} has no area")
    return Box(x, y, x + width, y + height)


def read_rootnet_boxes(root: str | Path, split: str) -> dict[int, Box]:
    """Annotation id -> RootNet box (image pixels) of `split`, or InterHandLayoutError
    naming the file and where it was looked for."""
    path = rootnet_path(root, split)
    if not path.is_file():
        raise InterHandLayoutError(
            f"RootNet boxes not found: looked for {path}. The official evaluation crops "
            f"with the boxes of InterHand2.6M's released RootNet output; put "
            f"{path.name} in {path.parent}/"
        )
    try:
        entries = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InterHandLayoutError(f"{path} is not readable JSON: {error}") from error
    if not isinstance(entries, list):
        raise InterHandLayoutError(
            f"{path} is not RootNet output: expected a JSON list of entries, "
            f"found {type(entries).__name__}"
        )
    boxes: dict[int, Box] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or "annot_id" not in entry:
            raise InterHandLayoutError(f"{path}: an entry has no 'annot_id': {entry!r:.200}")
        boxes[int(entry["annot_id"])] = _box_from_xywh(entry, path)
    return boxes
