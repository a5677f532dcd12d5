"""Reading and writing RepeHand checkpoints in the official layout, strictly.

Official snapshots are `torch.save({'network': state_dict, ...})` of the model
wrapped in DataParallel, so every key starts with `module.`. This project
saves its own checkpoints in exactly that layout, so one reader serves both.
Local module names differ from the official ones (see `OFFICIAL_TO_LOCAL`);
the map is a bijection over the network's keys, checked by the tests against
the published key list.

The network's architecture (variant, input size, backbone) is read from the
weights themselves (`read_architecture`), so a checkpoint of any size loads
without being told what it is.

A checkpoint is untrusted input: it is unpickled with `weights_only=True`,
which refuses every global but tensors and plain containers. The official
trainer also saves NumPy's random state (a tuple holding a NumPy array), so
exactly the NumPy globals that state needs are allowed (`NUMPY_STATE_GLOBALS`);
a file naming any other global is refused, with that global named, before
anything in it is unpickled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from repehand_ros.hands import NUM_JOINTS
from repehand_ros.model.network import RepeHandNet
from repehand_ros.model.variants import (
    DEFAULT_INPUT_SIZE,
    DEFAULT_VARIANT,
    HEATMAP_STRIDE,
    VARIANTS,
    Architecture,
    check_input_size,
    get_variant,
    variant_for_channels,
)
from repehand_ros.numpy_compat import numpy_core

logger = logging.getLogger(__name__)

PARALLEL_PREFIX = "module."
"""DataParallel's prefix, present on every key of an official snapshot."""

IGNORED_PREFIXES: tuple[str, ...] = ("mano_layer_right.", "mano_layer_left.")
"""Official files may carry the MANO layers' buffers: MANO comes from the user's MANO files."""

_IHPE = "hand_position_net.EABlock.PEModule."
_FUSE = _IHPE + "fuse_attention."
_ROT = "hand_rotation_net."

OFFICIAL_TO_LOCAL: tuple[tuple[str, str], ...] = (
    ("hand_backbone.model.", "backbone.model."),
    # The official "left" stream and AFE produce the RIGHT hand's features (see model.ihpe).
    (_IHPE + "left_stream.", "ihpe.right_hand_stream."),
    (_IHPE + "right_stream.", "ihpe.left_hand_stream."),
    (_IHPE + "adaptive_enhancement_left.", "ihpe.right_hand_enhancement."),
    (_IHPE + "adaptive_enhancement_right.", "ihpe.left_hand_enhancement."),
    (_FUSE + "spatial_attention.", "ihpe.fuse_attention.spatial."),
    (_FUSE + "channel_attention.fc1.", "ihpe.fuse_attention.channel.squeeze."),
    (_FUSE + "channel_attention.fc2.", "ihpe.fuse_attention.channel.excite."),
    (_FUSE + "pixel_attention.conv1.", "ihpe.fuse_attention.pixel.mix."),
    (_FUSE + "pixel_attention.conv2.", "ihpe.fuse_attention.pixel.depthwise."),
    (_FUSE + "cross_attention.query_conv.", "ihpe.fuse_attention.self_attention.query."),
    (_FUSE + "cross_attention.key_conv.", "ihpe.fuse_attention.self_attention.key."),
    (_FUSE + "cross_attention.value_conv.", "ihpe.fuse_attention.self_attention.value."),
    (_FUSE + "cross_attention.gamma", "ihpe.fuse_attention.self_attention.gamma"),
    ("hand_position_net.conv_r2.0.", "joint_localizer.right_heatmap."),
    ("hand_position_net.conv_l2.0.", "joint_localizer.left_heatmap."),
    (_ROT + "rconv.0.", "right_hand_head.feature_conv."),
    (_ROT + "rconv.1.", "right_hand_head.feature_bn."),
    (_ROT + "lconv.0.", "left_hand_head.feature_conv."),
    (_ROT + "lconv.1.", "left_hand_head.feature_bn."),
    (_ROT + "rshape_out.0.", "right_hand_head.shape."),
    (_ROT + "lshape_out.0.", "left_hand_head.shape."),
    (_ROT + "rcam_out.0.", "right_hand_head.camera."),
    (_ROT + "lcam_out.0.", "left_hand_head.camera."),
    (_ROT + "rroot_pose_out.0.", "right_hand_head.root_pose."),
    (_ROT + "lroot_pose_out.0.", "left_hand_head.root_pose."),
    (_ROT + "rpose_out.0.", "right_hand_head.finger_pose."),
    (_ROT + "lpose_out.0.", "left_hand_head.finger_pose."),
    (_ROT + "root_relative.0.", "relative_translation.hidden."),
    (_ROT + "root_relative.2.", "relative_translation.out."),
)
"""(official prefix, local prefix) pairs, official names without the `module.` prefix."""

