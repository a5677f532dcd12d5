"""Reading and writing RepeHand checkpoints in the official layout, strictly.

Official snapshots are `torch.save({'network': state_dict, ...})` of the model
wrapped in DataParallel, so every key starts with `module.`. This project
saves its own checkpoints in exactly that layout, so one reader serves both.
Local module names differ from the official ones (see `OFFICIAL_TO_LOCAL`);
the map is a bijection over the network's keys, checked by the tests against
the published key list.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from repehand_ros.model.network import RepeHandNet
from repehand_ros.model.variants import DEFAULT_VARIANT, variant_for_channels

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

# Keys whose first dimension is the feature width C: they tell which variant a file holds.
_CHANNEL_PROBES: tuple[str, ...] = (
    PARALLEL_PREFIX + _IHPE + "left_stream.conv.weight",
    PARALLEL_PREFIX + "hand_position_net.conv_r2.0.weight",
)

_MAX_LISTED = 8


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used: unreadable, wrong layout, or wrong weights."""


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


def _read_snapshot(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        snapshot = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for damaged files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint (truncated, damaged or another "
            f"format?): {reason}"
        ) from error
    if not isinstance(snapshot, Mapping) or not isinstance(snapshot.get("network"), Mapping):
        found = sorted(map(str, snapshot)) if isinstance(snapshot, Mapping) else type(snapshot)
        raise CheckpointError(
            f"{path} is not a RepeHand checkpoint: expected a dict with a 'network' state "
            f"dict (the official snapshot layout), found {found}"
        )
    return snapshot["network"]


def _check_variant(state: Mapping[str, Any], network: RepeHandNet, path: Path) -> None:
    for probe in _CHANNEL_PROBES:
        tensor = state.get(probe)
        if isinstance(tensor, torch.Tensor) and tensor.ndim > 0:
            channels = int(tensor.shape[0])
            if channels == network.variant.channels:
                return
            found = variant_for_channels(channels)
            looks_like = f"variant {found.name!r}" if found else "no known variant"
            raise CheckpointError(
                f"{path} holds a network with {channels} feature channels, which looks like "
                f"{looks_like}, but variant {network.variant.name!r} "
                f"({network.variant.channels} channels) was requested"
                + (f": pass variant={found.name!r}" if found else "")
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

    The file is read with `weights_only=True`: a checkpoint is untrusted input
    and must not run code when unpickled.
    """
    path = Path(path)
    state = _read_snapshot(path)
    _check_variant(state, network, path)
    network.load_state_dict(convert_official_state(state, network, source=str(path)), strict=True)
    logger.info("loaded RepeHand %s weights from %s", network.variant.name, path)
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
    variant: str = DEFAULT_VARIANT,
    device: str | torch.device = "cpu",
) -> RepeHandNet:
    """The RepeHand network in eval mode, with weights from `checkpoint` or random ones if None."""
    network = RepeHandNet(variant)
    if checkpoint is not None:
        load_checkpoint(network, checkpoint)
    else:
        logger.warning("RepeHand %s network has random weights (no checkpoint given)", variant)
    return network.to(device).eval()
