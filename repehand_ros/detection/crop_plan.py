"""Hands apart: one crop around both hands, or one crop per hand.

The network was trained on one square crop around both hands' boxes,
enlarged 1.25 (geometry.crop), and warped to its input size. When the hands are far apart
that crop is mostly the space between them, and each hand shrinks to a few
pixels of the input; users of other two-hand models report exactly this
failure. So when one crop would leave either hand smaller than
`MIN_HAND_FRACTION` of the crop side, each hand gets its own crop, the
network runs on both in one batch, and from each crop the reconstructor
takes the hand the crop is centred on (the relative translation then comes
from placing each hand in the camera frame, not from the network).

Why 0.35 (chosen, not yet measured on this network): a hand's box alone in
its own crop covers 1 / 1.25 = 80 % of the side, and two hands side by side
in a shared crop cover about 40 % each, so 0.35 lets every pose of close or
interacting hands share a crop and splits only hands clearly apart. At 0.35
a hand's box is still 35 % of the input (78 pixels, 2.4 heatmap cells, at
224) across; much smaller and its fingers fall between heatmap cells. A
split costs a second image in the batch and the network's relative translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from repehand_ros.detection.box_ops import longer_side
from repehand_ros.geometry.boxes import Box
from repehand_ros.geometry.crop import CROP_EXTENSION, crop_box_around
from repehand_ros.hands import HandSide

MIN_HAND_FRACTION = 0.35
"""Smallest share of the crop side a hand's longer side may cover in a shared crop."""


@dataclass(frozen=True)
class PlannedCrop:
    """A square box of the image (pixels) and the hand(s) to take from its network output."""

    box: Box
    sides: tuple[HandSide, ...]

    def input_size_of(self, hand_box: Box, input_size: int) -> float:
        """A hand's longer side in network-input pixels once this crop is warped to the input."""
        return longer_side(hand_box) / longer_side(self.box) * input_size


@dataclass(frozen=True)
class CropPlan:
    """The crops for one frame: none, one around both hands, or one per hand."""

    crops: tuple[PlannedCrop, ...]

    @property
    def shared(self) -> bool:
        """True when one crop holds both hands, so the network's relative translation holds."""
        return len(self.crops) == 1 and len(self.crops[0].sides) == 2

    def crop_for(self, side: HandSide) -> PlannedCrop | None:
        return next((crop for crop in self.crops if side in crop.sides), None)


def plan_crops(
    hand_boxes: Mapping[HandSide, Box],
    min_hand_fraction: float = MIN_HAND_FRACTION,
    scale: float = CROP_EXTENSION,
) -> CropPlan:
    """Decide the crops for the hands found (`hand_boxes`: side to its box, pixels).

    Both hands share one crop when each covers at least `min_hand_fraction`
    of its side; otherwise, and for a single hand, each hand has its own.
    Hand boxes without area (a point) are grown to one pixel first.
    """
    if not 0.0 <= min_hand_fraction <= 1.0:
        raise ValueError(f"min_hand_fraction must be in [0, 1], got {min_hand_fraction}")
    boxes = {side: _at_least_a_pixel(hand_boxes[side]) for side in HandSide if side in hand_boxes}
    if len(boxes) == 2:
        shared = crop_box_around(list(boxes.values()), scale)
        smallest = min(longer_side(box) for box in boxes.values())
        if smallest >= min_hand_fraction * longer_side(shared):
            return CropPlan((PlannedCrop(shared, tuple(boxes)),))
    return CropPlan(
        tuple(PlannedCrop(crop_box_around([box], scale), (side,)) for side, box in boxes.items())
    )


def _at_least_a_pixel(box: Box) -> Box:
    cx, cy = box.center
    half_w, half_h = max(box.width, 1.0) / 2, max(box.height, 1.0) / 2
    return Box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)


CROP_HYSTERESIS = 0.05
"""Hands that shared a crop split only below MIN_HAND_FRACTION minus this, and hands cropped
apart join only above it plus this: boxes from the detector and from the tracker differ a
little, and hands near the threshold must not flip between one crop and two (which would
also switch how their relative translation is found)."""


class CropPlanner:
    """`plan_crops` frame after frame, with hysteresis around MIN_HAND_FRACTION."""

    def __init__(
        self, min_hand_fraction: float = MIN_HAND_FRACTION, hysteresis: float = CROP_HYSTERESIS
    ) -> None:
        self.min_hand_fraction = min_hand_fraction
        self.hysteresis = hysteresis
        self._shared = False

    def plan(self, hand_boxes: Mapping[HandSide, Box]) -> CropPlan:
        """This frame's crops; whether two hands shared one last time shifts the threshold."""
        margin = -self.hysteresis if self._shared else self.hysteresis
        plan = plan_crops(hand_boxes, min_hand_fraction=self.min_hand_fraction + margin)
        if len(hand_boxes) == 2:
            self._shared = plan.shared
        return plan

    def reset(self) -> None:
        self._shared = False
