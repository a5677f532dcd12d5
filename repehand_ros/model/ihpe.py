"""Interactive Hand Perception Enhancement (IHPE): one feature map per hand from shared features.

Official quirk, kept for checkpoint compatibility: the official code names its
two streams "left" and "right", but the enhanced output of the stream it calls
"left" (`left_stream` + `adaptive_enhancement_left`) feeds every RIGHT-hand
head, and vice versa. Here the modules are named after the hand they actually
serve (`right_hand_stream` holds the official `left_stream` weights); the
swap lives in one place, the checkpoint name map
(`repehand_ros.model.checkpoint.OFFICIAL_TO_LOCAL`).
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBnRelu(nn.Module):
    """1x1 convolution without bias, BatchNorm, ReLU: one hand's stream."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class SpatialGate(nn.Module):
    """Where to look: mean and max over channels, mixed by a 1x1 conv -> (B, 1, H, W)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat((x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)), dim=1)
        return self.conv(pooled)


class ChannelGate(nn.Module):
    """What to look at: average- and max-pooled descriptors through one bottleneck, summed."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.excite = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        average = x.mean(dim=(2, 3), keepdim=True)
        maximum = x.amax(dim=(2, 3), keepdim=True)
        return self.excite(self.relu(self.squeeze(average))) + self.excite(
            self.relu(self.squeeze(maximum))
        )


class PixelMix(nn.Module):
    """Merges the stream with its gated copy: 1x1 conv 2C->C then a depthwise 1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mix = nn.Conv2d(2 * channels, channels, 1, bias=False)
        self.depthwise = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.depthwise(self.mix(x))


class PositionSelfAttention(nn.Module):
    """Self-attention over the H*W positions, added to its input with a learned weight.

    `gamma` starts at 0, so a fresh block is the identity and training decides
    how much global context to add.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        query = self.query(x).flatten(2)  # (B, C/8, N)
        key = self.key(x).flatten(2)  # (B, C/8, N)
        value = self.value(x).flatten(2)  # (B, C, N)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (B, N query, N key)
        attended = (value @ attention.transpose(1, 2)).reshape(batch, channels, height, width)
        return self.gamma * attended + x


class FuseAttention(nn.Module):
    """The attention block shared by both hands' streams (same weights for each)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.spatial = SpatialGate()
        self.channel = ChannelGate(channels)
        self.pixel = PixelMix(channels)
        self.self_attention = PositionSelfAttention(channels)

    def forward(self, stream: torch.Tensor) -> torch.Tensor:
        spatial = self.spatial(stream)
        channel = self.channel(stream)
        # The gates multiply the stream inside the sigmoid, as the official model does.
        gated = torch.sigmoid(spatial * stream) + torch.sigmoid(channel * stream)
        mixed = self.pixel(torch.cat((stream, gated), dim=1))
        return self.self_attention(mixed)


class FeatureEnhancement(nn.Module):
    """Adaptive Feature Enhancement: attention output and stream merged by a 1x1 conv 2C->C."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, channels, 1, bias=False)

    def forward(self, attended: torch.Tensor, stream: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat((attended, stream), dim=1))


class IHPE(nn.Module):
    """Splits backbone features (B, C, H, W) into a right-hand and a left-hand feature map.

    See the module docstring for how these modules relate to the official
    "left"/"right" names.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.right_hand_stream = ConvBnRelu(channels)
        self.left_hand_stream = ConvBnRelu(channels)
        self.fuse_attention = FuseAttention(channels)
        self.right_hand_enhancement = FeatureEnhancement(channels)
        self.left_hand_enhancement = FeatureEnhancement(channels)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (right-hand features, left-hand features), each (B, C, H, W)."""
        right_stream = self.right_hand_stream(features)
        left_stream = self.left_hand_stream(features)
        right = self.right_hand_enhancement(self.fuse_attention(right_stream), right_stream)
        left = self.left_hand_enhancement(self.fuse_attention(left_stream), left_stream)
        return right, left
