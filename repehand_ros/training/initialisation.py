"""A training run's first weights (`start_network`): a RepeHand checkpoint's, or as the official
run starts: an ImageNet backbone, the heads re-drawn.

Backbone. The official `TinyViTBackbone` is `timm.create_model(
"tiny_vit_5m_224.dist_in22k_ft_in1k", pretrained=True)`: timm's ImageNet-22k
distilled, ImageNet-1k fine-tuned weights from the Hugging Face hub. Its
`init_weights` then loads a Microsoft TinyViT file
(`tiny_vit_5m_22kto1k_distill.pth`) with `strict=False` into the wrapper
module, whose keys all start with `model.`, while the file's keys do not:
nothing matches, so nothing is loaded, and the hub weights are what training
starts from. Here the user names those weights: a file with timm's TinyViT key
names (the `pytorch_model.bin` or `model.safetensors` of timm's model on the
hub), or `TIMM_HUB` to let timm download them. Microsoft's own files use other
key names and are refused with the keys that do not fit.

Heads. The official `init_weights`, applied to everything but the backbone:
every `Conv2d` weight ~ N(0, 0.001^2), `Linear` weight ~ N(0, 0.01^2), their
biases 0, `BatchNorm2d` weight 1 and bias 0 (the exact types, as the official
`type(m) == ...` tests; the attention's `gamma` keeps its 0).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repehand_ros.model.checkpoint import load_checkpoint
from repehand_ros.model.network import RepeHandNet

logger = logging.getLogger(__name__)

TIMM_HUB = "timm-hub"
"""`backbone_weights` value that downloads timm's ImageNet weights (needs the internet)."""

IMAGENET_TAG = "dist_in22k_ft_in1k"
"""timm's pretrained tag the official backbone table uses for its `_ft` TinyViTs."""

CONV_STD = 0.001
LINEAR_STD = 0.01

_WRAPPER_KEYS = ("model", "state_dict")
_DROPPED_SUFFIXES = ("attention_bias_idxs",)
_MAX_LISTED = 5


class BackboneWeightsError(ValueError):
    """ImageNet backbone weights that cannot be used: unreadable, or not this TinyViT."""


def _official_init(module: nn.Module) -> None:
    if type(module) is nn.Conv2d:
        nn.init.normal_(module.weight, std=CONV_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif type(module) is nn.Linear:
        nn.init.normal_(module.weight, std=LINEAR_STD)
        nn.init.zeros_(module.bias)
    elif type(module) is nn.BatchNorm2d:
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def initialise_heads(network: RepeHandNet) -> None:
    """Re-draws every part of `network` but the backbone as the official `init_weights` does."""
    for child in network.children():
        if child is not network.backbone:
            child.apply(_official_init)


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED])
    return shown + (f" (and {len(keys) - _MAX_LISTED} more)" if len(keys) > _MAX_LISTED else "")


def _read_weights_file(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise BackboneWeightsError(f"backbone weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        # Untrusted input: tensors and plain containers only.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch and safetensors raise many types for bad files
        raise BackboneWeightsError(
            f"{path} is not a readable weights file (.pth, .bin or .safetensors): {error}"
        ) from error


def _backbone_state(content: Any, source: str) -> dict[str, torch.Tensor]:
    """timm TinyViT tensors of a weights file's content, classifier head left out."""
    while isinstance(content, Mapping):
        wrapper = next((k for k in _WRAPPER_KEYS if isinstance(content.get(k), Mapping)), None)
        if wrapper is None:
            break
        content = content[wrapper]
    if not isinstance(content, Mapping):
        raise BackboneWeightsError(f"{source} holds no state dict (found {type(content).__name__})")
    if isinstance(content.get("network"), Mapping):
        raise BackboneWeightsError(
            f"{source} is a RepeHand checkpoint, not ImageNet TinyViT weights: start from it "
            f"with init_checkpoint instead"
        )
    state: dict[str, torch.Tensor] = {}
    for key, value in content.items():
        name = str(key).removeprefix("module.")
        if name.startswith("head.") or name.endswith(_DROPPED_SUFFIXES):
            continue
        if isinstance(value, torch.Tensor):
            state[name] = value
    return state


def _hub_state(network: RepeHandNet) -> dict[str, torch.Tensor]:
    import timm

    name = f"{network.architecture.backbone.timm_name}.{IMAGENET_TAG}"
    try:
        model = timm.create_model(name, pretrained=True, num_classes=0)
    except Exception as error:  # offline, hub errors, missing weights: all mean "not here"
        raise BackboneWeightsError(
            f"could not get timm's ImageNet weights {name} (offline?): {error}; download them "
            f"where there is a connection and name the file in backbone_weights"
        ) from error
    return _backbone_state(model.state_dict(), f"timm {name}")


def load_imagenet_backbone(network: RepeHandNet, source: str) -> None:
    """Loads ImageNet TinyViT weights into `network`'s backbone, all of it, or raises.

    `source` is a weights file with timm's key names or `TIMM_HUB`. A file made
    for another TinyViT (other size, missing or extra keys) is refused with
    what does not fit.
    """
    if source == TIMM_HUB:
        state, described = _hub_state(network), f"timm's {IMAGENET_TAG} weights"
    else:
        path = Path(source).expanduser()
        state, described = _backbone_state(_read_weights_file(path), str(path)), str(path)
    expected = network.architecture.backbone.timm_name
    try:
        missing, unexpected = network.backbone.model.load_state_dict(state, strict=False)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()
        raise BackboneWeightsError(
            f"{described} does not fit the {expected} backbone: {' '.join(reason[1:3])}"
        ) from error
    if missing or unexpected:
        raise BackboneWeightsError(
            f"{described} are not {expected} ImageNet weights with timm's key names: "
            + "; ".join(
                f"{count} {what} keys, e.g. {_listed(keys)}"
                for what, keys, count in (
                    ("missing", list(missing), len(missing)),
                    ("unexpected", list(unexpected), len(unexpected)),
                )
                if count
            )
        )
    logger.info("backbone initialised from %s", described)


def start_network(
    variant: str,
    input_size: int,
    seed: int,
    weights: Path | None = None,
    backbone_weights: str | None = TIMM_HUB,
) -> RepeHandNet:
    """The network a training run starts from, drawn with `seed`: RepeHand `weights` (a
    checkpoint to resume or to start from), or fresh as the official run starts
    (`initialise_heads`, then `load_imagenet_backbone(backbone_weights)`; None leaves the
    backbone random, with a warning)."""
    torch.manual_seed(seed)
    network = RepeHandNet(variant, input_size)
    if weights is not None:
        load_checkpoint(network, weights)
        return network
    initialise_heads(network)
    if backbone_weights is not None:
        load_imagenet_backbone(network, backbone_weights)
    else:
        logger.warning(
            "the backbone starts from random weights (backbone_weights is null): the paper "
            "starts from ImageNet TinyViT weights (backbone_weights: %s or a file)",
            TIMM_HUB,
        )
    return network


__all__ = [
    "IMAGENET_TAG",
    "TIMM_HUB",
    "BackboneWeightsError",
    "initialise_heads",
    "load_imagenet_backbone",
    "start_network",
]
