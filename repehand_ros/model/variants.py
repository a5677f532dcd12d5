"""The RepeHand network sizes: each is a timm TinyViT backbone and its feature width."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One network size.

    Attributes:
        name: the short name users pass (`"5m"`, `"11m"`, `"21m"`).
        timm_name: the timm model that provides the backbone.
        channels: feature channels C of the backbone's last stage (the heads are sized from it).
    """

    name: str
    timm_name: str
    channels: int


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("5m", "tiny_vit_5m_224", 320),
        Variant("11m", "tiny_vit_11m_224", 448),
        Variant("21m", "tiny_vit_21m_224", 576),
    )
}

DEFAULT_VARIANT = "5m"

INPUT_SIZE = 224
"""Side of the square RGB crop the network takes, in pixels."""

HEATMAP_SIZE = 7
"""Cells per axis of the 3D joint heatmap (depth, height, width): the input size / 32."""

ROTATION_FEATURES = 160
"""Channels R of the per-joint features sampled for the rotation regressors."""


def get_variant(name: str) -> Variant:
    """The variant called `name`, or a ValueError listing the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join(VARIANTS)
        raise ValueError(f"unknown RepeHand variant {name!r}: expected one of {known}") from None


def variant_for_channels(channels: int) -> Variant | None:
    """The variant whose backbone has `channels` output channels, if any."""
    return next((v for v in VARIANTS.values() if v.channels == channels), None)