_CHANNELS_KEY = PARALLEL_PREFIX + _IHPE + "left_stream.conv.weight"
"""(C, C, 1, 1): the feature channels C tell the variant."""
_HEATMAP_KEY = PARALLEL_PREFIX + "hand_position_net.conv_r2.0.weight"
"""(21 D, C, 1, 1): the heatmap depth D tells the input size, 32 D."""
_WINDOW_KEY = PARALLEL_PREFIX + "hand_backbone.model.stages.1.blocks.0.attn.attention_biases"
"""(heads, window^2): the backbone's stage-1 attention window."""

NUMPY_STATE_GLOBALS: tuple[tuple[Any, str], ...] = (
    # An ndarray pickles as _reconstruct(ndarray, ...), under the name the saving NumPy used.
    (numpy_core("multiarray")._reconstruct, "numpy.core.multiarray._reconstruct"),
    (numpy_core("multiarray")._reconstruct, "numpy._core.multiarray._reconstruct"),
    (np.ndarray, "numpy.ndarray"),
    (np.dtype, "numpy.dtype"),
    # numpy.dtype("uint32") builds an instance of this class: the Mersenne Twister's key.
    (np.dtypes.UInt32DType, "numpy.dtypes.UInt32DType"),
)
"""The globals a pickled `numpy.random.get_state()` needs (NumPy 1 and 2 spellings): the
only ones allowed beyond what `weights_only` allows."""

