"""The TinyViT feature extractor (timm), without any classifier part."""

from __future__ import annotations

import timm
import torch
from timm.models.tiny_vit import TinyVit
from torch import nn

from repehand_ros.model.variants import Architecture


class TinyViTBackbone(nn.Module):
    """timm TinyViT giving (B, C, D, D) features for a (B, 3, 32 D, 32 D) input.

    timm's `num_classes=0` keeps the head's LayerNorm (`head.norm`), which the
    official model does not have: the whole head is removed so the parameter
    count and the checkpoint keys match the official ones. Weights are never
    downloaded here; they come from a RepeHand checkpoint (or, for training,
    an ImageNet TinyViT file the user names).
    """

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        # TinyViT has no size-bound parameters beyond its windows: any multiple of 32 runs.
        model = timm.create_model(architecture.backbone.timm_name, pretrained=False, num_classes=0)
        if not isinstance(model, TinyVit):
            raise TypeError(f"timm's {architecture.backbone.timm_name} is not a TinyViT")
        self.model = model
        del self.model.head
        self.channels = architecture.variant.channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(images)
