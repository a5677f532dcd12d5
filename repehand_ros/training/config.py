"""A training run's settings: `TrainConfig` (the paper's setup by default), read from YAML/JSON.

Every value is checked before anything runs (`TrainConfig.validate`): a bad
one is a ConfigError naming it, never a failure an hour into a run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from repehand_ros.data.interhand_layout import SPLITS
from repehand_ros.io.files import write_atomically
from repehand_ros.model.devices import DeviceError, check_device_name
from repehand_ros.model.variants import DEFAULT_INPUT_SIZE, VARIANTS, check_input_size
from repehand_ros.training.augmentation import AugmentationConfig
from repehand_ros.training.initialisation import TIMM_HUB
from repehand_ros.training.interhand_records import DEFAULT_SPLITS
from repehand_ros.training.losses import LOSS_WEIGHTS

CONFIG_FILE = "config.yaml"
"""The settings of a run, as `save_config` writes them in its output folder."""


class ConfigError(ValueError):
    """A training config that cannot be used: unreadable, unknown keys, or bad values."""


@dataclass
class TrainConfig:
    """Everything a training run needs; the defaults are the paper's setup (TinyViT-5M).

    Attributes:
        variant: network size ("5m", "11m", "21m").
        input_size: side of the network's square input crop, pixels (a multiple of 32;
            the official networks: 224); the heatmap grid is a 32nd of it.
        data_root: the InterHand2.6M folder (holding annotations/ and images/).
        splits: the dataset splits trained on together (the official: train and val).
        mano_dir: the folder with MANO_RIGHT.pkl and MANO_LEFT.pkl.
        out_dir: where checkpoints, the CSV log and TensorBoard events go.
        epochs: total epochs of the run.
        batch_size: global batch size (all processes together).
        lr: AdamW learning rate at the start.
        weight_decay: AdamW weight decay (PyTorch's default).
        lr_decay_epochs: epochs (0-based) at whose start the lr is multiplied by lr_decay_factor.
        lr_decay_factor: the multiplier.
        loss_weights: overrides of the paper's loss weights (see losses.LOSS_WEIGHTS).
        augmentation: augmentation strengths (see augmentation.AugmentationConfig).
        num_workers: data-loading processes per training process.
        seed: seed of the initial weights, the data order and the augmentation.
        log_every: steps between CSV/TensorBoard rows.
        checkpoint_every: epochs between snapshot_<epoch>.pth.tar files (last.pth.tar: every).
        init_checkpoint: RepeHand weights to start from (official or this project's), or None.
        backbone_weights: where a fresh run's backbone starts: an ImageNet TinyViT weights
            file with timm's key names, "timm-hub" (timm downloads them), or None (random,
            not the paper's setup).
        reproduce_union_box_quirk: crop interacting hands with the official union-box quirk
            (see `repehand_ros.training.crop_box`); False crops the true union.
        max_consecutive_bad_steps: stop after this many steps in a row with a non-finite
            loss or gradient (each is skipped and counted).
        max_steps_per_epoch: cut every epoch short after this many steps (debugging), or None.
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    """

    variant: str = "5m"
    input_size: int = DEFAULT_INPUT_SIZE
    data_root: str | None = None
    splits: list[str] = field(default_factory=lambda: list(DEFAULT_SPLITS))
    mano_dir: str | None = None
    out_dir: str = "runs/repehand_5m"
    epochs: int = 80
    batch_size: int = 128
    lr: float = 6e-4
    weight_decay: float = 0.01
    lr_decay_epochs: list[int] = field(default_factory=lambda: [20, 30, 40, 50, 60, 70])
    lr_decay_factor: float = 0.1
    loss_weights: dict[str, float] = field(default_factory=lambda: dict(LOSS_WEIGHTS))
    augmentation: dict[str, Any] = field(
        default_factory=lambda: dataclasses.asdict(AugmentationConfig())
    )
    num_workers: int = 4
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1
    init_checkpoint: str | None = None
    backbone_weights: str | None = TIMM_HUB
    reproduce_union_box_quirk: bool = False
    max_consecutive_bad_steps: int = 100
    max_steps_per_epoch: int | None = None
    device: str = "auto"

    def validate(self) -> TrainConfig:
        """Returns self, or raises ConfigError naming the first bad value."""

        def positive_int(name: str, allow_none: bool = False, minimum: int = 1) -> None:
            value = getattr(self, name)
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")

        def number(name: str, minimum: float, inclusive: bool) -> None:
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = (
                ok and math.isfinite(value) and (value >= minimum if inclusive else value > minimum)
            )
            if not ok:
                relation = ">=" if inclusive else ">"
                raise ConfigError(f"{name} must be a number {relation} {minimum}, got {value!r}")

        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        try:
            check_input_size(self.input_size)
        except ValueError as error:
            raise ConfigError(f"input_size: {error}") from None
        splits = self.splits
        if (
            not isinstance(splits, list)
            or not splits
            or not all(isinstance(s, str) and s in SPLITS for s in splits)
            or len(set(splits)) != len(splits)
        ):
            raise ConfigError(
                f"splits must be a list of distinct splits among {', '.join(SPLITS)}, "
                f"got {splits!r}"
            )
        quirk = self.reproduce_union_box_quirk
        if not isinstance(quirk, bool):
            raise ConfigError(f"reproduce_union_box_quirk must be true or false, got {quirk!r}")
        for name in (
            "epochs",
            "batch_size",
            "log_every",
            "checkpoint_every",
            "max_consecutive_bad_steps",
        ):
            positive_int(name)
        positive_int("num_workers", minimum=0)
        positive_int("seed", minimum=0)
        positive_int("max_steps_per_epoch", allow_none=True)
        number("lr", 0.0, inclusive=False)
        number("weight_decay", 0.0, inclusive=True)
        number("lr_decay_factor", 0.0, inclusive=False)
        epochs = self.lr_decay_epochs
        if not isinstance(epochs, list) or not all(
            isinstance(e, int) and not isinstance(e, bool) and e > 0 for e in epochs
        ):
            raise ConfigError(
                f"lr_decay_epochs must be a list of positive integers, got {epochs!r}"
            )
        if epochs != sorted(set(epochs)):
            raise ConfigError(f"lr_decay_epochs must be increasing, got {epochs!r}")
        if not isinstance(self.loss_weights, dict):
            raise ConfigError(f"loss_weights must be a mapping, got {self.loss_weights!r}")
        unknown = sorted(set(self.loss_weights) - set(LOSS_WEIGHTS))
        if unknown:
            raise ConfigError(
                f"loss_weights: unknown terms {unknown}; the terms are {', '.join(LOSS_WEIGHTS)}"
            )
        for name, weight in self.loss_weights.items():
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise ConfigError(f"loss_weights.{name} must be a number >= 0, got {weight!r}")
        self.augmentation_config()
        for name in ("data_root", "mano_dir", "init_checkpoint", "backbone_weights"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{name} must be a path (string) or null, got {value!r}")
        if not isinstance(self.out_dir, str) or not self.out_dir:
            raise ConfigError(f"out_dir must be a path, got {self.out_dir!r}")
        try:
            check_device_name(self.device)
        except DeviceError as error:
            raise ConfigError(str(error)) from None
        return self

    def augmentation_config(self) -> AugmentationConfig:
        """The `augmentation` mapping as an AugmentationConfig (ConfigError if bad)."""
        if not isinstance(self.augmentation, dict):
            raise ConfigError(f"augmentation must be a mapping, got {self.augmentation!r}")
        known = {f.name for f in dataclasses.fields(AugmentationConfig)}
        unknown = sorted(set(self.augmentation) - known)
        if unknown:
            raise ConfigError(
                f"augmentation: unknown keys {unknown}; the keys are {', '.join(sorted(known))}"
            )
        try:
            return AugmentationConfig(**self.augmentation)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"augmentation: {error}") from error

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_from_mapping(values: Mapping[str, Any], source: str = "config") -> TrainConfig:
    """A validated TrainConfig from a mapping; missing keys keep the paper's defaults."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown keys {unknown}; the keys are {', '.join(sorted(known))}"
        )
    defaults = TrainConfig()
    merged = dict(values)
    for name in ("loss_weights", "augmentation"):
        if isinstance(values.get(name), Mapping):
            merged[name] = {**getattr(defaults, name), **values[name]}
    config = TrainConfig(**merged)
    try:
        return config.validate()
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def load_config(path: str | Path) -> TrainConfig:
    """The training config in a YAML or JSON file (JSON is YAML), or ConfigError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path} is not a readable YAML/JSON config: {error}") from error
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(
            f"{path}: expected a mapping of config keys, found {type(values).__name__}"
        )
    return config_from_mapping(values, source=str(path))


def save_config(config: TrainConfig, path: Path) -> Path:
    """`config` as YAML at `path` (the keys in field order), written atomically."""
    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    return write_atomically(path, lambda temporary: temporary.write_text(text))


__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "TrainConfig",
    "config_from_mapping",
    "load_config",
    "save_config",
]