_MAX_LISTED = 8


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used: unreadable, unsafe, wrong layout or weights."""


def _swap_prefix(key: str, pairs: tuple[tuple[str, str], ...]) -> str | None:
    for source, target in pairs:
        if key.startswith(source):
            return target + key[len(source) :]
    return None


def official_to_local(key: str) -> str | None:
    """The local parameter name of an official key (with `module.`), or None if unknown."""
    if not key.startswith(PARALLEL_PREFIX):
        return None
    return _swap_prefix(key[len(PARALLEL_PREFIX) :], OFFICIAL_TO_LOCAL)


def local_to_official(key: str) -> str:
    """The official key (with `module.`) of a local parameter name."""
    reverse = tuple((local, official) for official, local in OFFICIAL_TO_LOCAL)
    official = _swap_prefix(key, reverse)
    if official is None:
        raise KeyError(f"no official name for network key {key!r}")
    return PARALLEL_PREFIX + official


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED])
    more = len(keys) - _MAX_LISTED
    return f"{shown} (and {more} more)" if more > 0 else shown


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return CheckpointError(
        f"{path} is not a readable PyTorch checkpoint (truncated, damaged or another "
        f"format?): {reason}"
    )


def read_snapshot(path: str | Path) -> Mapping[str, Any]:
    """The whole snapshot dict of a checkpoint file, read safely (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    with torch.serialization.safe_globals(list(NUMPY_STATE_GLOBALS)):
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception as error:  # torch raises many types for damaged files
            raise _unreadable(path, error) from error
        if unsafe:
            raise CheckpointError(
                f"{path} was refused unread: it names {', '.join(sorted(unsafe))}, which a "
                f"RepeHand checkpoint never holds and which could run code when loaded"
            )
        try:
            snapshot = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises many types for damaged files
            raise _unreadable(path, error) from error
    if not isinstance(snapshot, Mapping) or not isinstance(snapshot.get("network"), Mapping):
        found = sorted(map(str, snapshot)) if isinstance(snapshot, Mapping) else type(snapshot)
        raise CheckpointError(
            f"{path} is not a RepeHand checkpoint: expected a dict with a 'network' state "
            f"dict (the official snapshot layout), found {found}"
        )
    return snapshot


def _shape_of(state: Mapping[str, Any], key: str, source: str) -> tuple[int, ...]:
    tensor = state.get(key)
    if not isinstance(tensor, torch.Tensor) or tensor.ndim < 2:
        raise CheckpointError(
            f"{source} is not a RepeHand network in the official layout: no {key}"
        )
    return tuple(tensor.shape)


def read_architecture(state: Mapping[str, Any], source: str = "checkpoint") -> Architecture:
    """The architecture an official-layout state dict was saved from, read from its shapes.

    The variant from the feature channels C; the input size 32 D from the heatmap
    head's 21 D output channels (147 at 224, 168 at 256, 252 at 384); the backbone
    from the stage-1 attention window (7 for the 224 TinyViTs, 12 and 16 for
    TinyViT-21M at 384 and 512).
    """
    channels = _shape_of(state, _CHANNELS_KEY, source)[0]
    variant = variant_for_channels(channels)
    if variant is None:
        known = ", ".join(f"{v.name} ({v.channels})" for v in VARIANTS.values())
        raise CheckpointError(
            f"{source} holds a network with {channels} feature channels, no known variant "
            f"(known: {known})"
        )
    heatmap_channels = _shape_of(state, _HEATMAP_KEY, source)[0]
    input_size = heatmap_channels // NUM_JOINTS * HEATMAP_STRIDE
    try:
        if heatmap_channels % NUM_JOINTS:
            raise ValueError(f"{heatmap_channels} heatmap channels are not 21 per depth cell")
        check_input_size(input_size)
    except ValueError as error:
        raise CheckpointError(
            f"{source}: the heatmap head gives no usable input size: {error}"
        ) from None
    offsets = _shape_of(state, _WINDOW_KEY, source)[1]
    window = round(offsets**0.5)
    backbone = variant.backbone_with_window(window) if window * window == offsets else None
    if backbone is None:
        known = ", ".join(f"{b.timm_name} ({b.window**2})" for b in variant.backbones)
        raise CheckpointError(
            f"{source}: its backbone's attention biases have {offsets} offsets, which no "
            f"TinyViT-{variant.name} has (known: {known})"
        )
    return Architecture(variant, input_size, backbone)


def _check_requested(
    found: Architecture, variant: str | None, input_size: int | None, source: str
) -> None:
    """An explicit variant or input size that disagrees with the file: an error naming both."""
    wrong = []
    if variant is not None and get_variant(variant) != found.variant:
        wrong.append(f"variant {variant!r}")
    if input_size is not None and input_size != found.input_size:
        wrong.append(f"input size {input_size}")
    if wrong:
        raise CheckpointError(
            f"{source} holds RepeHand {found.describe()}, but {' and '.join(wrong)} was "
            f"asked for: leave them unset to take the file's, or use a matching checkpoint"
        )


def convert_official_state(
    state: Mapping[str, Any], network: RepeHandNet, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Official-layout weights renamed for `network`, or one CheckpointError naming every problem.

    MANO-layer buffers are dropped; any other key must map to a network key of
    the same shape, and every network key must be present.
    """
    expected = network.state_dict()
    converted: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    wrong_shape: list[str] = []
    for key, value in state.items():
        if key.startswith(tuple(PARALLEL_PREFIX + p for p in IGNORED_PREFIXES)):
            continue
        local = official_to_local(key) if isinstance(key, str) else None
        if local is None or local not in expected or not isinstance(value, torch.Tensor):
            unexpected.append(str(key))
        elif tuple(value.shape) != tuple(expected[local].shape):
            wrong_shape.append(
                f"{key} {tuple(value.shape)} (expected {tuple(expected[local].shape)})"
            )
        else:
            converted[local] = value
    missing = [local_to_official(k) for k in expected if k not in converted]
    missing = [k for k in missing if k not in state]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_listed(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected: {_listed(unexpected)}")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} with a wrong shape: {_listed(wrong_shape)}")
    if problems:
        raise CheckpointError(
            f"{source} does not match the RepeHand {network.variant.name} network; keys "
            + "; ".join(problems)
        )
    return converted


def load_checkpoint(network: RepeHandNet, path: str | Path) -> RepeHandNet:
    """Loads an official or project checkpoint into `network`, strictly; returns `network`.

    The file's architecture must be the network's; CheckpointError names both otherwise.
    """
    path = Path(path)
    state = read_snapshot(path)["network"]
    found = read_architecture(state, str(path))
    if found != network.architecture:
        raise CheckpointError(
            f"{path} holds RepeHand {found.describe()} ({found.backbone.timm_name}), but the "
            f"network is {network.architecture.describe()} "
            f"({network.architecture.backbone.timm_name})"
        )
    network.load_state_dict(convert_official_state(state, network, source=str(path)), strict=True)
    logger.info("loaded RepeHand %s weights from %s", found.describe(), path)
    return network


def save_checkpoint(network: RepeHandNet, path: str | Path, **extras: Any) -> Path:
    """Saves `network` in the official snapshot layout, plus `extras` (e.g. epoch, optimizer)."""
    if "network" in extras:
        raise ValueError("'network' is reserved for the network's weights")
    path = Path(path)
    state = {local_to_official(k): v.detach().cpu() for k, v in network.state_dict().items()}
    torch.save({"network": state, **extras}, path)
    return path


def load_model(
    checkpoint: str | Path | None = None,
    variant: str | None = None,
    device: str | torch.device = "cpu",
    input_size: int | None = None,
) -> RepeHandNet:
    """The RepeHand network in eval mode, with weights from `checkpoint` or random ones if None.

    A checkpoint's architecture is read from the file; `variant` and `input_size`,
    when given, must agree with it. Random weights default to 5m at 224.
    """
    if checkpoint is None:
        network = RepeHandNet(variant or DEFAULT_VARIANT, input_size or DEFAULT_INPUT_SIZE)
        logger.warning(
            "RepeHand %s network has random weights (no checkpoint given)",
            network.architecture.describe(),
        )
        return network.to(device).eval()
    path = Path(checkpoint)
    state = read_snapshot(path)["network"]
    found = read_architecture(state, str(path))
    _check_requested(found, variant, input_size, str(path))
    network = RepeHandNet(architecture=found)
    network.load_state_dict(convert_official_state(state, network, source=str(path)), strict=True)
    logger.info("loaded RepeHand %s weights from %s", found.describe(), path)
    return network.to(device).eval()
