"""The training config: the paper's setup by default, every key checked, written as read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from repehand_ros.training.config import (
    CONFIG_FILE,
    ConfigError,
    TrainConfig,
    config_from_mapping,
    load_config,
    save_config,
)
from repehand_ros.training.losses import LOSS_WEIGHTS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "config" / "train_repehand_5m.yaml"


def test_default_config_is_the_official_setup() -> None:
    config = load_config(DEFAULT_CONFIG)
    assert (config.lr, config.epochs, config.batch_size) == (6e-4, 80, 128)
    assert config.lr_decay_epochs[:2] == [20, 30] and config.lr_decay_factor == 0.1
    assert config.loss_weights == LOSS_WEIGHTS and len(LOSS_WEIGHTS) == 8
    assert (config.input_size, config.splits, config.backbone_weights) == (
        224,
        ["train", "val"],
        "timm-hub",
    )
    assert config.reproduce_union_box_quirk is False
    augmentation = config.augmentation_config()
    assert (augmentation.scale, augmentation.rotation_deg, augmentation.rotation_prob) == (
        0.25,
        30.0,
        0.6,
    )
    assert (augmentation.colour, augmentation.flip_prob) == (0.2, 0.5)
    assert TrainConfig().to_dict() == config.to_dict() | {
        k: TrainConfig().to_dict()[k] for k in ("data_root", "mano_dir", "out_dir")
    }


def test_device_names_are_checked_before_anything_runs():
    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device="tpu").validate()
    assert TrainConfig(device="cuda:1").validate().device == "cuda:1"


def test_a_partial_mapping_keeps_the_other_defaults():
    config = config_from_mapping({"loss_weights": {"rel_trans": 2.0}, "augmentation": {}})
    assert config.loss_weights == {**LOSS_WEIGHTS, "rel_trans": 2.0}
    assert config.augmentation == TrainConfig().augmentation
    with pytest.raises(ConfigError, match=r"options: unknown keys \['lr_rate'\]"):
        config_from_mapping({"lr_rate": 1.0}, source="options")


def test_the_saved_config_reads_back_the_same(tmp_path):
    config = config_from_mapping({"epochs": 3, "splits": ["train"], "data_root": "/data"})
    path = save_config(config, tmp_path / CONFIG_FILE)
    assert load_config(path) == config
    assert list(yaml.safe_load(path.read_text())) == list(config.to_dict())
    assert [p.name for p in tmp_path.iterdir()] == [CONFIG_FILE]
