"""The RepeHand network's shapes: backbone size, input size, heatmap grid.

A checkpoint holds exactly one `Architecture`, and it shows in the weights:
the variant in the feature channels C, the input size in the heatmap head's
21 x D output channels (D = input / 32), and the backbone's attention window
in its attention biases. `repehand_ros.model.checkpoint` reads all three.
"""

from __future__ import annotations

from dataclasses import dataclass

HEATMAP_STRIDE = 32
"""Input pixels per heatmap cell. TinyViT's features are 1/32 of its input, and the 3D
heatmap grid is that feature grid with as many depth cells: D = input / 32 on every axis
(the official `output_hm_shape`)."""

DEFAULT_INPUT_SIZE = 224
"""The official TinyViT networks' input (`get_tinyvit_model`), and random weights' size."""

MIN_INPUT_SIZE = 64
MAX_INPUT_SIZE = 1024

VARIANT_METADATA_KEY = "repehand_variant"
"""The metadata entry of an exported (ONNX) network that names its variant."""

ROTATION_FEATURES = 160
"""Channels R of the per-joint features sampled for the rotation regressors."""


@dataclass(frozen=True)
class Backbone:
    """One timm TinyViT model a variant can be built on.

    Attributes:
        timm_name: the timm model.
        native_size: the input size timm's model was made for.
        window: side of its stage-1 local attention window, in feature cells; a
            checkpoint shows it as window^2 columns of that stage's attention biases.
    """

    timm_name: str
    native_size: int
    window: int


@dataclass(frozen=True)
class Variant:
    """One network size.

    Attributes:
        name: the short name users pass (`"5m"`, `"11m"`, `"21m"`).
        channels: feature channels C of the backbone's last stage (the heads are sized from it).
        backbones: the timm models of this size, the 224-pixel one first (the official
            backbone table offers TinyViT-21M at 384 and 512 as well).
    """

    name: str
    channels: int
    backbones: tuple[Backbone, ...]

    def backbone_for(self, input_size: int) -> Backbone:
        """The backbone made for `input_size`, else the 224 one (TinyViT runs at any
        multiple of 32: the official code ran its 224 models at 256 too)."""
        return next((b for b in self.backbones if b.native_size == input_size), self.backbones[0])

    def backbone_with_window(self, window: int) -> Backbone | None:
        return next((b for b in self.backbones if b.window == window), None)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("5m", 320, (Backbone("tiny_vit_5m_224", 224, 7),)),
        Variant("11m", 448, (Backbone("tiny_vit_11m_224", 224, 7),)),
        Variant(
            "21m",
            576,
            (
                Backbone("tiny_vit_21m_224", 224, 7),
                Backbone("tiny_vit_21m_384", 384, 12),
                Backbone("tiny_vit_21m_512", 512, 16),
            ),
        ),
    )
}

DEFAULT_VARIANT = "5m"


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


def check_input_size(input_size: int) -> int:
    """`input_size` if the network can take it (a multiple of 32 in [64, 1024]), else ValueError."""
    if (
        isinstance(input_size, bool)
        or not isinstance(input_size, int)
        or input_size % HEATMAP_STRIDE
        or not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE
    ):
        raise ValueError(
            f"input size must be a multiple of {HEATMAP_STRIDE} in [{MIN_INPUT_SIZE}, "
            f"{MAX_INPUT_SIZE}] pixels, got {input_size!r}"
        )
    return input_size


def input_size_of_shape(shape: tuple[object, ...] | list[object], source: str) -> int:
    """The crop size S of an exported network's input shape (batch, 3, S, S), or ValueError."""
    size = shape[2] if len(shape) == 4 else None
    if not (isinstance(size, int) and shape[1] == 3 and shape[3] == size):
        raise ValueError(
            f"{source} is not a RepeHand export: its input has shape {list(shape)}, expected "
            f"(batch, 3, S, S) with a fixed crop size S"
        )
    return check_input_size(size)


@dataclass(frozen=True)
class Architecture:
    """Everything that fixes the network's tensor shapes.

    Attributes:
        variant: the backbone size and feature channels.
        input_size: side of the square RGB crop, pixels.
        backbone: the timm model the backbone is built from.
    """

    variant: Variant
    input_size: int
    backbone: Backbone

    def __post_init__(self) -> None:
        check_input_size(self.input_size)
        if self.backbone not in self.variant.backbones:
            raise ValueError(
                f"backbone {self.backbone.timm_name} is not one of variant {self.variant.name}'s"
            )

    @property
    def heatmap_size(self) -> int:
        """Cells per axis of the 3D joint heatmap (depth, height, width): input / 32."""
        return self.input_size // HEATMAP_STRIDE

    def describe(self) -> str:
        """For messages: e.g. "5m at 224 px"."""
        return f"{self.variant.name} at {self.input_size} px"


def make_architecture(
    variant: str = DEFAULT_VARIANT, input_size: int = DEFAULT_INPUT_SIZE
) -> Architecture:
    """The architecture of `variant` at `input_size`, on the backbone made for that size."""
    chosen = get_variant(variant)
    check_input_size(input_size)
    return Architecture(chosen, input_size, chosen.backbone_for(input_size))
