"""The TinyViT feature extractor (timm), without any classifier part."""

from __future__ import annotations

import timm
import torch
from torch import nn

from repehand_ros.model.variants import Variant


class TinyViTBackbone(nn.Module):
    """timm TinyViT giving (B, C, 7, 7) features for a (B, 3, 224, 224) input.

    timm's `num_classes=0` keeps the head's LayerNorm (`head.norm`), which the
    official model does not have: the whole head is removed so the parameter
    count and the checkpoint keys match the official ones. Weights are never
    downloaded here; they come from a RepeHand checkpoint.
    """

    def __init__(self, variant: Variant) -> None:
        super().__init__()
        self.model = timm.create_model(variant.timm_name, pretrained=False, num_classes=0)
        del self.model.head
        self.channels = variant.channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(images)
