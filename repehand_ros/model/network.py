"""The RepeHand network: TinyViT features -> IHPE -> joint heatmaps -> MANO parameters."""

from __future__ import annotations

import torch
from torch import nn

from repehand_ros.model.backbone import TinyViTBackbone
from repehand_ros.model.heads import HandParameterHead, JointLocalizer, RelativeTranslationHead
from repehand_ros.model.ihpe import IHPE
from repehand_ros.model.outputs import RepeHandOutput
from repehand_ros.model.variants import (
    DEFAULT_INPUT_SIZE,
    DEFAULT_VARIANT,
    ROTATION_FEATURES,
    Architecture,
    make_architecture,
)


class ModelInputError(ValueError):
    """The images given to the network are not what it was trained on."""


def validate_images(images: object, input_size: int = DEFAULT_INPUT_SIZE) -> None:
    """Refuses anything but a float tensor (B, 3, S, S), S = `input_size`, values in [0, 1].

    A wrong input does not crash the network: it silently gives garbage
    hands, so it is caught here with a message naming what was expected.
    The value checks cost one min/max reduction (one device sync on a GPU).
    """
    expected = f"a float tensor (B, 3, {input_size}, {input_size}), RGB in [0, 1]"
    if not isinstance(images, torch.Tensor):
        raise ModelInputError(f"expected {expected}, got {type(images).__name__}")
    if images.ndim != 4 or tuple(images.shape[1:]) != (3, input_size, input_size):
        hint = " (add a batch dimension with images[None])" if images.ndim == 3 else ""
        raise ModelInputError(f"expected {expected}, got shape {tuple(images.shape)}{hint}")
    if images.shape[0] == 0:
        raise ModelInputError(f"expected {expected}, got an empty batch")
    if not images.is_floating_point():
        hint = " (divide uint8 images by 255)" if images.dtype == torch.uint8 else ""
        raise ModelInputError(f"expected {expected}, got dtype {images.dtype}{hint}")
    low, high = (float(v) for v in torch.aminmax(images.detach()))
    if low != low or high != high:  # NaN compares unequal to itself
        raise ModelInputError(f"expected {expected}, got NaN values")
    if low < 0.0 or high > 1.0:
        hint = " (looks like 0..255: divide by 255)" if high > 1.0 and high <= 255.0 else ""
        raise ModelInputError(f"expected {expected}, got values in [{low:.4g}, {high:.4g}]{hint}")


class RepeHandNet(nn.Module):
    """Both hands' MANO parameters and joints from one square RGB crop.

    Right and left mean what the official model means by them; see
    `repehand_ros.model.ihpe` for the official stream-naming quirk this
    implementation keeps. The crop's size is the architecture's (224 for the
    official TinyViT networks); the heatmap grid is a 32nd of it.
    """

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT,
        input_size: int = DEFAULT_INPUT_SIZE,
        architecture: Architecture | None = None,
    ) -> None:
        """`architecture`, when given, replaces `variant` and `input_size` (a checkpoint's
        own, which may name a backbone other than the one made for its size)."""
        super().__init__()
        self.architecture = architecture or make_architecture(variant, input_size)
        self.variant = self.architecture.variant
        self.input_size = self.architecture.input_size
        self.heatmap_size = self.architecture.heatmap_size
        channels = self.variant.channels
        self.backbone = TinyViTBackbone(self.architecture)
        self.ihpe = IHPE(channels)
        self.joint_localizer = JointLocalizer(channels, self.heatmap_size)
        self.right_hand_head = HandParameterHead(channels, ROTATION_FEATURES)
        self.left_hand_head = HandParameterHead(channels, ROTATION_FEATURES)
        self.relative_translation = RelativeTranslationHead(channels, ROTATION_FEATURES)

    def forward(self, images: torch.Tensor, validate: bool = True) -> RepeHandOutput:
        """Runs the network on images (B, 3, S, S), S = `input_size`, float RGB in [0, 1].

        `validate=False` skips the input checks, for tracing and export and for
        callers that built the tensor themselves.
        """
        if validate:
            validate_images(images, self.input_size)
        features = self.backbone(images)
        right_features, left_features = self.ihpe(features)
        right_joints, left_joints = self.joint_localizer(right_features, left_features)
        right_pooled = right_features.mean(dim=(2, 3))
        left_pooled = left_features.mean(dim=(2, 3))
        return RepeHandOutput(
            right=self.right_hand_head(right_features, right_pooled, right_joints),
            left=self.left_hand_head(left_features, left_pooled, left_joints),
            relative_translation=self.relative_translation(right_pooled, left_pooled),
        )
